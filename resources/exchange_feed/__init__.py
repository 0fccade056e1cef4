"""Exchange feeds: venue websockets (Binance, Finnhub) streamed into a sink, reconnecting by themselves.

See :mod:`resources.exchange_feed.base` for the interface.
"""

from resources.exchange_feed.base import ExchangeFeed, FeedConfig, FeedEvent, FeedSink, FeedStats
from resources.exchange_feed.binance import BinanceFeed, BinanceFeedConfig
from resources.exchange_feed.finnhub import FinnhubFeed, FinnhubFeedConfig
from resources.exchange_feed.rest import BinanceRestClient, RestError

__all__ = [
    "BinanceFeed",
    "BinanceFeedConfig",
    "BinanceRestClient",
    "ExchangeFeed",
    "FeedConfig",
    "FeedEvent",
    "FeedSink",
    "FeedStats",
    "FinnhubFeed",
    "FinnhubFeedConfig",
    "RestError",
]
