"""The loader: drains a consumer group of the tick bus into the tick store, committing only after insert.

Batches are bounded by size (``max_rows``) and by age (``max_wait_s``). Offsets are committed only once
the rows are durable in the store, so a crash between insert and commit re-delivers the batch and the
store's dedup by trade key removes the second copy when the day is sealed.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import pyarrow as pa

from resources.bus.base import TickConsumer
from resources.tick_store.base import TickStore

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class LoaderConfig:
    """How the loader batches."""

    max_rows: int = 100_000
    """Insert once this many ticks are waiting."""
    max_wait_s: float = 1.0
    """Insert at the latest this long after the first waiting tick arrived."""
    poll_timeout_s: float = 0.2
    """How long one poll of the bus may wait."""


@dataclass(slots=True)
class LoaderStats:
    """What the loader has done so far."""

    ticks: int = 0
    batches: int = 0
    dead_letters: int = 0


class Loader:
    """Moves ticks from one consumer to one store; call :meth:`run_once` in a loop or :meth:`drain`."""

    def __init__(self, consumer: TickConsumer, store: TickStore, config: LoaderConfig | None = None) -> None:
        self.consumer = consumer
        self.store = store
        self.config = config or LoaderConfig()
        self.stats = LoaderStats()
        self._pending: list[pa.Table] = []
        self._pending_rows = 0
        self._first_pending_at: float | None = None

    def run_once(self) -> int:
        """Poll once; insert and commit when the batch is full or old enough. Return rows inserted."""
        delivery = self.consumer.poll(timeout_s=self.config.poll_timeout_s)
        self.stats.dead_letters += len(delivery.dead_letters)
        if delivery.ticks.num_rows:
            self._pending.append(delivery.ticks)
            self._pending_rows += delivery.ticks.num_rows
            if self._first_pending_at is None:
                self._first_pending_at = time.monotonic()
        elif delivery.records and not self._pending:
            # Only dead letters arrived: they are already in the dead-letter topic.
            self.consumer.commit()
        full = self._pending_rows >= self.config.max_rows
        old = self._first_pending_at is not None and (
            time.monotonic() - self._first_pending_at >= self.config.max_wait_s
        )
        return self.flush() if full or old else 0

    def flush(self) -> int:
        """Insert what is waiting, then commit. Return rows inserted."""
        if not self._pending:
            return 0
        batch = pa.concat_tables(self._pending)
        inserted = self.store.insert(batch)
        # Only now are the rows durable, so only now may the offsets move on.
        self.consumer.commit()
        self.stats.ticks += inserted
        self.stats.batches += 1
        log.debug("loaded batch of %d ticks", inserted)
        self._pending, self._pending_rows, self._first_pending_at = [], 0, None
        return inserted

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
