"""The ClickHouse table store: a MergeTree table per spec, partitioned by UTC day, a day replaced atomically.

A write inserts the day's rows into a fresh staging table of the same structure, then swaps the day's
partition in with ``ALTER TABLE t REPLACE PARTITION p FROM staging`` (18.16 and current ClickHouse):
readers see the old rows or the new, and a failed insert leaves the stored day as it was. The replaced
parts are then deleted from disk at once, so a server killed later cannot load them again
(:func:`~resources.table_store.clickhouse_sql.sweep_replaced_parts`). Rows travel as
NumPy columns through clickhouse-driver's native protocol. Every statement comes from
:mod:`resources.table_store.clickhouse_sql`.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import uuid
from collections.abc import Mapping
from contextlib import AbstractContextManager
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from resources.clickhouse import parse_endpoint, wrapped_errors
from resources.clickhouse import sql as ch_sql
from resources.clickhouse.sql import partition_id
from resources.clickhouse.workload import ClickHouseWorkload, known_settings
from resources.table_store import clickhouse_sql as sql
from resources.table_store.base import (
    FilterValue,
    TablePartition,
    TableStore,
    TableStoreError,
    TableStoreUnavailableError,
)
from resources.table_store.spec import TableSchemaError, TableSpec

log = logging.getLogger(__name__)

STAGING_INFIX = "__staging_"
"""In the name of a write's staging table (``<table>__staging_<id>``), which lives only during the write:
whoever lists the database's tables skips these."""


def numpy_columns(table: pa.Table) -> list[np.ndarray]:
    """Columns as NumPy arrays for a clickhouse-driver numpy insert (strings as object arrays)."""
    columns = []
    for field, column in zip(table.schema, table.columns, strict=True):
        if field.type == pa.string():
            # Few distinct values (venues, symbols): decode each once and index, not one str per row.
            encoded = pc.dictionary_encode(column).combine_chunks()
            values = encoded.dictionary.to_numpy(zero_copy_only=False)
            columns.append(values[encoded.indices.to_numpy(zero_copy_only=False)])
        elif field.type == pa.bool_():
            columns.append(column.to_numpy().astype(np.uint8))
        else:
            columns.append(column.to_numpy())
    return columns


def columns_to_table(columns: list[Any], spec: TableSpec) -> pa.Table:
    """A table of the spec's schema from a columnar query result (empty when there are no columns)."""
    if not columns:
        return spec.schema.empty_table()
    arrays = []
    for values, field in zip(columns, spec.schema, strict=True):
        # Bool columns are stored as UInt8 0/1.
        column = np.asarray(values).astype(bool) if field.type == pa.bool_() else values
        arrays.append(pa.array(column, type=field.type))
    return pa.Table.from_arrays(arrays, schema=spec.schema)


