"""Binance spot: its wire format (:mod:`.wire`), stream connector (:mod:`.stream`), REST history
(:mod:`.history`, :mod:`.rest`) and venue adapter (:mod:`.adapter`)."""

from resources.exchange_feed.binance.adapter import ADAPTER, binance_protocol_adapter
from resources.exchange_feed.binance.history import BinanceHistory
from resources.exchange_feed.binance.rest import BinanceRestClient
from resources.exchange_feed.binance.stream import BinanceFeed, BinanceFeedConfig
from resources.exchange_feed.binance.wire import BinanceFrameParser, parse_binance_rest_trades

__all__ = [
    "ADAPTER",
    "BinanceFeed",
    "BinanceFeedConfig",
    "BinanceFrameParser",
    "BinanceHistory",
    "BinanceRestClient",
    "binance_protocol_adapter",
    "parse_binance_rest_trades",
]
