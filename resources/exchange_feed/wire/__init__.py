"""What every venue's wire parser shares: parsing frames into tick tables, pure, columnar and cheap per tick.

A websocket feed reads tens of thousands of frames a second (docs/MEASUREMENTS.md), so the per-frame work
of a venue's parser is one ``orjson.loads``, a handful of type checks and list appends. The feed hands over
the frames of each socket read together (:meth:`FrameParser.add_many`), so that a venue can parse them
without a Python step per frame: Binance's well-formed trade frames are decoded by typed msgspec decoders
that accept exactly what the per-frame path would, and any other frame sends its read through the
per-frame path. Everything else (time scaling, side mapping, content keys, Arrow conversion) happens once
per batch in :meth:`FrameParser.take`.

Frames that cannot be parsed never raise: each becomes a :class:`MalformedFrame` whose reason names the
field and the value at fault, and the other frames of the batch parse as usual. Value rules (positive
price, plausible times) are :mod:`trading_assets.core.validation`'s job, not the parser's.

Each venue's formats live in its package: :mod:`resources.exchange_feed.binance.wire`,
:mod:`resources.exchange_feed.finnhub.wire`.
"""

from resources.exchange_feed.wire.base import FrameParser, MalformedFrame, ParsedBatch

__all__ = ["FrameParser", "MalformedFrame", "ParsedBatch"]
