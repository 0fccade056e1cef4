"""The production tick store: a ClickHouse ReplacingMergeTree table, one partition per UTC day.

Talks the native protocol through clickhouse-driver with NumPy columns both ways (about 1.3M ticks/s
inserted in 100k-row batches on 2 cores, bench/store_insert.py; Python lists manage about 240k).
Every statement comes from :mod:`resources.tick_store.clickhouse_sql`, which also documents the SQL
dialect limits (18.16).
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import threading
import time
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from typing import Any, TypeVar

import numpy as np
import pyarrow as pa
from clickhouse_driver import Client
from clickhouse_driver import errors as ch_errors

from resources.clickhouse import parse_endpoint, wrapped_errors
from resources.clickhouse import sql as ch_sql
from resources.clickhouse.sql import partition_id
from resources.clickhouse.workload import ClickHouseWorkload
from resources.tick_store import clickhouse_sql as sql
from resources.tick_store.base import PartitionInfo, StoreUnavailableError, TickStore, TradeIdGap
from resources.tick_store.clickhouse_columns import bars_table, numpy_columns, symbol_table
from trading_assets.core.bars import empty_bars_table
from trading_assets.core.ticks import TICK_SCHEMA, Side, conform
from trading_assets.core.time import US_PER_DAY, US_PER_MINUTE, day_start_us

log = logging.getLogger(__name__)

# ClickHouse refuses an OPTIMIZE while a background merge holds some of the partition's parts; that
# merge finishes within seconds, so seal retries for a while before it gives up.
_OPTIMIZE_ATTEMPTS = 30
_OPTIMIZE_RETRY_S = 0.5
_CANNOT_OPTIMIZE = ch_errors.ErrorCodes.CANNOT_ASSIGN_OPTIMIZE
_BAR_PARAMS = {"minute": US_PER_MINUTE, "buy": int(Side.BUY), "sell": int(Side.SELL)}
_T = TypeVar("_T")


class ClickHouseTickStoreError(RuntimeError):
    """A ClickHouse operation failed; the message names the server, the operation and the cause."""

    def __init__(self, message: str, *, host: str, operation: str) -> None:
        super().__init__(message)
        self.host = host
        self.operation = operation


class ClickHouseUnavailableError(ClickHouseTickStoreError, StoreUnavailableError):
    """ClickHouse cannot serve the call now (connection lost, server down or overloaded); retry later.

    The client reconnects by itself on the next call.
    """


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
    deployment sets them in ``TRADEGRAPH_CLICKHOUSE_URL``.

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
        workload: ClickHouseWorkload | None = None,
    ) -> None:
        self.database = ch_sql.identifier(database)
        self.table = ch_sql.identifier(table)
        endpoint = parse_endpoint(
            url,
            connect_timeout_s=connect_timeout_s,
            send_receive_timeout_s=send_receive_timeout_s,
            url_timeouts_win=True,
        )
        self.host = endpoint.address
        settings = dict(endpoint.settings)
        # Not a clickhouse-driver parameter (parse_url files unknown ones under settings): ours.
        insert_timeout_s = float(settings.pop("insert_timeout", insert_timeout_s))
        # Client-level use_numpy: results come back as NumPy columns (the per-query setting only
        # affects inserts).
        settings["use_numpy"] = True
        self.insert_timeout_s = insert_timeout_s
        self.workload = workload or ClickHouseWorkload()
        self._read_settings = self.workload.read_settings()
        self._insert_settings = self.workload.insert_settings()
        # Two connections, so inserts get a short timeout without cutting long statements short.
        self._client = endpoint.client(settings=settings)
        self._insert_client = endpoint.client(settings=settings, send_receive_timeout=insert_timeout_s)
        self._lock = threading.Lock()
        self._schema_ready = False
        # Statements that parts of the store issue while it is constructed (e.g. creating their own
        # tables) run with the schema at the first connection instead, so the constructor never connects.
        self._insert_sql = sql.insert(self.database, self.table)
        self._schema = [
            (ch_sql.create_database(self.database), "create database"),
            (sql.create_table(self.database, self.table), "create table"),
        ]

    # -- plumbing -------------------------------------------------------------------------------

    def _wrapped(self, operation: str) -> AbstractContextManager[None]:
        return wrapped_errors(
            f"ClickHouse at {self.host} ({self.database}.{self.table})",
            operation,
            error=functools.partial(ClickHouseTickStoreError, host=self.host, operation=operation),
            unavailable=functools.partial(ClickHouseUnavailableError, host=self.host, operation=operation),
        )

    def _execute(
        self,
        query: str,
        params: Mapping[str, Any] | None = None,
        *,
        operation: str,
        settings: Mapping[str, Any] | None = None,
    ) -> Any:
        with self._lock:
            self._ensure_schema(self._client)
            with self._wrapped(operation):
                return self._client.execute(
                    query,
                    dict(params) if params else None,
                    columnar=True,
                    settings={**self._read_settings, **(settings or {})},
                )

    def _insert(self, query: str, columns: list[np.ndarray], operation: str) -> None:
        with self._lock:
            # On the insert connection: a loader then holds one connection, not two (an idle one keeps
            # a stopping server waiting).
            self._ensure_schema(self._insert_client)
            with self._wrapped(operation):
                self._insert_client.execute(query, columns, columnar=True, settings=self._insert_settings)

    def _ensure_schema(self, client: Client) -> None:
        """Create the database and tick table on the first call that reaches the server (lock held)."""
        if self._schema_ready:
            return
        for statement, operation in self._schema:
            with self._wrapped(operation):
                client.execute(statement)
        self._schema_ready = True

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
            day_tables = self._read_pairs(stored_day, [(v, symbol) for v in venues], bounds, operation)
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

    def _read_pairs(
        self, day: dt.date, pairs: list[tuple[str, str]], bounds: dict[str, int], operation: str
    ) -> list[pa.Table]:
        """Ticks of each (venue, symbol) of ``pairs`` in ``bounds`` (within ``day``), once each, one table
        per pair ordered by (trade_time_us, trade_id); empty ones left out."""
        if not pairs:
            return []

        def read(final: bool) -> list[pa.Table]:
            query = sql.select_symbol_day(self.database, self.table, final=final)
            tables = []
            for venue, symbol in pairs:
                params = {**bounds, "venue": venue, "symbol": symbol}
                numeric = self._execute(query, params, operation=f"{operation}, {venue} {symbol}")
                if numeric and len(numeric[0]):
                    tables.append(symbol_table(venue, symbol, numeric, TICK_SCHEMA))
            return tables

        return self._once_each(day, operation, read)

    def _once_each(self, day: dt.date, operation: str, query: Callable[[bool], _T]) -> _T:
        """``query(final)`` on ``day``'s rows, seeing each key once.

        ``final`` is False when the day is one part written by a merge before and after the query (a
        sealed day: each key once; see :func:`resources.tick_store.clickhouse_sql.partition_parts`), so
        the query needs no ``FINAL``; else True (and when an insert came in between, the query runs again
        with it).
        """
        identity = {"database": self.database, "table": self.table, "partition_id": f"{partition_id(day)}"}
        before = self._execute(sql.partition_parts(), identity, operation=operation)
        merged = int(before[0][0]) == 1 and int(before[1][0]) > 0
        while True:
            result = query(not merged)
            if not merged:
                return result
            # An insert since the parts were listed may have added a duplicate that only FINAL removes:
            # the same part names after the query mean it saw exactly the one merged part.
            after = self._execute(sql.partition_parts(), identity, operation=operation)
            if str(after[2][0]) == str(before[2][0]):
                return result
            merged = False

    def minute_bars(self, *, symbol: str, start_us: int, end_us: int) -> pa.Table:
        """One-minute bars of ``symbol`` in ``[start_us, end_us)``, computed on the server (one query per
        stored day, :func:`resources.tick_store.clickhouse_sql.symbol_day_bars`): only the bars travel.

        The same bars as ``compute_bars_1m`` of :meth:`read` (sums to the last bit or so), ordered by
        (venue, minute_us).
        """
        tables = []
        for stored_day, bounds in self._stored_days(start_us, end_us):
            operation = f"bars of {symbol} on {stored_day}"
            params = {"symbol": symbol, **bounds, **_BAR_PARAMS}

            def bars(final: bool, params: dict[str, Any] = params, operation: str = operation) -> Any:
                query = sql.symbol_day_bars(self.database, self.table, final=final)
                return self._execute(query, params, operation=operation)

            columns = self._once_each(stored_day, operation, bars)
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
        for attempt in range(1, _OPTIMIZE_ATTEMPTS + 1):
            parts = self._execute(sql.partition_parts(), identity, operation=operation)
            if int(parts[0][0]) == 0:
                return 0
            try:
                # optimize_throw_if_noop: by default OPTIMIZE silently does nothing when it cannot merge,
                # which would leave duplicates behind a successful-looking seal.
                self._execute(
                    sql.optimize_partition(self.database, self.table),
                    {"partition": partition_id(day)},
                    operation=operation,
                    settings={"optimize_throw_if_noop": 1},
                )
                break
            except ClickHouseTickStoreError as exc:
                cause = exc.__cause__
                if not (isinstance(cause, ch_errors.ServerException) and cause.code == _CANNOT_OPTIMIZE):
                    raise
                if attempt == _OPTIMIZE_ATTEMPTS:
                    raise
                log.info("seal %s: partition busy (attempt %d), retrying: %s", day, attempt, cause.message)
                time.sleep(_OPTIMIZE_RETRY_S)
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
        pairs = self._execute(sql.day_symbols(self.database, self.table), bounds, operation=operation)
        tables = self._read_pairs(
            day,
            [(str(v), str(sym)) for v, sym in zip(*pairs, strict=True)] if pairs else [],
            bounds,
            operation,
        )
        return pa.concat_tables(tables) if tables else TICK_SCHEMA.empty_table()

    def drop(self, day: dt.date) -> None:
        """Drop the day's partition (nothing happens when it does not exist)."""
        self._execute(
            sql.drop_partition(self.database, self.table),
            {"partition": partition_id(day)},
            operation=f"drop {day}",
        )

    def close(self) -> None:
        """Disconnect (18.16 delays its own shutdown while client connections stay open)."""
        with self._lock:
            self._client.disconnect()
            self._insert_client.disconnect()

    def __repr__(self) -> str:
        return f"ClickHouseTickStore({self.host}, {self.database}.{self.table})"
