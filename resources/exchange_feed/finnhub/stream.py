"""Finnhub trades websocket: token auth, one subscribe message per symbol, dedup by content key.

Finnhub publishes no trade ids, so ticks carry content keys: negative ids from symbol, time, price,
quantity and the print's rank among identical prints of its connection (see
:mod:`resources.exchange_feed.finnhub.wire`). Identical distinct trades get distinct keys; a print
Finnhub re-sends on a later connection gets the key it had the first time. The feed drops such re-sent
prints seen within ``dedup_window_s`` of trade time (memory bounded by the window and by
``dedup_max_keys``); older ones pass through, and the store's dedup by key removes them too.

The token comes from the environment (``FINNHUB_TOKEN`` by default) and travels as ``?token=`` in the
URL. It is masked in every log line, event, malformed-frame record, error and ``repr``.
"""

from __future__ import annotations

import collections
import logging
import os
from dataclasses import dataclass
from urllib.parse import quote

import numpy as np
import orjson
import pyarrow as pa

from resources.exchange_feed.base import FeedConfig, FeedSink
from resources.exchange_feed.finnhub.wire import FinnhubFrameParser
from resources.exchange_feed.websocket import WebSocketFeed
from resources.exchange_feed.wire import FrameParser, ParsedBatch
from trading_assets.core.time import US_PER_SECOND

log = logging.getLogger(__name__)

MASK = "***"


@dataclass(frozen=True, kw_only=True)
class FinnhubFeedConfig(FeedConfig):
    """Where and how to stream Finnhub trades."""

    ws_url: str = "wss://ws.finnhub.io"
    """Websocket URL; the token is appended as ``?token=``."""
    token_env: str = "FINNHUB_TOKEN"
    """Environment variable holding the API token (required)."""
    venue: str = "finnhub"
    """Venue name put in every tick."""
    dedup_window_s: float = 60.0
    """Drop a print whose key (content and rank) was seen less than this much trade time ago: a print
    re-sent on a new connection."""
    dedup_max_keys: int = 1_000_000
    """At most this many remembered prints (oldest forgotten first), whatever the window."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.ws_url.startswith(("ws://", "wss://")) or "?" in self.ws_url:
            raise ValueError(
                f"FinnhubFeedConfig.ws_url={self.ws_url!r} must be a ws:// or wss:// URL without a query"
            )
        if self.dedup_window_s < 0 or self.dedup_max_keys < 1:
            raise ValueError("FinnhubFeedConfig.dedup_window_s must be >= 0 and dedup_max_keys >= 1")


class ContentDeduper:
    """Drops ticks whose content key was seen within a window of trade time; bounded memory."""

    def __init__(self, *, window_us: int, max_keys: int) -> None:
        self.window_us = window_us
        self.max_keys = max_keys
        self._seen: dict[int, int] = {}  # content key -> trade time (us)
        self._order: collections.deque[tuple[int, int]] = (
            collections.deque()
        )  # (trade time, key), ~time order
        self._newest_us: int | None = None

    def __len__(self) -> int:
        return len(self._seen)

    def filter(self, ticks: pa.Table) -> tuple[pa.Table, int]:
        """Return ``ticks`` without repeats, and how many were dropped."""
        if ticks.num_rows == 0:
            return ticks, 0
        keys = ticks.column("trade_id").to_numpy().tolist()
        times = ticks.column("trade_time_us").to_numpy().tolist()
        keep = np.ones(len(keys), dtype=bool)
        seen, order, window = self._seen, self._order, self.window_us
        # The window follows the newest trade time seen so far, trade by trade, so the outcome does not
        # depend on how frames were grouped into batches.
        newest = times[0] if self._newest_us is None else self._newest_us
        for i, (key, time_us) in enumerate(zip(keys, times, strict=True)):
            newest = max(newest, time_us)
            if time_us < newest - window:
                continue  # outside the window: never dropped, never remembered
            if key in seen:
                keep[i] = False
            else:
                seen[key] = time_us
                order.append((time_us, key))
        self._newest_us = newest
        cutoff = newest - window
        # Forget prints that fell out of the window, and the oldest beyond the size bound.
        while order and (order[0][0] < cutoff or len(seen) > self.max_keys):
            seen.pop(order.popleft()[1], None)
        dropped = len(keys) - int(keep.sum())
        return (ticks.filter(keep) if dropped else ticks), dropped


class FinnhubFeed(WebSocketFeed):
    """Finnhub trades of ``config.symbols`` (e.g. ``BINANCE:BTCUSDT``)."""

    def __init__(self, config: FinnhubFeedConfig) -> None:
        """Raises ``ValueError`` naming ``config.token_env`` when the token is not set."""
        super().__init__(config, venue=config.venue)
        self.config: FinnhubFeedConfig = config
        token = os.environ.get(config.token_env, "").strip()
        if not token:
            raise ValueError(
                f"environment variable {config.token_env} is not set: the Finnhub websocket needs an API "
                f"token; e.g. export {config.token_env}=<your token from finnhub.io>"
            )
        self._token = token
        self._dedup = ContentDeduper(
            window_us=int(config.dedup_window_s * US_PER_SECOND), max_keys=config.dedup_max_keys
        )

    def __repr__(self) -> str:
        return f"FinnhubFeed(ws_url={self.config.ws_url!r}, symbols={self.config.symbols}, token={MASK})"

    def _new_parser(self) -> FrameParser:
        return FinnhubFrameParser(self.venue)

    def _url(self) -> str:
        return f"{self.config.ws_url}?token={quote(self._token, safe='')}"

    def _display_url(self) -> str:
        return f"{self.config.ws_url}?token={MASK}"

    def _mask(self, text: str) -> str:
        for secret in {self._token, quote(self._token, safe="")}:
            text = text.replace(secret, MASK)
        return text

    def _subscribe_messages(self) -> list[str]:
        return [orjson.dumps({"type": "subscribe", "symbol": s}).decode() for s in self.config.symbols]

    def _deliver(self, batch: ParsedBatch, sink: FeedSink) -> None:
        ticks, dropped = self._dedup.filter(batch.ticks)
        self.stats.duplicates += dropped
        if ticks.num_rows:
            sink.on_ticks(ticks)
        self._deliver_rest(batch, sink)
