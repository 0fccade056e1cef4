"""The exchange feed interface: a venue's trades streamed into a sink, reconnecting by itself.

A feed owns one venue connection. ``run(sink, stop)`` blocks until ``stop`` is set and hands the sink
tick tables (many ticks per call), malformed frames (for the dead-letter record) and events (connection
changes, gaps, venue errors) for metrics and logs. Sink calls never overlap: a feed serialises the calls
of its read loop and of its helper threads (e.g. the gap filler), so a sink need not be thread-safe, but
it must be quick: the read loop waits while the sink works.
"""

from __future__ import annotations

import abc
import threading
from dataclasses import dataclass
from typing import Literal, Protocol

import pyarrow as pa

from resources.exchange_feed.wire import MalformedFrame

EventKind = Literal[
    "connected",
    "disconnected",
    "reconnect",
    "stale",
    "gap_found",
    "gap_filled",
    "gap_fill_failed",
    "venue_error",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class FeedEvent:
    """Something a feed wants operators (metrics, logs, tests) to know about."""

    kind: EventKind
    """What happened."""
    venue: str
    """Venue of the feed."""
    symbol: str | None = None
    """Symbol concerned, or ``None`` for the whole connection."""
    detail: str = ""
    """Human-readable context (never contains secrets)."""
    count: int = 0
    """How many: missing or filled trade ids for gap events; for ``reconnect`` the backoff attempt (0: at
    once, the venue closed a working connection cleanly)."""
    first_id: int | None = None
    """Gap events: first trade id of the range concerned."""
    last_id: int | None = None
    """Gap events: last trade id (inclusive) of the range concerned."""
    trade_time_us: int | None = None
    """``gap_filled``: exchange time of the first trade filled (the day the gap belongs to)."""

    def describe(self) -> str:
        """One line for logs: ``binance gap_found BTCUSDT: ids 5..9 missing (5)``, no empty fields."""
        where = f"{self.venue} {self.kind} {self.symbol}" if self.symbol else f"{self.venue} {self.kind}"
        return f"{where}: {self.detail} ({self.count})" if self.detail else f"{where} ({self.count})"


@dataclass(slots=True, kw_only=True)
class FeedStats:
    """Running counters of a feed (read them from any thread; updated once per flush)."""

    frames: int = 0
    """Websocket data frames received."""
    ticks: int = 0
    """Trades parsed from websocket frames (before any dedup; gap fills not included)."""
    malformed: int = 0
    """Frames that could not be parsed."""
    control_frames: int = 0
    """Acks and application pings."""
    duplicates: int = 0
    """Trades seen again (Binance: id at or below the highest seen and in no pending gap) or dropped
    as repeats (Finnhub: same content within the dedup window)."""
    connections: int = 0
    """Successful websocket connections."""
    gap_filled_ticks: int = 0
    """Trades fetched over REST to fill gaps."""
    reconnects: int = 0
    """Reconnects after a connection ended or could not be opened."""
    backoff_s: float = 0.0
    """Seconds of reconnect delay in total (what the backoff cost the stream)."""


class FeedSink(Protocol):
    """Receives what a feed produces; implemented by the streamer."""

    def on_ticks(self, ticks: pa.Table) -> None:
        """A tick table (:data:`~trading_assets.core.ticks.TICK_SCHEMA`) of newly received trades."""

    def on_malformed(self, frame: MalformedFrame) -> None:
        """A frame that could not be parsed, with the reason."""

    def on_event(self, event: FeedEvent) -> None:
        """A connection, gap or venue event."""


class ExchangeFeed(abc.ABC):
    """Streams one venue's trades into a :class:`FeedSink`."""

    venue: str
    """Lower-case venue name put in every tick."""

    @abc.abstractmethod
    def run(self, sink: FeedSink, stop: threading.Event) -> None:
        """Stream into ``sink`` until ``stop`` is set, reconnecting after drops; then return.

        Raises only for what reconnecting cannot cure (e.g. missing credentials), before streaming.
        """

    def unfilled_gaps(self) -> dict[str, list[tuple[int, int]]]:
        """Trade-id ranges known missing and not yet filled, per symbol (venues without ids: none)."""
        return {}


class SerialSink:
    """Wraps a sink so that calls from several threads of one feed never overlap."""

    def __init__(self, sink: FeedSink) -> None:
        self._sink = sink
        self._lock = threading.Lock()

    def on_ticks(self, ticks: pa.Table) -> None:
        """Forward ``ticks`` to the wrapped sink."""
        with self._lock:
            self._sink.on_ticks(ticks)

    def on_malformed(self, frame: MalformedFrame) -> None:
        """Forward ``frame`` to the wrapped sink."""
        with self._lock:
            self._sink.on_malformed(frame)

    def on_event(self, event: FeedEvent) -> None:
        """Forward ``event`` to the wrapped sink."""
        with self._lock:
            self._sink.on_event(event)


@dataclass(frozen=True, kw_only=True)  # no slots: subclasses call super().__post_init__()
class FeedConfig:
    """Settings every websocket feed shares; venue configs extend it. Checked on construction."""

    symbols: tuple[str, ...]
    """Symbols to stream, as the venue names them (e.g. ``BTCUSDT``, ``BINANCE:BTCUSDT``)."""
    connect_timeout_s: float = 10.0
    """Timeout of the TCP/TLS connect and the websocket handshake."""
    ping_interval_s: float = 20.0
    """Send a websocket ping this often, so NATs and the venue keep the connection open."""
    stale_after_s: float = 60.0
    """Reconnect when no data frame arrives for this long (server pings and pongs do not count)."""
    flush_every_ticks: int = 5_000
    """Hand ticks to the sink once this many are parsed ..."""
    flush_interval_s: float = 0.02
    """... or once this much time passed since the last flush, whichever comes first (a trickle's
    ticks wait up to this long before they are published: part of the exchange-to-queryable latency)."""
    backoff_initial_s: float = 0.5
    """Ceiling of the first reconnect delay; doubles per failed attempt (full jitter below it)."""
    backoff_max_s: float = 30.0
    """Largest reconnect delay ceiling."""
    healthy_after_s: float = 60.0
    """A connection that lasted this long resets the reconnect backoff, even without trades (a quiet
    symbol). A connection that delivered trades, or that the venue closed cleanly, resets it too."""
    close_timeout_s: float = 1.0
    """How long to wait for the venue's close reply when disconnecting."""

    def __post_init__(self) -> None:
        name = type(self).__name__
        if isinstance(self.symbols, str) or not self.symbols:
            raise ValueError(f"{name}.symbols={self.symbols!r} must be a non-empty tuple, e.g. ('BTCUSDT',)")
        for field in (
            "connect_timeout_s",
            "ping_interval_s",
            "stale_after_s",
            "flush_interval_s",
            "backoff_initial_s",
            "backoff_max_s",
            "close_timeout_s",
        ):
            value = getattr(self, field)
            if not (isinstance(value, int | float) and value > 0):
                raise ValueError(f"{name}.{field}={value!r} must be a positive number of seconds")
        if self.healthy_after_s < 0:
            raise ValueError(f"{name}.healthy_after_s={self.healthy_after_s!r} must not be negative")
        if self.backoff_max_s < self.backoff_initial_s:
            raise ValueError(
                f"{name}.backoff_max_s={self.backoff_max_s!r} is below backoff_initial_s={self.backoff_initial_s!r}"
            )
        if not (isinstance(self.flush_every_ticks, int) and self.flush_every_ticks >= 1):
            raise ValueError(f"{name}.flush_every_ticks={self.flush_every_ticks!r} must be an integer >= 1")
