"""What every venue's wire parser shares: parsing frames into tick tables, pure, columnar and cheap per tick.

A websocket feed reads tens of thousands of frames a second (docs/MEASUREMENTS.md), so the per-frame work
of a venue's parser is one ``orjson.loads``, a handful of type checks and list appends. Everything else
(time scaling, side mapping, content keys, Arrow conversion) happens once per batch in
:meth:`FrameParser.take`.

Frames that cannot be parsed never raise: each becomes a :class:`MalformedFrame` whose reason names the
field and the value at fault, and the other frames of the batch parse as usual. Value rules (positive
price, plausible times) are :mod:`trading_assets.core.validation`'s job, not the parser's.

Each venue's formats live in its package: :mod:`resources.exchange_feed.binance.wire`,
:mod:`resources.exchange_feed.finnhub.wire`.
"""

from resources.exchange_feed.wire.base import FrameParser, MalformedFrame, ParsedBatch

__all__ = ["FrameParser", "MalformedFrame", "ParsedBatch"]
