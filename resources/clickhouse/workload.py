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
- ``os_thread_priority`` (current servers; 18.16 does not know it): the Linux nice value of the threads
  that run the query. At 19 the operating system gives a read only the CPU that the threads at nice 0
  beside it leave (the server's inserts and merges; the services too where they share the server's CPU
  group, not across docker's containers), for the whole length of the read, not only while an insert
  runs. The server process needs the ``CAP_SYS_NICE`` capability (docker/: ``cap_add: [SYS_NICE]`` and
  the capability on the binary, since the image's entrypoint drops to an ordinary user); without it the
  setting does nothing. A store sends it only to a server that knows it
  (:func:`known_settings`), and logs once that it cannot when the server does not. Off by default: on
  this project's 2-core machine (Linux 6.18) a thread at nice 19 still took CPU the ingest needed and
  raised its p99 about as much as at nice 0, while the reads became 40-50 % slower (docs/BENCHMARKS.md,
  "The query side at the lowest CPU priority"). Only ``SCHED_IDLE``, which no ClickHouse setting
  offers, kept a spinning thread off the ingest's tail, and even with the whole query side under it the
  queries still raised that tail. Those runs had the kernel's autogroups in the way: nice 19 weighed
  the reads only against the server's own other threads, and the server's group weighed as much as the
  streamer's and the loader's ("The ingest's own priority"). docker/compose.yaml weighs the groups (its
  containers' ``cpu_shares``) and sets 19 for the code location's reads, behind the inserts inside the
  server's own.

:class:`ClickHouseWorkload` holds both for a store; the tick store and the table store send its
:meth:`~ClickHouseWorkload.insert_settings` with their inserts and its
:meth:`~ClickHouseWorkload.read_settings` with every other statement. ``TRADEGRAPH_CLICKHOUSE_*`` set it
(docs/CONFIGURATION.md).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

from clickhouse_driver import Client

from trading_assets.core.settings import Settings

logger = logging.getLogger(__name__)

# Settings not every supported server knows (18.16 refuses a query that sends an unknown setting).
OPTIONAL_SETTINGS = frozenset({"os_thread_priority"})


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
    read_os_thread_priority: int = 0
    """``os_thread_priority`` (Linux nice, 0-19) of the threads running reads, on servers that know it; 0:
    not sent (the default: measured, nice 19 slowed the reads and not the ingest's tail, see above)."""

    def __post_init__(self) -> None:
        for name in ("insert_priority", "read_priority", "read_max_threads", "read_os_thread_priority"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name}={getattr(self, name)} must be 0 or more")
        if self.read_os_thread_priority > 19:
            raise ValueError(
                f"read_os_thread_priority={self.read_os_thread_priority} must be 19 or less (Linux nice)"
            )

    @classmethod
    def from_settings(cls, settings: Settings) -> ClickHouseWorkload:
        """The workload ``TRADEGRAPH_CLICKHOUSE_{INSERT,READ}_PRIORITY``, ``..._READ_MAX_THREADS`` and
        ``..._READ_OS_THREAD_PRIORITY`` name."""
        return cls(
            insert_priority=settings.clickhouse_insert_priority,
            read_priority=settings.clickhouse_read_priority,
            read_max_threads=settings.clickhouse_read_max_threads,
            read_os_thread_priority=settings.clickhouse_read_os_thread_priority,
        )

    def insert_settings(self) -> dict[str, int]:
        """Per-query settings of an insert."""
        return {"priority": self.insert_priority}

    def read_settings(self) -> dict[str, int]:
        """Per-query settings of a read or any other statement that is not an insert."""
        settings = {"priority": self.read_priority}
        if self.read_max_threads:
            settings["max_threads"] = self.read_max_threads
        if self.read_os_thread_priority:
            settings["os_thread_priority"] = self.read_os_thread_priority
        return settings


def known_settings(client: Client, settings: Mapping[str, int], *, where: str) -> dict[str, int]:
    """``settings`` without the optional ones (:data:`OPTIONAL_SETTINGS`) the server of ``client`` does
    not know, each of those logged once; ``where`` names the server in the log."""
    optional = sorted(name for name in settings if name in OPTIONAL_SETTINGS)
    if not optional:
        return dict(settings)
    rows = client.execute(
        "SELECT name FROM system.settings WHERE name IN %(names)s", {"names": tuple(optional)}
    )
    known = {str(row[0]) for row in rows}
    for name in optional:
        if name not in known:
            logger.warning(
                "%s does not know the setting %s (ClickHouse 18.16 has none): the reads run without it",
                where,
                name,
            )
    return {name: value for name, value in settings.items() if name not in OPTIONAL_SETTINGS or name in known}
