"""The loader: drains a consumer group of the tick bus into the tick store, committing only after insert.

Batches are bounded by size (``max_rows``) and by age (``max_wait_s``). A batch is inserted in a thread
of its own while the loader polls the next one (:mod:`trading_assets.services.batch_loader`); its
offsets, exactly those of its records, are committed only once the rows are durable in the store, so a
crash between insert and commit re-delivers the batch and the store's dedup by trade key removes the
second copy when the day is sealed. While the store is down (:class:`StoreUnavailableError`) the insert
is retried with capped exponential backoff and the loader polls on only until the next batch is full
(memory stays bounded by two batches); nothing is dropped and nothing is committed. While the bus is
unreachable (a broker restart) polls and commits fail with :class:`BusError`: the loader keeps running
and tries again. A commit that failed is harmless: the next commit carries its offsets too, and should
the loader die before that, the next one gets those records again and the store's dedup drops the
second copy.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from resources.bus.base import BusError, Offsets, TickConsumer
from resources.service_state.base import Status
from resources.tick_store.base import StoreRowsLostError, StoreUnavailableError, TickStore
from trading_assets.services.batch_loader import Batch, BatchLoader, wait_or_stopped
from trading_assets.services.heartbeat import HeartbeatWriter
from trading_assets.services.insert_trace import InsertTrace
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
    sync_s: float | None = None
    """When set, insert through the store's insert buffer (queryable at once) and every this many seconds
    sync it (durable) and only then commit the offsets (``TickStore.insert_buffered``); should the store
    lose buffered rows, the loader reads again from the last committed offsets. None: every insert is
    durable when it returns."""


@dataclass(slots=True)
class LoaderStats:
    """What the loader has done so far."""

    ticks: int = 0
    batches: int = 0
    dead_letters: int = 0
    insert_failures: int = 0
    rewinds: int = 0
    """Times the store lost buffered rows and the loader read again from the last committed offsets."""
    bus_failures: int = 0
    newest_trade_us: int | None = None
    lag: int | None = None
    """Records not yet polled, as of the last heartbeat (None: the bus cannot tell yet)."""


class Loader(BatchLoader[LoaderConfig, pa.Table]):
    """Moves ticks from one consumer to one store; :meth:`run` until stopped, or :meth:`drain`."""

    after_write_failpoint = "loader.after_insert"

    def __init__(
        self,
        consumer: TickConsumer,
        store: TickStore,
        config: LoaderConfig | None = None,
        *,
        metrics: LoaderMetrics | None = None,
        heartbeat: HeartbeatWriter | None = None,
        trace: InsertTrace | None = None,
    ) -> None:
        """``trace``: where to record each insert's return time and ids (benchmarks; see
        :mod:`trading_assets.services.insert_trace`)."""
        self.metrics = metrics or LoaderMetrics()
        self.trace = trace
        super().__init__(
            config or LoaderConfig(), heartbeat=heartbeat, heartbeat_gauge=self.metrics.heartbeat
        )
        self.consumer = consumer
        self.store = store
        self.stats = LoaderStats()
        self._caught_up = False

    def _poll(self, timeout_s: float, stop: threading.Event | None) -> None:
        try:
            delivery = self.consumer.poll(timeout_s=timeout_s, max_records=POLL_RECORDS)
        except BusError as exc:
            # The broker is away (e.g. restarting); the waiting batch stays, the next poll tries again.
            self._bus_failed("poll", exc)
            log.warning("poll failed (%s); holding %d ticks, trying again", exc, self.pending_rows)
            wait_or_stopped(stop, self.config.retry_initial_s)
            return
        self._caught_up = delivery.records < POLL_RECORDS
        if delivery.dead_letters:
            self.stats.dead_letters += len(delivery.dead_letters)
            self.metrics.dead_letters.inc(len(delivery.dead_letters))
        if delivery.ticks.num_rows:
            self._hold(delivery.ticks, delivery.ticks.num_rows)
            self.metrics.pending_rows.set(self.pending_rows)
        self._hold_offsets(delivery.offsets)

    def _batch_age_due(self) -> float:
        """Age of the waiting batch at which it is inserted: ``max_wait_s``, or ``min_wait_s`` once the
        loader has caught up with the bus."""
        if self.config.min_wait_s is not None and self._caught_up:
            return min(self.config.min_wait_s, self.config.max_wait_s)
        return self.config.max_wait_s

    def _write(self, items: list[pa.Table], stop: threading.Event | None) -> int | None:
        batch = pa.concat_tables(items)

        def insert_failed(exc: StoreUnavailableError, wait: float) -> None:
            self.stats.insert_failures += 1
            self.metrics.insert_failures.inc()
            log.warning(
                "store unavailable (%s); holding %d ticks, retry in %.2f s", exc, batch.num_rows, wait
            )

        insert = self.store.insert if self.config.sync_s is None else self.store.insert_buffered
        started_us = time.time_ns() // 1_000
        stored = self._write_while_unavailable(
            lambda: insert(batch), StoreUnavailableError, insert_failed, stop
        )
        if stored is not None and self.trace is not None:
            self.trace.record(batch, started_us)  # here, in the write thread, as the insert returned
        return stored

    def _sync_interval_s(self) -> float | None:
        return self.config.sync_s

    def _try_sync(self) -> bool:
        try:
            self.store.sync()
        except StoreUnavailableError as exc:
            self.stats.insert_failures += 1
            self.metrics.insert_failures.inc()
            log.warning("store unavailable for the sync (%s); its offsets wait for the next one", exc)
            return False
        except StoreRowsLostError as exc:
            # Nothing since the last commit is known to be stored: read it all again (the store drops the
            # copies of what did survive). A rewind that fails raises: the next loader starts there anyway.
            log.warning("%s; reading again from the last committed offsets", exc)
            self.consumer.rewind()
            self._forget_since_last_commit()
            self.stats.rewinds += 1
            return False
        return True

    def _written(self, batch: Batch[pa.Table], stored: int, seconds: float) -> None:
        self.stats.ticks += stored
        self.stats.batches += 1
        newest = max(int(pc.max(table["trade_time_us"]).as_py()) for table in batch.items)
        self.stats.newest_trade_us = max(self.stats.newest_trade_us or newest, newest)
        self.metrics.rows.inc(stored)
        self.metrics.batches.inc()
        self.metrics.batch_seconds.observe(seconds)
        self.metrics.pending_rows.set(self.pending_rows)
        log.debug("loaded batch of %d ticks", stored)

    def _commit_offsets(self, offsets: Offsets) -> None:
        self.consumer.commit(offsets)

    def _bus_failed(self, operation: str, exc: BusError) -> None:
        self.stats.bus_failures += 1
        self.metrics.bus_failures.labels(operation=operation).inc()
        if operation == "commit":
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
        super().beat(status=status)

    def _loaded(self) -> int:
        return self.stats.ticks

    def _newest_us(self) -> int | None:
        return self.stats.newest_trade_us

    def _beat_detail(self) -> dict[str, float]:
        return {
            "insert_failures": float(self.stats.insert_failures),
            "bus_failures": float(self.stats.bus_failures),
            "pending": float(self.pending_rows),
            **({} if self.stats.lag is None else {"lag_records": float(self.stats.lag)}),
        }

    def _progress(self) -> object:
        return self.pending_rows + self.stats.ticks

    def _stopped(self) -> None:
        log.info("loader stopped: %d ticks in %d batches", self.stats.ticks, self.stats.batches)
