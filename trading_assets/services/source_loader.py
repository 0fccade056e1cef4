"""The source loader: drains the ``sources.<name>`` topics into each source's day-partitioned table.

Each flush merges the waiting records into the days they belong to (one row per key: a repeat from an
at-least-once delivery is dropped, a revised value, whose key includes its publish time, is kept beside
the older version) and replaces each touched day atomically in the table store (in a thread of its own,
while the next records are polled: :mod:`trading_assets.services.batch_loader`); only then are the bus
offsets of exactly those records committed. A crash before the commit re-delivers the records, which the
merge drops as repeats.

The days written lately are cached, so a stream of small batches costs a merge in memory and one write
per touched day, not a read as well. The cache holds at most ``cached_days`` days; the loader is the
only writer of ``src_*`` tables, so a cached day is what is stored.

Records that cannot be decoded, that name a source this loader was not configured with, or that do not
fit their source's schema go to the dead letters with the reason; everything else carries on. Should the
dead-letter topic itself refuse them, the :class:`BusError` ends :meth:`SourceLoader.run` without a
commit, so a restarted loader gets those records again rather than losing them.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from resources.bus.base import BusError, DeadLetter, Offsets, RawRecord, TickBus, TickConsumer, next_offsets
from resources.bus.codec import log_dead_letters
from resources.sources.base import SourceSpec
from resources.sources.codec import SourceRecordDecodeError, decode_records
from resources.table_store.base import TableStore, TableStoreUnavailableError
from resources.table_store.spec import TableSchemaError, TableSpec
from trading_assets.core.time import day_bounds_us
from trading_assets.services.batch_loader import Batch, BatchLoader, wait_or_stopped
from trading_assets.services.heartbeat import HeartbeatWriter, now_us
from trading_assets.services.source_metrics import SourceLoaderMetrics
from trading_assets.sources.tables import merge_day, source_table, split_by_day

log = logging.getLogger(__name__)

SERVICE = "source_loader"
GROUP = "source-loader"
"""Consumer group of the source loader."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SourceLoaderConfig:
    """How the source loader batches, caches and retries."""

    max_wait_s: float = 1.0
    """Write at the latest this long after the first waiting record arrived."""
    max_rows: int = 200_000
    """Write once this many records are waiting."""
    poll_timeout_s: float = 0.2
    """How long one poll of the bus may wait."""
    cached_days: int = 64
    """Stored days kept in memory for merging (the newest written)."""
    retry_initial_s: float = 0.2
    """First wait after a failed write."""
    retry_max_s: float = 5.0
    """Longest wait between write attempts."""
    heartbeat_interval_s: float = 1.0
    """How often to write the heartbeat."""


@dataclass(slots=True)
class SourceLoaderStats:
    """What the source loader has done so far."""

    rows: int = 0
    repeats: int = 0
    flushes: int = 0
    dead_letters: int = 0
    store_failures: int = 0
    bus_failures: int = 0
    newest_time_us: int | None = None


@dataclass(frozen=True, slots=True)
class _Pending:
    source: str
    records: pa.Table
    published_us: int


