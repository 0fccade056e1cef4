"""Finnhub: its wire format (:mod:`.wire`), stream connector with content dedup (:mod:`.stream`) and venue
adapter (:mod:`.adapter`); no trade history (no trade ids)."""

from resources.exchange_feed.finnhub.adapter import ADAPTER, finnhub_symbol
from resources.exchange_feed.finnhub.stream import ContentDeduper, FinnhubFeed, FinnhubFeedConfig
from resources.exchange_feed.finnhub.wire import FinnhubFrameParser

__all__ = [
    "ADAPTER",
    "ContentDeduper",
    "FinnhubFeed",
    "FinnhubFeedConfig",
    "FinnhubFrameParser",
    "finnhub_symbol",
]
