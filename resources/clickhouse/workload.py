"""Which ClickHouse queries go first: the ingest's inserts ahead of the analytic reads.

On a few cores the analytic queries (a symbol's week of ticks, a day's export or seal, the bars a
dashboard or an asset reads) compete with the loader's inserts for CPU, and the ingest's latency grows
while they run. ClickHouse (18.16 and current) has two per-query settings to keep the ingest ahead:

- ``priority``: a query with a lower number pauses every running query with a higher number while it
  runs (the paused one waits between blocks it reads, at most a second at a time, and continues when the
  other ends); ``0`` takes no part in priorities, neither pausing nor paused. Inserts at ``1`` and reads at
  ``2`` pause the reads for the few milliseconds each insert of the loader takes. A merge (a seal's
  ``OPTIMIZE``, background merges) reads no blocks through the query, so priorities do not pause it.
  The cost is on the reads: while a loader catches up a backlog, inserting batch after batch, a read may
  advance as little as one block (65,536 rows) a second; ``read_priority=0`` turns the pauses off.
- ``max_threads``: threads one query may use (the server's default is one per core); below the core count
  a read leaves cores to the inserts, the merges and the services.

:class:`ClickHouseWorkload` holds both for a store; the tick store and the table store send its
:meth:`~ClickHouseWorkload.insert_settings` with their inserts and its
:meth:`~ClickHouseWorkload.read_settings` with every other statement. ``TRADEGRAPH_CLICKHOUSE_*`` set it
(docs/CONFIGURATION.md).
"""

from __future__ import annotations

from dataclasses import dataclass

from trading_assets.core.settings import Settings


@dataclass(frozen=True, slots=True, kw_only=True)
class ClickHouseWorkload:
    """ClickHouse query settings of a store's inserts and of its reads (and other statements)."""

    insert_priority: int = 1
    """``priority`` of inserts: 1 is the highest, higher numbers lower; 0 leaves inserts out of priorities."""
    read_priority: int = 2
    """``priority`` of reads, exports, seals and the other statements; above ``insert_priority`` they pause
    while an insert runs; 0 leaves them out of priorities."""
    read_max_threads: int = 1
    """``max_threads`` of reads (threads one query may use); 0: the server's default, one per core."""

    def __post_init__(self) -> None:
        for name in ("insert_priority", "read_priority", "read_max_threads"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name}={getattr(self, name)} must be 0 or more")

    @classmethod
    def from_settings(cls, settings: Settings) -> ClickHouseWorkload:
        """The workload ``TRADEGRAPH_CLICKHOUSE_{INSERT,READ}_PRIORITY`` and ``..._READ_MAX_THREADS`` name."""
        return cls(
            insert_priority=settings.clickhouse_insert_priority,
            read_priority=settings.clickhouse_read_priority,
            read_max_threads=settings.clickhouse_read_max_threads,
        )

    def insert_settings(self) -> dict[str, int]:
        """Per-query settings of an insert."""
        return {"priority": self.insert_priority}

    def read_settings(self) -> dict[str, int]:
        """Per-query settings of a read or any other statement that is not an insert."""
        settings = {"priority": self.read_priority}
        if self.read_max_threads:
            settings["max_threads"] = self.read_max_threads
        return settings