class SourceLoader(BatchLoader[SourceLoaderConfig, _Pending]):
    """Moves source records from one consumer into one table store."""

    after_write_failpoint = "source_loader.after_write"

    def __init__(
        self,
        consumer: TickConsumer,
        store: TableStore,
        bus: TickBus,
        specs: Sequence[SourceSpec],
        config: SourceLoaderConfig | None = None,
        *,
        metrics: SourceLoaderMetrics | None = None,
        heartbeat: HeartbeatWriter | None = None,
    ) -> None:
        self.metrics = metrics or SourceLoaderMetrics()
        super().__init__(
            config or SourceLoaderConfig(), heartbeat=heartbeat, heartbeat_gauge=self.metrics.heartbeat
        )
        self.consumer = consumer
        self.store = store
        self.bus = bus
        self.specs: Mapping[str, SourceSpec] = {spec.name: spec for spec in specs}
        self.tables: Mapping[str, TableSpec] = {spec.name: source_table(spec) for spec in specs}
        self.stats = SourceLoaderStats()
        self._days: OrderedDict[tuple[str, dt.date], pa.Table] = OrderedDict()

    def _poll(self, timeout_s: float, stop: threading.Event | None) -> None:
        try:
            raw = self.consumer.poll_records(timeout_s=timeout_s, max_records=500)
        except BusError as exc:
            self._bus_failed("poll", exc)
            wait_or_stopped(stop, self.config.retry_initial_s)
            return
        self._take(raw)
        # Past the dead letters too: they are on the dead-letter topic once _take returned.
        self._hold_offsets(next_offsets(raw))

    def _take(self, raw: Sequence[RawRecord]) -> None:
        """Decode ``raw`` into pending batches; dead-letter the bad ones."""
        letters: list[DeadLetter] = []
        for topic, partition, offset, key, value in raw:
            reason = None
            try:
                decoded = decode_records(value)
                table = self.tables.get(decoded.source)
                if table is None:
                    reason = f"source {decoded.source!r} is not in this loader's sources file"
                else:
                    records = table.conform(decoded.records)
            except (SourceRecordDecodeError, TableSchemaError) as exc:
                reason = str(exc)
            if reason is not None:
                letters.append(
                    DeadLetter(
                        topic=topic,
                        partition=partition,
                        offset=offset,
                        key=key,
                        value=value or b"",
                        reason=reason,
                    )
                )
                continue
            self._hold(_Pending(decoded.source, records, decoded.published_us), records.num_rows)
        if letters:
            log_dead_letters(letters, f"group {GROUP!r}", log)
            for letter in letters:
                self.bus.publish_dead_letter(letter)
            self.bus.flush()
            self.stats.dead_letters += len(letters)
            self.metrics.dead_letters.inc(len(letters))

    def _write(self, items: list[_Pending], stop: threading.Event | None) -> int | None:
        return self._write_while_unavailable(
            lambda: self._merge_and_write(items), TableStoreUnavailableError, self._store_failed, stop
        )

    def _written(self, batch: Batch[_Pending], stored: int, seconds: float) -> None:
        stored_at = now_us()
        for item in batch.items:
            self.metrics.latency.labels(item.source).observe(max(0, stored_at - item.published_us) / 1e6)
        self.stats.flushes += 1

    def _store_failed(self, exc: TableStoreUnavailableError, wait: float) -> None:
        self.stats.store_failures += 1
        self.metrics.store_failures.inc()
        log.warning("table store unavailable (%s); holding %d records", exc, self.pending_rows)

    def _merge_and_write(self, items: list[_Pending]) -> int:
        """Merge ``items`` into their days and write each touched day; return the new rows."""
        by_source: dict[str, list[pa.Table]] = {}
        for item in items:
            by_source.setdefault(item.source, []).append(item.records)
        new_rows = 0
        for source, tables in by_source.items():
            table = self.tables[source]
            delivered = pa.concat_tables(tables)
            for day, rows in split_by_day(table, delivered):
                stored = self._stored_day(source, table, day)
                merged, added = merge_day(table, stored, rows)
                if added:
                    self.store.write_partition(table, day, merged)
                    self._remember(source, day, merged)
                new_rows += added
                self.stats.rows += added
                self.stats.repeats += rows.num_rows - added
                self.metrics.rows.labels(source).inc(added)
                self.metrics.repeats.labels(source).inc(rows.num_rows - added)
                newest = int(pc.max(rows.column(table.time_column)).as_py())
                self.stats.newest_time_us = max(self.stats.newest_time_us or newest, newest)
        return new_rows

    def _stored_day(self, source: str, table: TableSpec, day: dt.date) -> pa.Table:
        cached = self._days.get((source, day))
        if cached is not None:
            self._days.move_to_end((source, day))
            return cached
        start, end = day_bounds_us(day)
        return self.store.read(table, start_us=start, end_us=end)

    def _remember(self, source: str, day: dt.date, rows: pa.Table) -> None:
        self._days[(source, day)] = rows
        self._days.move_to_end((source, day))
        while len(self._days) > self.config.cached_days:
            self._days.popitem(last=False)

    def _commit_offsets(self, offsets: Offsets) -> None:
        self.consumer.commit(offsets)

    def _bus_failed(self, operation: str, exc: BusError) -> None:
        self.stats.bus_failures += 1
        self.metrics.bus_failures.labels(operation=operation).inc()
        log.warning("bus %s failed (%s); trying again", operation, exc)

    def _loaded(self) -> int:
        return self.stats.rows

    def _newest_us(self) -> int | None:
        return self.stats.newest_time_us

    def _beat_detail(self) -> dict[str, float]:
        return {
            "repeats": float(self.stats.repeats),
            "dead_letters": float(self.stats.dead_letters),
            "store_failures": float(self.stats.store_failures),
            "bus_failures": float(self.stats.bus_failures),
            "pending": float(self.pending_rows),
        }

    def _progress(self) -> object:
        return (self.pending_rows, self.stats.rows, self.stats.dead_letters)

    def _stopped(self) -> None:
        log.info("source loader stopped: %d rows, %d repeats dropped", self.stats.rows, self.stats.repeats)
