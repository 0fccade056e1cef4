"""Exchange feeds: venue websockets streamed into a sink, reconnecting by themselves, and the venues'
trade histories.

Interfaces: :mod:`.base` (the live feed), :mod:`.history` (trade history), :mod:`.venue` (a venue adapter
and its typed config). One package per venue (:mod:`.binance`, :mod:`.finnhub`, :mod:`.sim`), looked up
by name in :mod:`.registry`. Shared machinery: :mod:`.websocket` (the reconnecting loop), :mod:`.backoff`,
:mod:`.gaps` / :mod:`.gap_fill` / :mod:`.id_feed` (trade-id gaps), :mod:`.rest`, :mod:`.wire` (parser base).
"""

from resources.exchange_feed.base import ExchangeFeed, FeedConfig, FeedEvent, FeedSink, FeedStats
from resources.exchange_feed.history import HistoryError, TradeHistory, TradePage
from resources.exchange_feed.venue import FeedResume, VenueAdapter, VenueConfig

__all__ = [
    "ExchangeFeed",
    "FeedConfig",
    "FeedEvent",
    "FeedResume",
    "FeedSink",
    "FeedStats",
    "HistoryError",
    "TradeHistory",
    "TradePage",
    "VenueAdapter",
    "VenueConfig",
]
