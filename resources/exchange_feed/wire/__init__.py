"""Parsing of venue wire frames into tick tables: pure, columnar and cheap per tick.

A websocket feed reads tens of thousands of frames a second (docs/MEASUREMENTS.md), so the per-frame work here is one
``orjson.loads``, a handful of type checks and list appends. Everything else (time scaling, side mapping,
content keys, Arrow conversion) happens once per batch in :meth:`FrameParser.take`.

Frames that cannot be parsed never raise: each becomes a :class:`MalformedFrame` whose reason names the
field and the value at fault, and the other frames of the batch parse as usual. Value rules (positive
price, plausible times) are :mod:`trading_assets.core.validation`'s job, not the parser's.

Formats (public documentation, see docs/MEASUREMENTS.md):
- Binance trade stream, raw or wrapped by a combined stream ``{"stream": .., "data": {...}}``:
  ``{"e":"trade","E":ms,"s":"BTCUSDT","t":id,"p":"str","q":"str","T":ms,"m":buyer_is_maker,"M":true}``;
  subscription acks ``{"result":null,"id":1}``; errors ``{"error":{"code":..,"msg":..},"id":..}``.
- Binance REST ``historicalTrades``: ``[{"id","price","qty","quoteQty","time","isBuyerMaker","isBestMatch"}]``.
- Finnhub: ``{"type":"trade","data":[{"p":float,"s":"BINANCE:BTCUSDT","t":ms,"v":float,"c":..}]}``,
  ``{"type":"ping"}`` and ``{"type":"error","msg":..}``.
"""

from resources.exchange_feed.wire.base import FrameParser, MalformedFrame, ParsedBatch
from resources.exchange_feed.wire.binance import BinanceFrameParser, parse_binance_rest_trades
from resources.exchange_feed.wire.finnhub import FinnhubFrameParser

__all__ = [
    "BinanceFrameParser",
    "FinnhubFrameParser",
    "FrameParser",
    "MalformedFrame",
    "ParsedBatch",
    "parse_binance_rest_trades",
]
