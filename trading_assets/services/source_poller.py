"""The source poller: drives one source, publishing its records on the bus and keeping its cursor.

One poll, in this order (the order is the guarantee):

1. ``fetch(cursor)``: the records after the cursor;
2. publish them on ``sources.<name>`` (and what the source rejected on the dead letters), then ``flush``:
   the broker has them;
3. save the new cursor in the service state;
4. ``ack``: release the batch at the source (e.g. delete SQS messages).

A crash anywhere repeats at most the last batch, which the source loader stores once (by key); nothing
is acknowledged at the source before the bus has it. A source that is down or asks to wait
(:class:`SourceUnavailableError`) is retried with capped exponential backoff (or the wait it asked for);
a :class:`SourceError` is logged, counted and retried at the slow end of the backoff, since a
misconfigured source should be visible and fixable without a restart storm. Every failure shows in the
metrics and in the heartbeat the stream-health sensor reads.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from dataclasses import dataclass

import pyarrow.compute as pc

from resources.bus.base import BusError, DeadLetter, TickBus
from resources.service_state import ServiceInstance, ServiceStateStore, ServiceStateUnavailableError
from resources.service_state.base import Status
from resources.sources.base import Source, SourceBatch, SourceError, SourceUnavailableError
from resources.sources.codec import encode_records
from trading_assets.services import failpoints
from trading_assets.services.heartbeat import HeartbeatWriter, now_us, service_instance
from trading_assets.services.source_metrics import SourcePollerMetrics

log = logging.getLogger(__name__)

SERVICE = "source"
"""Service name of source pollers in the service state (their instance name is the source's name)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PollerConfig:
    """How a source poller paces, batches and retries."""

    poll_interval_s: float = 5.0
    """Wait after a fetch that left nothing more waiting at the source."""
    fetch_timeout_s: float = 10.0
    """How long one fetch may wait for new records (long polls, subscriptions)."""
    records_per_message: int = 5_000
    """Records packed in one bus message at most (keeps messages well under the broker's 1 MB limit)."""
    retry_initial_s: float = 1.0
    """First wait after a failed fetch or publish."""
    retry_max_s: float = 60.0
    """Longest wait between attempts."""
    heartbeat_interval_s: float = 1.0
    """How often to write the heartbeat."""
    flush_timeout_s: float = 30.0
    """How long to wait for the bus to acknowledge a batch."""


@dataclass(slots=True)
class PollerStats:
    """What the poller has done so far."""

    records: int = 0
    rejected: int = 0
    fetches: int = 0
    failures: int = 0
    consecutive_failures: int = 0
    last_error: str = ""
    newest_time_us: int | None = None


def poller_instance(source: str, *, name: str | None = None) -> ServiceInstance:
    """The service instance the poller of ``source`` runs as on this host (its cursor and heartbeat key)."""
    return service_instance(SERVICE, venues=(), name=name or source)


class SourcePoller:
    """Moves one source's records onto the bus; :meth:`run` until stopped, or :meth:`poll_once`."""

    def __init__(
        self,
        source: Source,
        bus: TickBus,
        state: ServiceStateStore,
        config: PollerConfig | None = None,
        *,
        instance: ServiceInstance | None = None,
        metrics: SourcePollerMetrics | None = None,
        heartbeat: bool = True,
    ) -> None:
        self.source = source
        self.spec = source.spec
        self.bus = bus
        self.state = state
        self.config = config or PollerConfig()
        self.instance = instance or poller_instance(self.spec.name)
        self.metrics = metrics or SourcePollerMetrics()
        self.heartbeat = HeartbeatWriter(state, self.instance) if heartbeat else None
        self.stats = PollerStats()
        self.cursor: str | None = state.cursor(self.instance)
        self._delay = self.config.retry_initial_s
        self._next_beat = 0.0
        log.info("source %s (%s) resumes from cursor %r", self.spec.name, self.spec.kind, self.cursor)

    def poll_once(self) -> SourceBatch:
        """Fetch once and publish, save and acknowledge what came; raises what the source or bus raised."""
        started = time.monotonic()
        self.stats.fetches += 1
        self.metrics.fetches.labels(self.spec.name, self.spec.kind).inc()
        batch = self.source.fetch(self.cursor, timeout_s=self.config.fetch_timeout_s)
        self.metrics.fetch_seconds.labels(self.spec.name).observe(time.monotonic() - started)
        self._publish(batch)
        # A fault test kills the poller here: the bus has the batch, the cursor does not say so yet.
        failpoints.hit("source_poller.after_publish")
        if batch.cursor is not None and batch.cursor != self.cursor:
            self._save_cursor(batch.cursor)
        self.source.ack(batch)
        self._count(batch)
        return batch

    def _publish(self, batch: SourceBatch) -> None:
        topic, key = self.spec.topic, self.spec.name.encode()
        records = batch.records
        published = now_us()
        for offset in range(0, records.num_rows, self.config.records_per_message):
            chunk = records.slice(offset, self.config.records_per_message)
            self.bus.publish_raw(topic, key, encode_records(self.spec.name, chunk, published_us=published))
        for rejected in batch.rejected:
            log.warning("source %s rejected a datapoint: %s", self.spec.name, rejected.reason)
            self.bus.publish_dead_letter(
                DeadLetter(
                    topic=topic,
                    partition=-1,
                    offset=-1,
                    key=key,
                    value=rejected.payload,
                    reason=rejected.reason,
                )
            )
        if records.num_rows or batch.rejected:
            self.bus.flush(timeout_s=self.config.flush_timeout_s)

    def _save_cursor(self, cursor: str) -> None:
        try:
            self.state.save_cursor(self.instance, cursor)
        except ServiceStateUnavailableError as exc:
            # The records are on the bus: going on is safe. Should the poller die before a later save,
            # it fetches again from the older cursor and the loader drops the repeats by key.
            log.warning("source %s: cursor not saved (%s); keeping it in memory", self.spec.name, exc)
        self.cursor = cursor

    def _count(self, batch: SourceBatch) -> None:
        rows = batch.records.num_rows
        self.stats.records += rows
        self.stats.rejected += len(batch.rejected)
        self.stats.consecutive_failures = 0
        self._delay = self.config.retry_initial_s
        self.metrics.records.labels(self.spec.name, self.spec.kind).inc(rows)
        self.metrics.rejected.labels(self.spec.name, self.spec.kind).inc(len(batch.rejected))
        self.metrics.last_success.labels(self.spec.name).set(time.time())
        if rows:
            newest = pc.max(batch.records.column(self.spec.records.time_column)).as_py()
            self.stats.newest_time_us = max(self.stats.newest_time_us or newest, newest)

    def _failed(self, failure: str, exc: Exception) -> float:
        """Count a failure; return how long to wait before the next attempt."""
        self.stats.failures += 1
        self.stats.consecutive_failures += 1
        self.stats.last_error = f"{type(exc).__name__}: {exc}"
        self.metrics.failures.labels(self.spec.name, self.spec.kind, failure).inc()
        asked = getattr(exc, "retry_after_s", None)
        if failure == "error":
            wait = self.config.retry_max_s
        elif asked is not None:
            wait = min(float(asked), self.config.retry_max_s)
        else:
            # Full jitter, so many pollers of one provider do not come back in step.
            wait = random.uniform(0, self._delay)
            self._delay = min(self._delay * 2, self.config.retry_max_s)
        log.warning(
            "source %s: %s failure #%d (%s); next attempt in %.1f s",
            self.spec.name,
            failure,
            self.stats.consecutive_failures,
            exc,
            wait,
        )
        return wait

    def step(self) -> float:
        """One poll with its error handling; return how long to wait before the next one."""
        try:
            batch = self.poll_once()
        except SourceUnavailableError as exc:
            return self._failed("unavailable", exc)
        except SourceError as exc:
            return self._failed("error", exc)
        except BusError as exc:
            # Nothing was saved or acknowledged: the same records are fetched again.
            return self._failed("bus", exc)
        return 0.0 if batch.more else self.config.poll_interval_s

    def run(self, stop: threading.Event) -> None:
        """Poll until ``stop`` is set."""
        try:
            while not stop.is_set():
                wait = self.step()
                self.maybe_beat()
                if wait > 0:
                    stop.wait(wait)
        finally:
            self.beat(status="stopped")
            self.source.close()
        log.info(
            "source %s stopped: %d records, %d rejected",
            self.spec.name,
            self.stats.records,
            self.stats.rejected,
        )

    def beat(self, *, status: Status = "running") -> None:
        """Write the heartbeat (records, failures, the newest record time)."""
        self.metrics.heartbeat.set(time.time())
        if self.heartbeat is None:
            return
        self.heartbeat.beat(
            ticks=self.stats.records,
            last_trade_time_us=self.stats.newest_time_us,
            detail={
                "fetches": float(self.stats.fetches),
                "rejected": float(self.stats.rejected),
                "failures": float(self.stats.failures),
                "consecutive_failures": float(self.stats.consecutive_failures),
            },
            status=status,
        )

    def maybe_beat(self) -> None:
        """:meth:`beat` if the last one is ``heartbeat_interval_s`` old."""
        if time.monotonic() >= self._next_beat:
            self.beat()
            self._next_beat = time.monotonic() + self.config.heartbeat_interval_s
