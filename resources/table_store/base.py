"""The table store interface: day-partitioned tables described by a :class:`TableSpec`.

Implementations: :class:`resources.table_store.clickhouse.ClickHouseTableStore` (a MergeTree table per
spec, partitioned by UTC day) and :class:`resources.table_store.embedded.EmbeddedTableStore` (one Parquet
file per table and day). Both run the one contract suite in ``tests/resources/table_store/``.

Semantics every implementation keeps:
- a partition is one UTC day of the spec's ``time_column``;
- ``write_partition(spec, day, rows)`` *replaces* the day's rows atomically: readers see the old rows
  or the new ones, never a mix, never a half-written day, and never the day missing in between;
  re-running a write never appends twice; writing no rows leaves the day empty (not listed);
- rows outside ``day`` (or that do not fit the spec) are refused before anything changes;
- writes to one day are last-writer-wins; writes to other days and other tables are independent;
- a written partition is stored when the call returns (embedded: fsynced; ClickHouse: acknowledged by
  the server, which writes its parts before it answers).
"""

from __future__ import annotations

import abc
import datetime as dt
import logging
from collections.abc import Collection, Mapping
from dataclasses import dataclass

import pyarrow as pa

from resources.table_store.spec import TableSchemaError, TableSpec

log = logging.getLogger(__name__)

FilterValue = str | int | float | bool
Filters = Mapping[str, FilterValue | Collection[FilterValue]]
"""Column -> accepted value(s): a row is read when, for every column named, its value is one of them."""


class TableStoreError(RuntimeError):
    """A table store operation failed; the message names the store, the table and the operation."""


class TableStoreUnavailableError(TableStoreError):
    """The store cannot be reached right now (server down, connection lost); the same call may succeed later."""


@dataclass(frozen=True, slots=True, kw_only=True)
class TablePartition:
    """One stored day of a table."""

    day: dt.date
    """The UTC day of the spec's time column."""
    rows: int
    """Rows stored for the day."""


def normalized_filters(spec: TableSpec, filters: Filters | None) -> dict[str, tuple[FilterValue, ...]]:
    """``filters`` with every value as a tuple, checked against the spec's columns.

    Raises :class:`TableSchemaError` naming the table when a filter names a column it does not have.
    """
    result: dict[str, tuple[FilterValue, ...]] = {}
    for column, values in (filters or {}).items():
        if column not in spec.columns:
            raise TableSchemaError(
                f"table {spec.name}: cannot filter on {column!r}, not one of its columns {list(spec.columns)}"
            )
        if isinstance(values, str | int | float | bool):
            result[column] = (values,)
        else:
            result[column] = tuple(values)
    return result


class TableStore(abc.ABC):
    """Day-partitioned storage of tables described by specs; see the module docstring for the guarantees."""

    def write_partition(self, spec: TableSpec, day: dt.date, table: pa.Table) -> int:
        """Replace the rows of ``day`` in ``spec``'s table by ``table``, atomically; return the rows written.

        Raises :class:`~resources.table_store.spec.PartitionDayError` when a row's time lies outside
        ``day`` and :class:`~resources.table_store.spec.TableSchemaError` when ``table`` does not fit the
        spec; in both cases the stored partition is unchanged. No rows: the day is dropped.
        """
        rows = spec.day_partition(day, table)
        if rows.num_rows == 0:
            self.drop_partition(spec, day)
            return 0
        self._replace_day(spec, day, rows)
        log.info("wrote %d rows of %s for %s", rows.num_rows, spec.name, day)
        return rows.num_rows

    @abc.abstractmethod
    def _replace_day(self, spec: TableSpec, day: dt.date, rows: pa.Table) -> None:
        """Replace the stored rows of ``day`` by ``rows`` (conformed, sorted, within the day, not empty),
        atomically; stored when this returns."""

    def read(
        self,
        spec: TableSpec,
        *,
        start_us: int,
        end_us: int,
        filters: Filters | None = None,
    ) -> pa.Table:
        """Rows with ``start_us <= time_column < end_us`` that pass ``filters``, in key order.

        Raises :class:`TableSchemaError` naming the table when a filter names a column it does not have.
        """
        chosen = normalized_filters(spec, filters)
        return self._read(spec, start_us=int(start_us), end_us=int(end_us), filters=chosen)

    @abc.abstractmethod
    def _read(
        self, spec: TableSpec, *, start_us: int, end_us: int, filters: Mapping[str, tuple[FilterValue, ...]]
    ) -> pa.Table:
        """Rows with ``start_us <= time_column < end_us`` whose value in each column of ``filters`` is one
        of its values, in key order."""

    @abc.abstractmethod
    def days(self, spec: TableSpec) -> list[TablePartition]:
        """Days of the table that hold rows, with their row counts, oldest first."""

    @abc.abstractmethod
    def drop_partition(self, spec: TableSpec, day: dt.date) -> None:
        """Delete the rows of ``day`` (no error when there are none)."""

    def close(self) -> None:
        """Release connections or handles."""

    def __enter__(self) -> TableStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
