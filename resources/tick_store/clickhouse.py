"""The production tick store: a ClickHouse ReplacingMergeTree table, one partition per UTC day.

Talks the native protocol through clickhouse-driver with NumPy columns both ways (about 1.3M ticks/s
inserted in 100k-row batches on 2 cores, bench/store_insert.py; Python lists manage about 240k).
Every statement comes from :mod:`resources.tick_store.clickhouse_sql`, which also documents the SQL
dialect limits (18.16).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from typing import Any

import numpy as np
import pyarrow as pa
from clickhouse_driver import errors as ch_errors
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_fixed

from resources.clickhouse import sql as ch_sql
from resources.clickhouse.sql import partition_id
from resources.clickhouse.workload import ClickHouseWorkload
from resources.tick_store import clickhouse_sql as sql
from resources.tick_store.base import PartitionInfo, TickStore, TradeIdGap
from resources.tick_store.clickhouse_buffer import InsertBuffer
from resources.tick_store.clickhouse_columns import bars_table, numpy_columns
from resources.tick_store.clickhouse_connection import (
    ClickHouseTickStoreError,
    ClickHouseUnavailableError,
    Connections,
)
from resources.tick_store.clickhouse_days import DayReads
from trading_assets.core.bars import empty_bars_table
from trading_assets.core.ticks import TICK_SCHEMA, Side, conform
from trading_assets.core.time import US_PER_DAY, US_PER_MINUTE, day_start_us

__all__ = ["ClickHouseTickStore", "ClickHouseTickStoreError", "ClickHouseUnavailableError"]

log = logging.getLogger(__name__)

# ClickHouse refuses an OPTIMIZE while a background merge holds some of the partition's parts; that
# merge finishes within seconds, so seal retries for a while before it gives up.
_OPTIMIZE_ATTEMPTS = 30
_OPTIMIZE_RETRY_S = 0.5
_CANNOT_OPTIMIZE = ch_errors.ErrorCodes.CANNOT_ASSIGN_OPTIMIZE


def _partition_busy(exc: BaseException) -> bool:
    """Whether a seal failed only because ClickHouse could not start the merge yet (a merge running)."""
    cause = exc.__cause__
    return (
        isinstance(exc, ClickHouseTickStoreError)
        and isinstance(cause, ch_errors.ServerException)
        and cause.code == _CANNOT_OPTIMIZE
    )


_BAR_PARAMS = {"minute": US_PER_MINUTE, "buy": int(Side.BUY), "sell": int(Side.SELL)}


def _day_range(day: dt.date) -> dict[str, int]:
    start = day_start_us(day)
    return {"start_us": start, "end_us": start + US_PER_DAY}


class ClickHouseTickStore(TickStore):
    """Tick store on a ClickHouse server (18.16 or newer) reached by its native TCP protocol.

    ``url`` is a clickhouse-driver URL (``clickhouse://user:password@host:9000/default``); the store's
    tick table lives in ``database``.``table``, created when missing. Nothing connects in the
    constructor: the first call connects and creates the tables, so a service started while ClickHouse is
    down gets :class:`ClickHouseUnavailableError` from its calls and retries them, and every later call
    reconnects by itself after a loss. One store may be shared by threads: calls are serialised.

    Waits are bounded: ``connect_timeout_s`` to connect, ``insert_timeout_s`` for each send or receive of
    an insert (a hung server, e.g. SIGSTOPped, fails the insert with :class:`ClickHouseUnavailableError`
    after that long, instead of blocking the loader), ``send_receive_timeout_s`` for other statements
    (a seal's ``OPTIMIZE`` or a day's export may run long without sending anything). The URL's
    ``connect_timeout``, ``send_receive_timeout`` and ``insert_timeout`` parameters override them, so a
    deployment sets them in ``TRADEGRAPH_CLICKHOUSE_URL``. ``read_connections``: how many connections read
    a day's (venue, symbol) pairs side by side in an export or a seal (see
    :class:`resources.tick_store.clickhouse_connection.Connections`).

    ``workload`` puts the inserts ahead of everything else the store runs (ClickHouse's ``priority`` and
    ``max_threads`` per query, :class:`~resources.clickhouse.workload.ClickHouseWorkload`), so that reads,
    exports and seals in other processes slow the loader's inserts less.
    """

    def __init__(
        self,
        url: str,
        *,
        database: str = "tradegraph",
        table: str = "ticks",
        connect_timeout_s: float = 10.0,
        send_receive_timeout_s: float = 300.0,
        insert_timeout_s: float = 30.0,
        read_connections: int = 2,
        workload: ClickHouseWorkload | None = None,
    ) -> None:
        self.database = ch_sql.identifier(database)
        self.table = ch_sql.identifier(table)
        self._insert_sql = sql.insert(self.database, self.table)
        self._marks = ch_sql.identifier(f"{self.table}_seal_marks")
        self.workload = workload or ClickHouseWorkload()
        self._db = Connections(
            url,
            where=f"{self.database}.{self.table}",
            schema=[
                (ch_sql.create_database(self.database), "create database"),
                (sql.create_table(self.database, self.table), "create table"),
                (sql.create_seal_marks(self.database, self._marks), "create seal marks table"),
            ],
            connect_timeout_s=connect_timeout_s,
            send_receive_timeout_s=send_receive_timeout_s,
            insert_timeout_s=insert_timeout_s,
            read_connections=read_connections,
            workload=self.workload,
        )
        self.host = self._db.host
        self.insert_timeout_s = self._db.insert_timeout_s
        self._days = DayReads(self._db, database=self.database, table=self.table, marks=self._marks)
        self._buffer = InsertBuffer(self._db, database=self.database, table=self.table)

    def _execute(
        self,
        query: str,
        params: Mapping[str, Any] | None = None,
        *,
        operation: str,
        settings: Mapping[str, Any] | None = None,
    ) -> Any:
        return self._db.execute(query, params, operation=operation, settings=settings)

    def _insert(self, query: str, columns: list[np.ndarray], operation: str) -> None:
        self._db.insert(query, columns, operation)

    # -- TickStore ------------------------------------------------------------------------------

    def insert(self, ticks: pa.Table) -> int:
        """Insert a tick table; when this returns the server has written and acknowledged the rows.

        (ClickHouse writes each part before it acknowledges; 18.16 does not fsync parts.)
        """
        table = conform(ticks)
        if table.num_rows == 0:
            return 0
        self._insert(self._insert_sql, numpy_columns(table, sql.COLUMNS), f"insert of {table.num_rows} rows")
        return table.num_rows

    def insert_buffered(self, ticks: pa.Table) -> int:
        """Insert a tick table into the insert buffer (``<table>_buffer``, :mod:`~resources.tick_store.
        clickhouse_buffer`): queryable there when this returns, durable after the next :meth:`sync`."""
        table = conform(ticks)
        if table.num_rows == 0:
            return 0
        self._buffer.insert(numpy_columns(table, sql.COLUMNS), table.num_rows)
        return table.num_rows

    def sync(self) -> None:
        """Flush the insert buffer into the tick table; ``StoreRowsLostError`` if the server restarted since
        the last sync."""
        self._buffer.sync()

    @property
    def buffer_table(self) -> str:
        """``database.table`` of the insert buffer, which answers queries with the buffered rows too."""
        return self._buffer.table

    def partitions(self) -> list[PartitionInfo]:
        """Day partitions with their active row counts (from ``system.parts``), oldest first."""
        result = self._execute(
            sql.partitions(),
            {"database": self.database, "table": self.table},
            operation="list partitions",
        )
        if not result:
            return []
        ids, rows = result[0], result[1]
        return [
            PartitionInfo(day=ch_sql.partition_day(pid), rows=int(n))
            for pid, n in zip(ids, rows, strict=True)
        ]

    def read(
        self,
        *,
        symbol: str,
        start_us: int,
        end_us: int,
        venue: str | None = None,
    ) -> pa.Table:
        """Ticks of ``symbol`` in ``[start_us, end_us)``, once each, ordered by trade time.

        One query per stored day and venue, numeric columns only (see
        :func:`resources.tick_store.clickhouse_sql.select_symbol_day`); days follow each other in time, so
        the concatenation stays ordered.
        """
        tables = []
        for stored_day, bounds in self._stored_days(start_us, end_us):
            operation = f"read {symbol} on {stored_day}"
            if venue is not None:
                venues = [venue]
            else:
                found = self._execute(
                    sql.symbol_venues(self.database, self.table),
                    {"symbol": symbol, **bounds},
                    operation=operation,
                )
                venues = [str(v) for v in found[0]] if found else []
            day_tables = self._days.read_pairs(stored_day, [(v, symbol) for v in venues], bounds, operation)
            if len(day_tables) > 1:
                tables.append(
                    pa.concat_tables(day_tables).sort_by(
                        [("trade_time_us", "ascending"), ("venue", "ascending"), ("trade_id", "ascending")]
                    )
                )
            else:
                tables.extend(day_tables)
        return pa.concat_tables(tables) if tables else TICK_SCHEMA.empty_table()

    def _stored_days(self, start_us: int, end_us: int) -> list[tuple[dt.date, dict[str, int]]]:
        """The stored days that ``[start_us, end_us)`` overlaps, oldest first, each with the part of the
        range within it (``start_us`` and ``end_us``)."""
        start_us, end_us = int(start_us), int(end_us)
        days = []
        for partition in self.partitions():
            day = _day_range(partition.day)
            if day["start_us"] < end_us and day["end_us"] > start_us:
                bounds = {"start_us": max(start_us, day["start_us"]), "end_us": min(end_us, day["end_us"])}
                days.append((partition.day, bounds))
        return days

    def minute_bars(self, *, symbol: str, start_us: int, end_us: int) -> pa.Table:
        """One-minute bars of ``symbol`` in ``[start_us, end_us)``, computed on the server (one query per
        stored day, :func:`resources.tick_store.clickhouse_sql.symbol_day_bars`): only the bars travel.

        The same bars as ``compute_bars_1m`` of :meth:`read` (sums to the last bit or so), ordered by
        (venue, minute_us). ``FINAL`` only when the day may hold a key twice (as :meth:`read`).
        """
        tables = []
        for stored_day, bounds in self._stored_days(start_us, end_us):
            operation = f"bars of {symbol} on {stored_day}"
            params = {"symbol": symbol, **bounds, **_BAR_PARAMS}

            def bars(final: bool, params: dict[str, Any] = params, operation: str = operation) -> Any:
                query = sql.symbol_day_bars(self.database, self.table, final=final)
                return self._execute(query, params, operation=operation)

            columns = self._days.once_each(stored_day, operation, bars)
            if columns and len(columns[0]):
                tables.append(bars_table(symbol, columns))
        if not tables:
            return empty_bars_table()
        return pa.concat_tables(tables).sort_by([("venue", "ascending"), ("minute_us", "ascending")])

    def trade_id_gaps(self, day: dt.date) -> list[TradeIdGap]:
        """Runs of missing trade ids per (venue, symbol) within ``day``; content keys are ignored."""
        result = self._execute(
            sql.trade_id_gaps(self.database, self.table), _day_range(day), operation=f"gaps of {day}"
        )
        if not result:
            return []
        venues, symbols, prev_ids, next_ids = result
        return [
            TradeIdGap(venue=str(v), symbol=str(s), first_missing=int(p) + 1, last_missing=int(n) - 1)
            for v, s, p, n in zip(venues, symbols, prev_ids, next_ids, strict=True)
        ]

    def seal(self, day: dt.date) -> int:
        """Merge the day's partition into one deduplicated part; return its row count."""
        operation = f"seal {day}"
        identity = {"database": self.database, "table": self.table, "partition_id": f"{partition_id(day)}"}
        # Another merge of the partition running (ClickHouse refuses with CANNOT_ASSIGN_OPTIMIZE) is
        # waited out; every other error is raised at once.
        retrying = Retrying(
            retry=retry_if_exception(_partition_busy),
            stop=stop_after_attempt(_OPTIMIZE_ATTEMPTS),
            wait=wait_fixed(_OPTIMIZE_RETRY_S),
            before_sleep=lambda state: log.info(
                "seal %s: partition busy (attempt %d), retrying: %s",
                day,
                state.attempt_number,
                state.outcome.exception() if state.outcome is not None else None,
            ),
            reraise=True,
        )
        for attempt in retrying:
            with attempt:
                parts = self._execute(sql.partition_parts(), identity, operation=operation)
                if int(parts[0][0]) == 0:
                    return 0
                # optimize_throw_if_noop: by default OPTIMIZE silently does nothing when it cannot merge,
                # which would leave duplicates behind a successful-looking seal.
                self._execute(
                    sql.optimize_partition(self.database, self.table),
                    {"partition": partition_id(day)},
                    operation=operation,
                    settings={"optimize_throw_if_noop": 1},
                )
        counted = self._execute(
            sql.count_range(self.database, self.table), _day_range(day), operation=operation
        )
        return int(counted[0][0])

    def export(self, day: dt.date) -> pa.Table:
        """The day's ticks, once each, ordered by (venue, symbol, trade_time_us, trade_id).

        One query per (venue, symbol) of the day, numeric columns only, sorted here: see
        :func:`resources.tick_store.clickhouse_sql.select_symbol_day` for why.
        """
        operation = f"export {day}"
        bounds = _day_range(day)
        tables = self._days.read_pairs(day, self._days.day_pairs(bounds, operation), bounds, operation)
        return pa.concat_tables(tables) if tables else TICK_SCHEMA.empty_table()

    def seal_and_export(self, day: dt.date) -> pa.Table:
        """Seal ``day`` and return its ticks, merging the partition only when it holds duplicates.

        A day not yet known to hold each key once is read once as stored
        (:meth:`resources.tick_store.clickhouse_days.DayReads.seal_if_unique`): when every key occurs once,
        a seal mark lets later reads skip ``FINAL`` too and no ``OPTIMIZE`` rewrites the partition. Else
        :meth:`seal` merges it and :meth:`export` reads it.
        """
        sealed = self._days.seal_if_unique(day, _day_range(day), f"seal {day}")
        if sealed is not None:
            return pa.concat_tables(sealed) if sealed else TICK_SCHEMA.empty_table()
        self.seal(day)
        return self.export(day)

    def drop(self, day: dt.date) -> None:
        """Drop the day's partition and its seal marks (nothing happens when they do not exist).

        The marks go first: a mark must never outlive its day's parts (block numbers of a restarted
        server start from the highest of the parts it finds, so a later insert could reuse a mark's).
        """
        self._execute(
            sql.drop_partition(self.database, self._marks),
            {"partition": partition_id(day)},
            operation=f"drop {day}'s seal marks",
        )
        self._execute(
            sql.drop_partition(self.database, self.table),
            {"partition": partition_id(day)},
            operation=f"drop {day}",
        )

    def close(self) -> None:
        """Disconnect (18.16 delays its own shutdown while client connections stay open)."""
        self._db.close()

    def __repr__(self) -> str:
        return f"ClickHouseTickStore({self.host}, {self.database}.{self.table})"
