"""The loader: drains a consumer group of the tick bus into the tick store, committing only after insert.

Batches are bounded by size (``max_rows``) and by age (``max_wait_s``). Offsets are committed only once
the rows are durable in the store, so a crash between insert and commit re-delivers the batch and the
store's dedup by trade key removes the second copy when the day is sealed. While the store is down
(:class:`StoreUnavailableError`) the loader holds its batch, stops polling (memory stays bounded by one
batch) and retries with capped exponential backoff; nothing is dropped and nothing is committed.
While the bus is unreachable (a broker restart) polls and commits fail with :class:`BusError`: the loader
keeps running and tries again. A commit that failed is harmless: the next successful commit covers
the same records (it commits everything polled so far), and should the loader die before that, the
next one gets those records again and the store's dedup drops the second copy.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from resources.bus.base import BusError, TickConsumer
from resources.service_state.base import Status
from resources.tick_store.base import StoreUnavailableError, TickStore
from trading_assets.services import failpoints
from trading_assets.services.heartbeat import HeartbeatWriter
from trading_assets.services.metrics import LoaderMetrics

log = logging.getLogger(__name__)

# Records asked for per poll; a poll that returns fewer found nothing more buffered (see min_wait_s).
POLL_RECORDS = 500


@dataclass(frozen=True, slots=True, kw_only=True)
class LoaderConfig:
    """How the loader batches and retries."""

    max_rows: int = 100_000
    """Insert once this many ticks are waiting."""
    max_wait_s: float = 1.0
    """Insert at the latest this long after the first waiting tick arrived."""
    min_wait_s: float | None = None
    """When set, also insert as soon as the loader has caught up with the bus (a poll returned fewer
    records than it asked for: nothing more is buffered) and the first waiting tick is at least this old;
    a trickle of ticks is then queryable within about one fetch, while a busy bus still fills big
    batches. None: only ``max_rows`` and ``max_wait_s`` end a batch."""
    poll_timeout_s: float = 0.2
    """How long one poll of the bus may wait."""
    retry_initial_s: float = 0.2
    """First wait after a failed insert."""
    retry_max_s: float = 5.0
    """Longest wait between insert attempts."""
    heartbeat_interval_s: float = 1.0
    """How often to write the heartbeat."""


@dataclass(slots=True)
class LoaderStats:
    """What the loader has done so far."""

    ticks: int = 0
    batches: int = 0
    dead_letters: int = 0
    insert_failures: int = 0
    bus_failures: int = 0
    newest_trade_us: int | None = None
    lag: int | None = None
    """Records not yet polled, as of the last heartbeat (None: the bus cannot tell yet)."""


class Loader:
    """Moves ticks from one consumer to one store; :meth:`run` until stopped, or :meth:`drain`."""

    def __init__(
        self,
        consumer: TickConsumer,
        store: TickStore,
        config: LoaderConfig | None = None,
        *,
        metrics: LoaderMetrics | None = None,
        heartbeat: HeartbeatWriter | None = None,
    ) -> None:
        self.consumer = consumer
        self.store = store
        self.config = config or LoaderConfig()
        self.metrics = metrics or LoaderMetrics()
        self.heartbeat = heartbeat
        self.stats = LoaderStats()
        self._pending: list[pa.Table] = []
        self._pending_rows = 0
        self._first_pending_at: float | None = None
        self._next_beat = 0.0
        self._caught_up = False

    def run_once(self, stop: threading.Event | None = None) -> int:
        """Poll once; insert and commit when the batch is full or old enough. Return rows inserted."""
        timeout_s = self.config.poll_timeout_s
        if self._first_pending_at is not None:
            # Wait for more only until the waiting batch is due, so max_wait_s bounds the added latency.
            due_in = self._first_pending_at + self._batch_age_due() - time.monotonic()
            timeout_s = max(0.0, min(timeout_s, due_in))
        try:
            delivery = self.consumer.poll(timeout_s=timeout_s, max_records=POLL_RECORDS)
        except BusError as exc:
            # The broker is away (e.g. restarting); the waiting batch stays, the next poll tries again.
            self.stats.bus_failures += 1
            self.metrics.bus_failures.labels(operation="poll").inc()
            log.warning("poll failed (%s); holding %d ticks, trying again", exc, self._pending_rows)
            if stop is not None:
                stop.wait(self.config.retry_initial_s)
            else:
                time.sleep(self.config.retry_initial_s)
            return 0
        self._caught_up = delivery.records < POLL_RECORDS
        if delivery.dead_letters:
            self.stats.dead_letters += len(delivery.dead_letters)
            self.metrics.dead_letters.inc(len(delivery.dead_letters))
        if delivery.ticks.num_rows:
            self._pending.append(delivery.ticks)
            self._pending_rows += delivery.ticks.num_rows
            self.metrics.pending_rows.set(self._pending_rows)
            if self._first_pending_at is None:
                self._first_pending_at = time.monotonic()
        elif delivery.records and not self._pending:
            # Only dead letters arrived: they are already in the dead-letter topic.
            self._commit()
        full = self._pending_rows >= self.config.max_rows
        old = self._first_pending_at is not None and (
            time.monotonic() - self._first_pending_at >= self._batch_age_due()
        )
        return self.flush(stop) if full or old else 0

    def _batch_age_due(self) -> float:
        """Age of the waiting batch at which it is inserted: ``max_wait_s``, or ``min_wait_s`` once the
        loader has caught up with the bus."""
        if self.config.min_wait_s is not None and self._caught_up:
            return min(self.config.min_wait_s, self.config.max_wait_s)
        return self.config.max_wait_s

    def flush(self, stop: threading.Event | None = None) -> int:
        """Insert what is waiting (retrying while the store is unavailable), then commit.

        Returns rows inserted; 0 if ``stop`` was set during an outage (nothing committed then).
        """
        if not self._pending:
            return 0
        batch = pa.concat_tables(self._pending)
        started = time.monotonic()
        delay = self.config.retry_initial_s
        while True:
            try:
                inserted = self.store.insert(batch)
                break
            except StoreUnavailableError as exc:
                self.stats.insert_failures += 1
                self.metrics.insert_failures.inc()
                # Full jitter keeps many loaders from hammering a recovering server in step.
                wait = random.uniform(0, delay)
                log.warning(
                    "store unavailable (%s); holding %d ticks, retry in %.2f s", exc, batch.num_rows, wait
                )
                # Alive and retrying: the heartbeat says so (with the failures), it does not go stale.
                self.maybe_beat()
                if stop is not None and stop.wait(wait):
                    log.warning(
                        "stopping during a store outage: %d ticks left uncommitted on the bus", batch.num_rows
                    )
                    return 0
                if stop is None:
                    time.sleep(wait)
                delay = min(delay * 2, self.config.retry_max_s)
        # A fault test can kill the loader exactly here: rows stored, offsets not committed.
        failpoints.hit("loader.after_insert")
        # Only now are the rows durable, so only now may the offsets move on.
        self._commit()
        self.stats.ticks += inserted
        self.stats.batches += 1
        newest = int(pc.max(batch["trade_time_us"]).as_py())
        self.stats.newest_trade_us = max(self.stats.newest_trade_us or newest, newest)
        self.metrics.rows.inc(inserted)
        self.metrics.batches.inc()
        self.metrics.batch_seconds.observe(time.monotonic() - started)
        self.metrics.pending_rows.set(0)
        log.debug("loaded batch of %d ticks", inserted)
        self._pending, self._pending_rows, self._first_pending_at = [], 0, None
        return inserted

    @property
    def pending_rows(self) -> int:
        """Ticks polled and waiting for their insert."""
        return self._pending_rows

    def _commit(self) -> None:
        try:
            self.consumer.commit()
        except BusError as exc:
            # Not retried here: the next commit covers these records too (see the module docstring).
            self.stats.bus_failures += 1
            self.metrics.bus_failures.labels(operation="commit").inc()
            log.warning("commit failed (%s); the rows are stored, a later commit covers them", exc)

    def wait_loaded(self, ticks: int, *, timeout_s: float) -> bool:
        """Wait until this loader has stored and committed at least ``ticks`` ticks; False on timeout."""
        deadline = time.monotonic() + timeout_s
        while self.stats.ticks < ticks:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.01)
        return True

    def beat(self, *, status: Status = "running") -> None:
        """Update the lag figure and write the loader's heartbeat (when it has a heartbeat writer)."""
        self.stats.lag = self.consumer.lag()
        self.metrics.consumer_lag.set(float("nan") if self.stats.lag is None else self.stats.lag)
        self.metrics.heartbeat.set(time.time())
        if self.heartbeat is None:
            return
        self.heartbeat.beat(
            ticks=self.stats.ticks,
            last_trade_time_us=self.stats.newest_trade_us,
            detail={
                "insert_failures": float(self.stats.insert_failures),
                "bus_failures": float(self.stats.bus_failures),
                "pending": float(self._pending_rows),
                **({} if self.stats.lag is None else {"lag_records": float(self.stats.lag)}),
            },
            status=status,
        )

    def maybe_beat(self) -> None:
        """:meth:`beat` if the last one is ``heartbeat_interval_s`` old."""
        if time.monotonic() >= self._next_beat:
            self.beat()
            self._next_beat = time.monotonic() + self.config.heartbeat_interval_s

    def run(self, stop: threading.Event) -> None:
        """Load until ``stop`` is set; then insert and commit what is waiting."""
        while not stop.is_set():
            self.run_once(stop)
            self.maybe_beat()
        # ``stop`` is set, so an unreachable store gets one attempt, not a wait: what is left stays
        # uncommitted on the bus and is delivered again to the next loader.
        self.flush(stop)
        self.beat(status="stopped")
        log.info("loader stopped: %d ticks in %d batches", self.stats.ticks, self.stats.batches)

    def drain(self, *, idle_s: float = 1.0, timeout_s: float = 600.0) -> int:
        """Load until the bus has been quiet for ``idle_s``; return ticks loaded by this call."""
        start_ticks = self.stats.ticks
        deadline = time.monotonic() + timeout_s
        quiet_since = time.monotonic()
        while time.monotonic() < deadline:
            before = self._pending_rows + self.stats.ticks
            self.run_once()
            if self._pending_rows + self.stats.ticks != before:
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since >= idle_s:
                break
        self.flush()
        return self.stats.ticks - start_ticks
