"""The tick store interface: day-partitioned storage of tick tables, deduplicated by trade key on sealing.

Implementations: :class:`resources.tick_store.clickhouse.ClickHouseTickStore` (production) and
:class:`resources.tick_store.embedded.EmbeddedTickStore` (Parquet segments + DuckDB, no server). Both run
the one contract suite in ``tests/resources/tick_store/test_contract.py``.

Semantics every implementation keeps:
- ``insert`` is durable when it returns (offsets may be committed after it);
- ``insert_buffered`` is queryable when it returns and durable after the next ``sync`` that returns
  (offsets may be committed only then); a store without a buffer makes it durable at once;
- a partition is one UTC day of ``trade_time_us``;
- rows are keyed by (venue, symbol, trade_id) within their day (a trade belongs to one day by its trade
  time, so this is the trade's identity); inserting a trade twice is harmless: ``seal`` leaves one
  copy, and ``read``/``export`` never return duplicates even before sealing;
- ``partitions`` counts stored rows, so before sealing a re-inserted trade counts twice.
"""

from __future__ import annotations

import abc
import datetime as dt
from dataclasses import dataclass

import pyarrow as pa

from trading_assets.core.bars import compute_bars_1m


class StoreRowsLostError(RuntimeError):
    """Rows acknowledged into the store's insert buffer may be gone (the server restarted before they were
    synced). Nothing synced is affected; whoever inserted them must insert them again (the loader, which
    commits its offsets only after a sync, rewinds its consumer to the committed offsets and reads them
    again)."""


class StoreUnavailableError(RuntimeError):
    """The store cannot be reached right now (server down, connection lost); the same call may succeed later.

    Callers that must not lose data (the loader) hold their batch and retry with backoff on this error
    only; any other error is a bug or bad data and is raised.
    """


@dataclass(frozen=True, slots=True, kw_only=True)
class PartitionInfo:
    """One day partition of the store."""

    day: dt.date
    """The UTC day of ``trade_time_us`` the partition holds."""
    rows: int
    """Rows stored, counting not-yet-removed duplicates of ticks."""


@dataclass(frozen=True, slots=True, kw_only=True)
class TradeIdGap:
    """A run of missing trade ids of one symbol: ids ``first_missing`` .. ``last_missing`` inclusive."""

    venue: str
    """Venue of the symbol."""
    symbol: str
    """Symbol whose ids jump."""
    first_missing: int
    """First id not in the store."""
    last_missing: int
    """Last id not in the store."""

    @property
    def size(self) -> int:
        """How many trade ids are missing."""
        return self.last_missing - self.first_missing + 1


class TickStore(abc.ABC):
    """Day-partitioned tick storage; see the module docstring for the guarantees."""

    @abc.abstractmethod
    def insert(self, ticks: pa.Table) -> int:
        """Store a tick table (any days, any symbols); return the number of rows written."""

    def insert_buffered(self, ticks: pa.Table) -> int:
        """Store a tick table through the store's insert buffer, if it has one: queryable when this returns,
        durable only after the next :meth:`sync` returns. This default is :meth:`insert` (durable at once).

        For a writer that inserts often and small (the loader): the ClickHouse store keeps the rows in a
        ``Buffer`` table in the server's memory instead of writing a part per insert.
        """
        return self.insert(ticks)

    def sync(self) -> None:
        """Make every row given to :meth:`insert_buffered` so far durable; raise
        :class:`StoreRowsLostError` when some may have been lost since the last sync. No-op here."""

    @abc.abstractmethod
    def partitions(self) -> list[PartitionInfo]:
        """List day partitions with their row counts, oldest first."""

    @abc.abstractmethod
    def read(
        self,
        *,
        symbol: str,
        start_us: int,
        end_us: int,
        venue: str | None = None,
    ) -> pa.Table:
        """Ticks of ``symbol`` with ``start_us <= trade_time_us < end_us``, once each, ordered by time."""

    def minute_bars(self, *, symbol: str, start_us: int, end_us: int) -> pa.Table:
        """One-minute bars (:data:`trading_assets.core.bars.BARS_SCHEMA`) of ``symbol``'s ticks with
        ``start_us <= trade_time_us < end_us``, as :func:`~trading_assets.core.bars.compute_bars_1m` makes
        them from :meth:`read`: ordered by (venue, minute_us), only minutes with trades.

        This default reads the ticks and computes here; a store that can aggregate where the ticks are
        (ClickHouse) overrides it, so that only the bars travel.
        """
        return compute_bars_1m(self.read(symbol=symbol, start_us=start_us, end_us=end_us))

    @abc.abstractmethod
    def trade_id_gaps(self, day: dt.date) -> list[TradeIdGap]:
        """Runs of missing trade ids per (venue, symbol) within ``day``; venues without ids are ignored."""

    @abc.abstractmethod
    def seal(self, day: dt.date) -> int:
        """Remove duplicate trades of ``day`` for good; return the rows that remain."""

    @abc.abstractmethod
    def export(self, day: dt.date) -> pa.Table:
        """All ticks of ``day`` as a tick table, once each, ordered by (venue, symbol, trade_time_us)."""

    def seal_and_export(self, day: dt.date) -> pa.Table:
        """:meth:`seal` ``day``, then :meth:`export` it: afterwards the day holds each trade once and
        ``partitions`` counts exactly the rows returned.

        An implementation may skip rewriting a day that holds no duplicates (the ClickHouse store reads it
        once, checks every key occurs once, and merges only when one does not).
        """
        self.seal(day)
        return self.export(day)

    @abc.abstractmethod
    def drop(self, day: dt.date) -> None:
        """Delete the partition of ``day`` (no error when it does not exist)."""

    def close(self) -> None:
        """Release connections or handles."""

    def __enter__(self) -> TickStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