class ClickHouseTableStore(TableStore):
    """Table store on a ClickHouse server (18.16 or newer) reached by its native TCP protocol.

    ``url`` is a clickhouse-driver URL (``clickhouse://user:password@host:9000/default``); tables live in
    ``database`` and are created (with the database) on first use of their spec, so constructing the
    store does not connect. One store may be shared by threads: calls are serialised.

    ``workload``: the ClickHouse ``priority`` and ``max_threads`` of its inserts and of its other
    statements (:class:`~resources.clickhouse.workload.ClickHouseWorkload`), as for the tick store.
    """

    def __init__(
        self,
        url: str,
        *,
        database: str = "tradegraph",
        connect_timeout_s: float = 10.0,
        send_receive_timeout_s: float = 60.0,
        workload: ClickHouseWorkload | None = None,
    ) -> None:
        self.database = ch_sql.identifier(database)
        endpoint = parse_endpoint(
            url, connect_timeout_s=connect_timeout_s, send_receive_timeout_s=send_receive_timeout_s
        )
        self.host = endpoint.address
        # Client-level use_numpy: results come back as NumPy columns too.
        self._client = endpoint.client(settings={**endpoint.settings, "use_numpy": True})
        self.workload = workload or ClickHouseWorkload()
        self._read_settings = self.workload.read_settings()
        self._read_settings_checked = False
        self._insert_settings = self.workload.insert_settings()
        self._lock = threading.Lock()
        self._ready: set[TableSpec] = set()

    # -- plumbing -----------------------------------------------------------------------------------

    def _wrapped(self, operation: str) -> AbstractContextManager[None]:
        return wrapped_errors(
            f"ClickHouse table store at {self.host} ({self.database})",
            operation,
            error=TableStoreError,
            unavailable=TableStoreUnavailableError,
        )

    def _execute(self, query: str, params: Mapping[str, Any] | None = None, *, operation: str) -> Any:
        with self._lock, self._wrapped(operation):
            if not self._read_settings_checked:
                # At the first statement: the optional read settings this server knows.
                where = f"ClickHouse table store at {self.host}"
                self._read_settings = known_settings(self._client, self._read_settings, where=where)
                self._read_settings_checked = True
            return self._client.execute(
                query, dict(params) if params else None, columnar=True, settings=self._read_settings
            )

    def _insert(self, query: str, columns: list[np.ndarray], *, operation: str) -> None:
        with self._lock, self._wrapped(operation):
            try:
                self._client.execute(query, columns, columnar=True, settings=self._insert_settings)
            except (ValueError, TypeError) as exc:
                # The driver encodes the columns by the server's column types: they no longer fit.
                raise TableStoreError(
                    f"ClickHouse table store at {self.host} ({self.database}): {operation} failed, the rows "
                    f"do not fit the stored column types (was the table altered?): {exc!r}"
                ) from exc

    def _ensure(self, spec: TableSpec) -> None:
        """Create the spec's table on first use; refuse a stored table whose columns differ from the spec."""
        if spec in self._ready:
            return
        self._execute(ch_sql.create_database(self.database), operation="create database")
        self._execute(sql.create_table(self.database, spec), operation=f"create table {spec.name}")
        result = self._execute(
            sql.table_columns(),
            {"database": self.database, "table": spec.name},
            operation=f"columns of {spec.name}",
        )
        stored = dict(zip(result[0], result[1], strict=True)) if result else {}
        expected = dict(sql.column_types(spec))
        if stored != expected:
            raise TableSchemaError(
                f"table {spec.name}: the stored table {self.database}.{spec.name} has columns {stored}, "
                f"the spec expects {expected}; migrate or drop the stored table"
            )
        self._ready.add(spec)

    # -- TableStore ---------------------------------------------------------------------------------

    def _replace_day(self, spec: TableSpec, day: dt.date, rows: pa.Table) -> None:
        """Insert into a fresh staging table, then ``REPLACE PARTITION`` the day from it (atomic).

        The staging table is dropped afterwards, also when the write fails.
        """
        self._ensure(spec)
        partition = {"partition": partition_id(day)}
        # A staging table of its own per write: concurrent writers never share one.
        staging = f"{spec.name}{STAGING_INFIX}{uuid.uuid4().hex[:16]}"
        operation = f"write {rows.num_rows} rows of {spec.name} for {day}"
        self._execute(sql.create_staging(self.database, staging, spec.name), operation=operation)
        drop_staging = sql.drop_table(self.database, staging)
        try:
            self._insert(sql.insert(self.database, staging, spec), numpy_columns(rows), operation=operation)
            self._execute(
                sql.replace_partition(self.database, spec.name, staging), partition, operation=operation
            )
            self._execute(sql.sweep_replaced_parts(self.database, spec.name), operation=operation)
        except BaseException:
            try:
                self._execute(drop_staging, operation=f"drop staging table {staging}")
            except TableStoreError as exc:  # the write's own error is the one to raise
                log.warning("%s; the staging table %s is left behind", exc, staging)
            raise
        self._execute(drop_staging, operation=f"drop staging table {staging}")

    def _read(
        self, spec: TableSpec, *, start_us: int, end_us: int, filters: Mapping[str, tuple[FilterValue, ...]]
    ) -> pa.Table:
        """Rows with ``start_us <= time_column < end_us`` that pass ``filters``, in key order."""
        self._ensure(spec)
        if any(not values for values in filters.values()):
            return spec.schema.empty_table()  # ``IN ()`` is a syntax error; nothing can match anyway
        params: dict[str, Any] = {"start_us": start_us, "end_us": end_us}
        for i, (column, values) in enumerate(filters.items()):
            is_bool = spec.schema.field(column).type == pa.bool_()
            # Bool columns are stored as UInt8 0/1 (a bool would render as the name False).
            params[f"filter_{i}"] = tuple(int(bool(v)) for v in values) if is_bool else values
        result = self._execute(
            sql.select_range(self.database, spec, list(filters)), params, operation=f"read {spec.name}"
        )
        return columns_to_table(result, spec)

    def days(self, spec: TableSpec) -> list[TablePartition]:
        """Days with rows and their row counts (from ``system.parts``), oldest first."""
        self._ensure(spec)
        result = self._execute(
            sql.partitions(),
            {"database": self.database, "table": spec.name},
            operation=f"list days of {spec.name}",
        )
        if not result:
            return []
        return [
            TablePartition(day=ch_sql.partition_day(pid), rows=int(rows))
            for pid, rows in zip(result[0], result[1], strict=True)
            if int(rows)
        ]

    def drop_partition(self, spec: TableSpec, day: dt.date) -> None:
        """Drop the day's partition (nothing happens when it does not exist)."""
        self._ensure(spec)
        self._execute(
            sql.drop_partition(self.database, spec.name),
            {"partition": partition_id(day)},
            operation=f"drop {spec.name} for {day}",
        )

    def close(self) -> None:
        """Disconnect (18.16 delays its own shutdown while client connections stay open)."""
        with self._lock:
            self._client.disconnect()

    def __repr__(self) -> str:
        return f"ClickHouseTableStore({self.host}, {self.database})"
