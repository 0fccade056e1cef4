"""Binance spot trades: the combined ``<symbol>@trade`` stream (or the raw ``/ws`` endpoint with the
``SUBSCRIBE`` method), trade-id gaps found and filled from REST ``historicalTrades``.

Gap detection, filling and tail probes are the shared :class:`~resources.exchange_feed.id_feed.IdGapFeed`;
this module adds Binance's URLs, subscriptions, frame parser and history.

The optional API key comes from the environment (``BINANCE_API_KEY`` by default) when the feed is built,
is sent only as the ``X-MBX-APIKEY`` header of REST calls and never logged.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import orjson

from resources.exchange_feed.binance.history import BinanceHistory
from resources.exchange_feed.binance.rest import BinanceRestClient
from resources.exchange_feed.binance.wire import BinanceFrameParser
from resources.exchange_feed.id_feed import IdFeedConfig, IdGapFeed
from resources.exchange_feed.rest import safe_url
from resources.exchange_feed.wire import FrameParser

_SYMBOL = re.compile(r"^[A-Z0-9]{2,24}$")


@dataclass(frozen=True, kw_only=True)
class BinanceFeedConfig(IdFeedConfig):
    """Where and how to stream Binance spot trades (or those of a venue speaking its protocol)."""

    ws_base_url: str = "wss://stream.binance.com:9443"
    """Websocket base URL: combined ``/stream?streams=<symbol>@trade/...`` under it; a URL ending in ``/ws``
    connects there and subscribes with the ``SUBSCRIBE`` method instead (servers with raw streams only)."""
    rest_base_url: str = "https://api.binance.com"
    """REST base URL for gap fills (testnet: ``https://testnet.binance.vision``)."""
    api_key_env: str = "BINANCE_API_KEY"
    """Environment variable holding the optional API key (sent as ``X-MBX-APIKEY``)."""
    venue: str = "binance"
    """Venue name put in every tick."""
    rest_max_attempts: int = 5
    """Attempts per REST request for retryable failures (429, 418, 5xx, connection errors)."""
    rest_backoff_initial_s: float = 0.5
    """Ceiling of the first REST retry delay when the venue sends no ``Retry-After``."""
    rest_backoff_max_s: float = 30.0
    """Largest REST retry delay ceiling."""
    rest_max_retry_after_s: float = 120.0
    """Fail instead of waiting when the venue's ``Retry-After`` asks for longer than this."""

    def __post_init__(self) -> None:
        super().__post_init__()
        bad = [s for s in self.symbols if not _SYMBOL.match(s)]
        if bad:
            raise ValueError(
                f"BinanceFeedConfig.symbols has malformed symbols {bad}; e.g. ('BTCUSDT', 'ETHUSDT')"
            )
        if not self.ws_base_url.startswith(("ws://", "wss://")):
            raise ValueError(
                f"BinanceFeedConfig.ws_base_url={self.ws_base_url!r} must start with ws:// or wss://"
            )
        if not self.rest_base_url.startswith(("http://", "https://")):
            raise ValueError(
                f"BinanceFeedConfig.rest_base_url={safe_url(self.rest_base_url)!r} must be an http(s) URL"
            )
        if not 1 <= self.rest_page_limit <= 1000:
            raise ValueError(f"BinanceFeedConfig.rest_page_limit={self.rest_page_limit} must be in 1..1000")
        if self.rest_max_attempts < 1:
            raise ValueError("BinanceFeedConfig.rest_max_attempts must be >= 1")


class BinanceFeed(IdGapFeed):
    """Binance spot trades of ``config.symbols``, gaps filled over REST."""

    def __init__(
        self,
        config: BinanceFeedConfig,
        *,
        initial_last_ids: Mapping[str, int] | None = None,
        initial_gaps: Mapping[str, Sequence[tuple[int, int]]] | None = None,
    ) -> None:
        """See :class:`IdGapFeed` for ``initial_last_ids`` and ``initial_gaps``."""
        super().__init__(
            config, venue=config.venue, initial_last_ids=initial_last_ids, initial_gaps=initial_gaps
        )
        self.config: BinanceFeedConfig = config
        self._api_key = os.environ.get(config.api_key_env) or None

    def __repr__(self) -> str:
        key = "set" if self._api_key else "none"
        return f"BinanceFeed(ws_base_url={self.config.ws_base_url!r}, symbols={self.config.symbols}, api_key={key})"

    def _new_parser(self) -> FrameParser:
        return BinanceFrameParser(self.venue)

    def _new_history(self, stop: threading.Event) -> BinanceHistory:
        cfg = self.config
        rest = BinanceRestClient(
            cfg.rest_base_url,
            api_key=self._api_key,
            timeout_s=cfg.rest_timeout_s,
            max_attempts=cfg.rest_max_attempts,
            backoff_initial_s=cfg.rest_backoff_initial_s,
            backoff_max_s=cfg.rest_backoff_max_s,
            max_retry_after_s=cfg.rest_max_retry_after_s,
            stop=stop,
        )
        return BinanceHistory(rest, venue=self.venue)

    def _history_display(self) -> str:
        return safe_url(self.config.rest_base_url)

    def _streams(self) -> list[str]:
        return [f"{symbol.lower()}@trade" for symbol in self.config.symbols]

    def _raw_endpoint(self) -> bool:
        return self.config.ws_base_url.rstrip("/").endswith("/ws")

    def _url(self) -> str:
        base = self.config.ws_base_url.rstrip("/")
        if self._raw_endpoint():
            return base
        return f"{base}/stream?streams={'/'.join(self._streams())}"

    def _subscribe_messages(self) -> list[str]:
        if not self._raw_endpoint():
            return []  # the combined-stream URL already names the streams
        return [orjson.dumps({"method": "SUBSCRIBE", "params": self._streams(), "id": 1}).decode()]

    def _mask(self, text: str) -> str:
        return text.replace(self._api_key, "***") if self._api_key else text
