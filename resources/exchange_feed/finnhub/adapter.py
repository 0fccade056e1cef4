"""The Finnhub venue adapter: a live feed and no trade history (Finnhub publishes no trade ids)."""

from __future__ import annotations

from resources.exchange_feed.base import ExchangeFeed
from resources.exchange_feed.finnhub.stream import FinnhubFeed, FinnhubFeedConfig
from resources.exchange_feed.venue import FeedResume, VenueAdapter, VenueConfig


def finnhub_symbol(symbol: str) -> str:
    """Finnhub names crypto pairs by exchange (``BINANCE:BTCUSDT``); stock symbols stay as they are."""
    return (
        symbol
        if ":" in symbol or not symbol.endswith(("USDT", "USDC", "BTC", "ETH"))
        else f"BINANCE:{symbol}"
    )


def _feed(config: VenueConfig, resume: FeedResume) -> ExchangeFeed:
    # Nothing to resume: without trade ids there are no last ids or gaps.
    assert config.ws_url is not None  # filled in by VenueAdapter.resolve
    return FinnhubFeed(FinnhubFeedConfig(symbols=config.symbols, venue=config.venue, ws_url=config.ws_url))


ADAPTER = VenueAdapter(
    name="finnhub", feed_factory=_feed, default_ws_url="wss://ws.finnhub.io", symbol_name=finnhub_symbol
)
"""Finnhub trades websocket (token from ``FINNHUB_TOKEN``)."""
