"""The Binance venue adapter, and the factory any venue speaking Binance's protocol reuses (``sim``)."""

from __future__ import annotations

from resources.exchange_feed.base import ExchangeFeed
from resources.exchange_feed.binance.history import BinanceHistory
from resources.exchange_feed.binance.rest import BinanceRestClient
from resources.exchange_feed.binance.stream import BinanceFeed, BinanceFeedConfig
from resources.exchange_feed.venue import FeedResume, VenueAdapter, VenueConfig


def _feed(config: VenueConfig, resume: FeedResume) -> ExchangeFeed:
    assert config.ws_url is not None and config.rest_url is not None  # filled in by VenueAdapter.resolve
    feed_config = BinanceFeedConfig(
        symbols=config.symbols,
        venue=config.venue,
        ws_base_url=config.ws_url,
        rest_base_url=config.rest_url,
        rest_timeout_s=config.rest_timeout_s,
        rest_max_attempts=config.rest_max_attempts,
    )
    return BinanceFeed(feed_config, initial_last_ids=resume.last_ids, initial_gaps=resume.gaps)


def _history(config: VenueConfig) -> BinanceHistory:
    assert config.rest_url is not None  # filled in by VenueAdapter.resolve
    rest = BinanceRestClient(
        config.rest_url, timeout_s=config.rest_timeout_s, max_attempts=config.rest_max_attempts
    )
    return BinanceHistory(rest, venue=config.venue)


def binance_protocol_adapter(*, name: str, ws_url: str, rest_url: str) -> VenueAdapter:
    """An adapter for a venue that speaks Binance's spot protocol (stream and REST) under ``name``."""
    return VenueAdapter(
        name=name,
        feed_factory=_feed,
        history_factory=_history,
        default_ws_url=ws_url,
        default_rest_url=rest_url,
    )


ADAPTER = binance_protocol_adapter(
    name="binance", ws_url="wss://stream.binance.com:9443", rest_url="https://api.binance.com"
)
"""Binance spot."""
