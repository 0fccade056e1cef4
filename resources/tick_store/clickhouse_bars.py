"""One-minute bars in ClickHouse: a MergeTree table partitioned by UTC day, a day replaced whole.

Used by :class:`resources.tick_store.clickhouse.ClickHouseTickStore`, which owns the connection and
passes its statement runners in; the SQL is in :mod:`resources.tick_store.clickhouse_sql`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from resources.tick_store import clickhouse_sql as sql
from resources.tick_store.base import PartitionInfo, day_bars
from trading_assets.core.bars import BARS_SCHEMA

_STRING_COLUMNS = frozenset({"venue", "symbol"})


class Execute(Protocol):
    """Runs one statement with parameters and returns the columnar result (the store's ``_execute``)."""

    def __call__(self, query: str, params: Mapping[str, Any] | None = None, *, operation: str) -> Any: ...


def partition_id(day: dt.date) -> int:
    """The YYYYMMDD partition number of ``day``."""
    return day.year * 10_000 + day.month * 100 + day.day


def numpy_columns(table: pa.Table, names: Sequence[str]) -> list[np.ndarray]:
    """Columns as NumPy arrays for a clickhouse-driver numpy insert (strings as object arrays)."""
    columns = []
    for name in names:
        column = table.column(name)
        if name in _STRING_COLUMNS:
            # Few distinct venues and symbols: decode each once and index, instead of one str per row.
            encoded = pc.dictionary_encode(column).combine_chunks()
            names_array = encoded.dictionary.to_numpy(zero_copy_only=False)
            columns.append(names_array[encoded.indices.to_numpy(zero_copy_only=False)])
        else:
            columns.append(column.to_numpy())
    return columns


def columns_to_table(columns: Sequence[Any], schema: pa.Schema) -> pa.Table:
    """A table of ``schema`` from a columnar query result (empty when the result has no columns)."""
    if not columns:
        return schema.empty_table()
    arrays = [pa.array(values, type=field.type) for values, field in zip(columns, schema, strict=True)]
    return pa.Table.from_arrays(arrays, schema=schema)


class ClickHouseBars:
    """The bar table ``database.table`` reached through the store's statement runners."""

    def __init__(
        self,
        *,
        database: str,
        table: str,
        execute: Execute,
        insert: Callable[[str, list[np.ndarray], str], None],
    ) -> None:
        self.database = sql.identifier(database)
        self.table = sql.identifier(table)
        self._execute = execute
        self._insert = insert
        self._execute(sql.create_bars_table(self.database, self.table), operation="create bars table")

    def write(self, day: dt.date, bars: pa.Table) -> int:
        """Drop the day's partition, then insert the bars as one block (one part, atomic)."""
        table = day_bars(day, bars)
        self.drop(day)
        if table.num_rows:
            # One insert of at most a day's bars stays within one block (clickhouse-driver splits at
            # about a million rows), so readers see all of the new bars or none.
            self._insert(
                sql.insert_bars(self.database, self.table),
                numpy_columns(table, sql.BAR_COLUMNS),
                f"write {table.num_rows} bars of {day}",
            )
        return table.num_rows

    def read(self, *, symbol: str, start_us: int, end_us: int, venue: str | None = None) -> pa.Table:
        """Bars of ``symbol`` with ``minute_us`` in ``[start_us, end_us)``, by (minute_us, venue)."""
        params: dict[str, Any] = {"symbol": symbol, "start_us": int(start_us), "end_us": int(end_us)}
        if venue is not None:
            params["venue"] = venue
        result = self._execute(
            sql.select_bars_range(self.database, self.table, with_venue=venue is not None),
            params,
            operation=f"read bars of {symbol}",
        )
        return columns_to_table(result, BARS_SCHEMA)

    def days(self) -> list[PartitionInfo]:
        """Days with bars and their bar counts (from ``system.parts``), oldest first."""
        result = self._execute(
            sql.partitions(), {"database": self.database, "table": self.table}, operation="list bar days"
        )
        if not result:
            return []
        return [
            PartitionInfo(day=dt.datetime.strptime(str(pid), "%Y%m%d").date(), rows=int(rows))
            for pid, rows in zip(result[0], result[1], strict=True)
        ]

    def drop(self, day: dt.date) -> None:
        """Drop the day's partition (nothing happens when it does not exist)."""
        self._execute(
            sql.drop_partition(self.database, self.table),
            {"partition": partition_id(day)},
            operation=f"drop bars of {day}",
        )
