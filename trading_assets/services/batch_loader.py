"""What the tick loader and the source loader share: a batch held from the bus, written when due, then committed.

A loader polls its consumer, holds what came until the batch is full (``max_rows``) or old enough
(``max_wait_s``), writes it, and only then commits the offsets. While its store is unavailable it retries
the write with capped, fully jittered exponential backoff, beating meanwhile so its heartbeat shows it
alive and failing rather than stale. :class:`BatchLoader` holds that loop; each loader says how it polls,
writes and counts (:mod:`trading_assets.services.loader`, :mod:`trading_assets.services.source_loader`).
"""

from __future__ import annotations

import random
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Generic, Protocol, TypeVar

from prometheus_client import Gauge

from resources.service_state.base import Status
from trading_assets.services.heartbeat import HeartbeatWriter


class BatchConfig(Protocol):
    """The settings :class:`BatchLoader` reads from a loader's config."""

    @property
    def max_rows(self) -> int:
        """Write once this many rows are waiting."""

    @property
    def max_wait_s(self) -> float:
        """Write at the latest this long after the first waiting row arrived."""

    @property
    def retry_initial_s(self) -> float:
        """First wait after a failed write."""

    @property
    def retry_max_s(self) -> float:
        """Longest wait between write attempts."""

    @property
    def heartbeat_interval_s(self) -> float:
        """How often to write the heartbeat."""


ConfigT = TypeVar("ConfigT", bound=BatchConfig)
ItemT = TypeVar("ItemT")
ErrorT = TypeVar("ErrorT", bound=Exception)


def wait_or_stopped(stop: threading.Event | None, seconds: float) -> bool:
    """Sleep ``seconds`` (or until ``stop``); True when stopped."""
    if stop is not None:
        return stop.wait(seconds)
    time.sleep(seconds)
    return False


class BatchLoader(ABC, Generic[ConfigT, ItemT]):
    """Holds polled items (``ItemT``) until the batch is due; :meth:`run` until stopped, or :meth:`drain`."""

    def __init__(self, config: ConfigT, *, heartbeat: HeartbeatWriter | None, heartbeat_gauge: Gauge) -> None:
        self.config = config
        self.heartbeat = heartbeat
        self._heartbeat_gauge = heartbeat_gauge
        self._pending: list[ItemT] = []
        self._pending_rows = 0
        self._first_pending_at: float | None = None
        self._next_beat = 0.0

    @abstractmethod
    def run_once(self, stop: threading.Event | None = None) -> int:
        """Poll once; write and commit when the batch is due. Return the rows stored."""

    @abstractmethod
    def flush(self, stop: threading.Event | None = None) -> int:
        """Write what is waiting, then commit; 0 if ``stop`` was set during an outage."""

    @abstractmethod
    def _loaded(self) -> int:
        """Rows stored so far (the heartbeat's count, what :meth:`drain` reports)."""

    @abstractmethod
    def _newest_us(self) -> int | None:
        """Time of the newest row stored (microseconds), None before the first."""

    @abstractmethod
    def _beat_detail(self) -> dict[str, float]:
        """The heartbeat's figures besides the count and the newest time."""

    @abstractmethod
    def _progress(self) -> object:
        """What changes while the bus still delivers; :meth:`drain` stops once it has stayed the same."""

    @abstractmethod
    def _stopped(self) -> None:
        """Log what the loader did, once :meth:`run` has ended."""

    @property
    def pending_rows(self) -> int:
        """Rows polled and waiting for their write."""
        return self._pending_rows

    def _hold(self, item: ItemT, rows: int) -> None:
        """Add ``item`` (of ``rows`` rows) to the waiting batch."""
        self._pending.append(item)
        self._pending_rows += rows
        if self._first_pending_at is None:
            self._first_pending_at = time.monotonic()

    def _release(self) -> None:
        """Forget the waiting batch (it is stored and committed)."""
        self._pending, self._pending_rows, self._first_pending_at = [], 0, None

    def _batch_age_due(self) -> float:
        """Age of the waiting batch at which it is written."""
        return self.config.max_wait_s

    def _batch_due(self) -> bool:
        """Whether the waiting batch is full or old enough to be written."""
        full = self._pending_rows >= self.config.max_rows
        old = self._first_pending_at is not None and (
            time.monotonic() - self._first_pending_at >= self._batch_age_due()
        )
        return full or old

    def _write_while_unavailable(
        self,
        write: Callable[[], int],
        unavailable: type[ErrorT],
        failed: Callable[[ErrorT, float], None],
        stop: threading.Event | None,
    ) -> int | None:
        """Call ``write`` until it succeeds and return what it returned; None if ``stop`` was set meanwhile.

        After each ``unavailable`` error: ``failed(error, wait)`` (count and log it), a heartbeat when one
        is due, and a wait of ``wait`` seconds, drawn up to a delay that doubles up to ``retry_max_s``.
        """
        delay = self.config.retry_initial_s
        while True:
            try:
                return write()
            except unavailable as exc:
                # Full jitter keeps many loaders from hammering a recovering server in step.
                wait = random.uniform(0, delay)
                failed(exc, wait)
                # Alive and retrying: the heartbeat says so (with the failures), it does not go stale.
                self.maybe_beat()
                if wait_or_stopped(stop, wait):
                    return None
                delay = min(delay * 2, self.config.retry_max_s)

    def beat(self, *, status: Status = "running") -> None:
        """Write the heartbeat (when the loader has a heartbeat writer) and set its metric."""
        self._heartbeat_gauge.set(time.time())
        if self.heartbeat is None:
            return
        self.heartbeat.beat(
            ticks=self._loaded(),
            last_trade_time_us=self._newest_us(),
            detail=self._beat_detail(),
            status=status,
        )

    def maybe_beat(self) -> None:
        """:meth:`beat` if the last one is ``heartbeat_interval_s`` old."""
        if time.monotonic() >= self._next_beat:
            self.beat()
            self._next_beat = time.monotonic() + self.config.heartbeat_interval_s

    def run(self, stop: threading.Event) -> None:
        """Load until ``stop`` is set; then write and commit what is waiting."""
        while not stop.is_set():
            self.run_once(stop)
            self.maybe_beat()
        # ``stop`` is set, so an unreachable store gets one attempt, not a wait: what is left stays
        # uncommitted on the bus and is delivered again to the next loader.
        self.flush(stop)
        self.beat(status="stopped")
        self._stopped()

    def drain(self, *, idle_s: float = 1.0, timeout_s: float = 600.0) -> int:
        """Load until the bus has been quiet for ``idle_s``; return the rows stored by this call."""
        start = self._loaded()
        deadline = time.monotonic() + timeout_s
        quiet_since = time.monotonic()
        while time.monotonic() < deadline:
            before = self._progress()
            self.run_once()
            if self._progress() != before:
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since >= idle_s:
                break
        self.flush()
        return self._loaded() - start
