"""What the tick loader and the source loader share: a batch held from the bus, written when due, then committed.

A loader polls its consumer, holds what came until the batch is full (``max_rows``) or old enough
(``max_wait_s``), writes it, and only then commits the offsets of exactly that batch. The write runs in a
thread of its own while the loader keeps polling into the next batch (one write at a time; the consumer
is only ever used by the loader's own thread, which also commits and beats), so the records that arrive
during a write are already polled when it ends and the next batch can go in at once, instead of waiting
for the write, the commit and then their own fetch. The next batch fills up to ``max_rows`` meanwhile,
so at most two batches are held. While its store is unavailable the write is retried with capped, fully
jittered exponential backoff, and the loader beats meanwhile so its heartbeat shows it alive and failing
rather than stale. A write that gives up (``stop`` set during an outage) puts its batch back in front of
the next one, and nothing of either is committed, so the next batch's offsets never commit records
that were not stored.

:class:`BatchLoader` holds that loop; each loader says how it polls, writes and counts
(:mod:`trading_assets.services.loader`, :mod:`trading_assets.services.source_loader`).
"""

from __future__ import annotations

import logging
import random
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import wait as wait_for_future
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

from prometheus_client import Gauge

from resources.bus.base import BusError, Offsets, merge_offsets
from resources.service_state.base import Status
from trading_assets.services import failpoints
from trading_assets.services.heartbeat import HeartbeatWriter

log = logging.getLogger(__name__)

OVERLAP_POLL_S = 0.005
"""Longest poll while a write runs: the loader sees the write end (and commits it) at most this late."""


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

    @property
    def poll_timeout_s(self) -> float:
        """How long one poll of the bus may wait."""


ConfigT = TypeVar("ConfigT", bound=BatchConfig)
ItemT = TypeVar("ItemT")
ErrorT = TypeVar("ErrorT", bound=Exception)
ResultT = TypeVar("ResultT")


@dataclass(slots=True)
class Batch(Generic[ItemT]):
    """Items polled together, and the bus offsets just past everything polled with them."""

    items: list[ItemT] = field(default_factory=list)
    """What was polled (tick tables, source records), oldest first."""
    rows: int = 0
    """Rows in ``items``."""
    offsets: dict[tuple[str, int], int] = field(default_factory=dict)
    """Per partition, just past the last record polled into this batch (dead letters included)."""
    first_at: float | None = None
    """When the first item arrived (monotonic seconds), None while there is none."""

    def put_before(self, later: Batch[ItemT]) -> None:
        """Take ``later``'s items and offsets after this batch's own."""
        self.items.extend(later.items)
        self.rows += later.rows
        merge_offsets(self.offsets, later.offsets)
        self.first_at = later.first_at if self.first_at is None else self.first_at


def in_thread(work: Callable[[], ResultT], name: str) -> Future[ResultT]:
    """Run ``work`` in a new daemon thread; its result (or what it raised) comes back in the future."""
    future: Future[ResultT] = Future()

    def run() -> None:
        future.set_running_or_notify_cancel()
        try:
            future.set_result(work())
        except BaseException as exc:  # handed to whoever waits for the future, which raises it again
            future.set_exception(exc)

    threading.Thread(target=run, name=name, daemon=True).start()
    return future


def wait_or_stopped(stop: threading.Event | None, seconds: float) -> bool:
    """Sleep ``seconds`` (or until ``stop``); True when stopped."""
    if stop is not None:
        return stop.wait(seconds)
    time.sleep(seconds)
    return False


class BatchLoader(ABC, Generic[ConfigT, ItemT]):
    """Holds polled items (``ItemT``) until the batch is due; :meth:`run` until stopped, or :meth:`drain`."""

    after_write_failpoint: str
    """The failpoint reached once a batch is written and before its offsets are committed."""

    def __init__(self, config: ConfigT, *, heartbeat: HeartbeatWriter | None, heartbeat_gauge: Gauge) -> None:
        self.config = config
        self.heartbeat = heartbeat
        self._heartbeat_gauge = heartbeat_gauge
        self._pending: Batch[ItemT] = Batch()
        self._writing_rows = 0
        self._unconfirmed: dict[tuple[str, int], int] = {}
        # Offsets of what was written into a store's insert buffer and not yet synced (see _durable).
        self._unsynced: dict[tuple[str, int], int] = {}
        self._last_sync = time.monotonic()
        self._next_beat = 0.0

    @abstractmethod
    def _poll(self, timeout_s: float, stop: threading.Event | None) -> None:
        """Poll once (waiting up to ``timeout_s``) and :meth:`_hold` what came; a :class:`BusError` is
        counted, logged and waited out (``retry_initial_s``) here."""

    @abstractmethod
    def _write(self, items: list[ItemT], stop: threading.Event | None) -> int | None:
        """Store ``items`` (in the write thread; retrying with :meth:`_write_while_unavailable`); the rows
        stored, None if ``stop`` was set during an outage. Must not touch the consumer."""

    @abstractmethod
    def _written(self, batch: Batch[ItemT], stored: int, seconds: float) -> None:
        """Count ``batch`` (``stored`` rows, written in ``seconds``), now stored and committed."""

    @abstractmethod
    def _bus_failed(self, operation: str, exc: BusError) -> None:
        """Count and log a failed poll or commit."""

    @abstractmethod
    def _commit_offsets(self, offsets: Offsets) -> None:
        """Commit ``offsets`` on the consumer (raises :class:`BusError`)."""

    def _sync_interval_s(self) -> float | None:
        """How often writes are made durable by :meth:`_try_sync` (the store's insert buffer); None: every
        write is durable when it returns (the default)."""
        return None

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
        """Rows polled and not stored yet (waiting, or being written)."""
        return self._pending.rows + self._writing_rows

    def run_once(self, stop: threading.Event | None = None) -> int:
        """Poll once; when the batch is due, write it (polling on meanwhile) and commit it. Return the
        rows stored."""
        self._poll(self._poll_timeout(), stop)
        if self._batch_due():
            return self._write_pending(stop, overlap=True)
        if not self._pending.items and self._pending.offsets:
            # Only dead letters arrived (they are on the dead-letter topic already): done with them.
            self._durable(self._take_pending().offsets)
        self._sync_if_due()
        return 0

    def flush(self, stop: threading.Event | None = None) -> int:
        """Write what is waiting, then commit; 0 if ``stop`` was set during an outage (nothing committed)."""
        if not self._pending.items:
            if self._pending.offsets:
                self._durable(self._take_pending().offsets)
            self._sync_if_due(force=True)
            return 0
        stored = self._write_pending(stop, overlap=False)
        self._sync_if_due(force=True)
        return stored

    def _poll_timeout(self) -> float:
        """``poll_timeout_s``, but no longer than until the waiting batch is due (so ``max_wait_s``
        bounds the added latency)."""
        if self._pending.first_at is None:
            return self.config.poll_timeout_s
        due_in = self._pending.first_at + self._batch_age_due() - time.monotonic()
        return max(0.0, min(self.config.poll_timeout_s, due_in))

    def _hold(self, item: ItemT, rows: int) -> None:
        """Add ``item`` (of ``rows`` rows) to the waiting batch."""
        self._pending.items.append(item)
        self._pending.rows += rows
        if self._pending.first_at is None:
            self._pending.first_at = time.monotonic()

    def _hold_offsets(self, offsets: Offsets) -> None:
        """Note that the waiting batch reaches up to ``offsets`` on the bus."""
        merge_offsets(self._pending.offsets, offsets)

    def _take_pending(self) -> Batch[ItemT]:
        batch, self._pending = self._pending, Batch()
        return batch

    def _batch_age_due(self) -> float:
        """Age of the waiting batch at which it is written."""
        return self.config.max_wait_s

    def _batch_due(self) -> bool:
        """Whether the waiting batch is full or old enough to be written."""
        pending = self._pending
        full = pending.rows >= self.config.max_rows
        old = pending.first_at is not None and time.monotonic() - pending.first_at >= self._batch_age_due()
        return bool(pending.items) and (full or old)

    def _write_pending(self, stop: threading.Event | None, *, overlap: bool) -> int:
        """Write the waiting batch in the write thread, then commit exactly its offsets; return the rows
        stored, 0 if the write gave up (``stop`` set during an outage: the batch waits again, uncommitted).

        With ``overlap`` the loader polls into the next batch meanwhile (until that one is full too).
        """
        batch = self._take_pending()
        self._writing_rows = batch.rows
        started = time.monotonic()
        writing = in_thread(lambda: self._write(batch.items, stop), name=f"{type(self).__name__}-write")
        try:
            while not writing.done():
                stopped = stop is not None and stop.is_set()
                if overlap and not stopped and self._pending.rows < self.config.max_rows:
                    self._poll(min(OVERLAP_POLL_S, self.config.poll_timeout_s), stop)
                else:
                    wait_for_future([writing], timeout=OVERLAP_POLL_S)
                # Alive and maybe retrying: the heartbeat says so (with the failures), it does not go stale.
                self.maybe_beat()
            stored = writing.result()
        finally:
            self._writing_rows = 0
        if stored is None:
            batch.put_before(self._pending)
            self._pending = batch
            log.warning("stopping during a store outage: %d rows left uncommitted on the bus", batch.rows)
            return 0
        # A fault test can kill the loader exactly here: rows stored, offsets not committed.
        failpoints.hit(self.after_write_failpoint)
        # Only once the rows are durable may the offsets move on, and only this batch's.
        self._durable(batch.offsets)
        self._written(batch, stored, time.monotonic() - started)
        return stored

    def _durable(self, offsets: Offsets) -> None:
        """``offsets`` were written: commit them now, or, with a sync interval, at the next sync."""
        if self._sync_interval_s() is None:
            self._commit(offsets)
            return
        merge_offsets(self._unsynced, offsets)
        self._sync_if_due()

    def _sync_if_due(self, *, force: bool = False) -> None:
        """Sync and commit what was written since the last sync, once ``_sync_interval_s`` has passed (or
        at once with ``force``). A sync that did not make the writes durable (the store unreachable, or
        rows lost and the consumer rewound) commits nothing."""
        interval = self._sync_interval_s()
        if interval is None or not self._unsynced:
            return
        if not force and time.monotonic() - self._last_sync < interval:
            return
        synced = self._try_sync()
        # After a failed sync too: a store that is down is tried again an interval later, not every poll.
        self._last_sync = time.monotonic()
        if not synced:
            return
        offsets, self._unsynced = self._unsynced, {}
        self._commit(offsets)

    def _try_sync(self) -> bool:
        """Make everything written so far durable; False when it is not (the loader counts, logs and
        mends why). Only called with a sync interval: nothing to do without one."""
        return True

    def _forget_since_last_commit(self) -> None:
        """Drop what was polled or written since the last commit: the bus delivers it again (after the
        consumer rewound to the committed offsets)."""
        self._pending = Batch()
        self._unsynced = {}

    def _commit(self, offsets: Offsets) -> None:
        """Commit ``offsets`` and those of earlier commits that failed; a failure is counted, not raised."""
        merge_offsets(self._unconfirmed, offsets)
        try:
            self._commit_offsets(self._unconfirmed)
        except BusError as exc:
            # Not retried here: the next commit carries these offsets too. Should the loader die first,
            # the next one gets those records again and the store drops the second copy.
            self._bus_failed("commit", exc)
            return
        self._unconfirmed = {}

    def _write_while_unavailable(
        self,
        write: Callable[[], int],
        unavailable: type[ErrorT],
        failed: Callable[[ErrorT, float], None],
        stop: threading.Event | None,
    ) -> int | None:
        """Call ``write`` until it succeeds and return what it returned; None if ``stop`` was set meanwhile.

        After each ``unavailable`` error: ``failed(error, wait)`` (count and log it) and a wait of ``wait``
        seconds, drawn up to a delay that doubles up to ``retry_max_s``. Runs in the write thread: the
        loader's own thread beats meanwhile.
        """
        delay = self.config.retry_initial_s
        while True:
            try:
                return write()
            except unavailable as exc:
                # Full jitter keeps many loaders from hammering a recovering server in step.
                wait = random.uniform(0, delay)
                failed(exc, wait)
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
