"""The production tick store: a ClickHouse ReplacingMergeTree table, one partition per UTC day.

Talks the native protocol through clickhouse-driver with NumPy columns both ways (about 1.3M ticks/s
inserted in 100k-row batches on 2 cores, bench/store_insert.py; Python lists manage about 240k).
Every statement comes from :mod:`resources.tick_store.clickhouse_sql`, which also documents the SQL
dialect limits (18.16).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Mapping
from typing import Any

import numpy as np
import pyarrow as pa
from clickhouse_driver import errors as ch_errors

from resources.clickhouse import sql as ch_sql
from resources.clickhouse.sql import partition_id
from resources.tick_store import clickhouse_sql as sql
from resources.tick_store.base import PartitionInfo, TickStore, TradeIdGap
from resources.tick_store.clickhouse_columns import numpy_columns, symbol_table
from resources.tick_store.clickhouse_connection import (
    ClickHouseTickStoreError,
    ClickHouseUnavailableError,
    Connections,
)
from resources.tick_store.clickhouse_parts import PartitionState, SealMark, repeats_a_trade_id
from trading_assets.core.ticks import TICK_SCHEMA, conform
from trading_assets.core.time import US_PER_DAY, day_start_us

__all__ = ["ClickHouseTickStore", "ClickHouseTickStoreError", "ClickHouseUnavailableError"]

log = logging.getLogger(__name__)

# ClickHouse refuses an OPTIMIZE while a background merge holds some of the partition's parts; that
# merge finishes within seconds, so seal retries for a while before it gives up.
_OPTIMIZE_ATTEMPTS = 30
_OPTIMIZE_RETRY_S = 0.5
_CANNOT_OPTIMIZE = ch_errors.ErrorCodes.CANNOT_ASSIGN_OPTIMIZE


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
    ) -> None:
        self.database = ch_sql.identifier(database)
        self.table = ch_sql.identifier(table)
        self._insert_sql = sql.insert(self.database, self.table)
        self._marks = ch_sql.identifier(f"{self.table}_seal_marks")
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
        )
        self.host = self._db.host
        self.insert_timeout_s = self._db.insert_timeout_s

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
        start_us, end_us = int(start_us), int(end_us)
        tables = []
        for partition in self.partitions():
            day = _day_range(partition.day)
            if day["start_us"] >= end_us or day["end_us"] <= start_us:
                continue
            bounds = {"start_us": max(start_us, day["start_us"]), "end_us": min(end_us, day["end_us"])}
            operation = f"read {symbol} on {partition.day}"
            if venue is not None:
                venues = [venue]
            else:
                found = self._execute(
                    sql.symbol_venues(self.database, self.table),
                    {"symbol": symbol, **bounds},
                    operation=operation,
                )
                venues = [str(v) for v in found[0]] if found else []
            day_tables = self._read_pairs(partition.day, [(v, symbol) for v in venues], bounds, operation)
            if len(day_tables) > 1:
                tables.append(
                    pa.concat_tables(day_tables).sort_by(
                        [("trade_time_us", "ascending"), ("venue", "ascending"), ("trade_id", "ascending")]
                    )
                )
            else:
                tables.extend(day_tables)
        return pa.concat_tables(tables) if tables else TICK_SCHEMA.empty_table()

    def _state(self, day: dt.date, operation: str) -> PartitionState:
        """The active parts of ``day``'s partition."""
        identity = {"database": self.database, "table": self.table, "partition_id": f"{partition_id(day)}"}
        return PartitionState.from_result(self._execute(sql.partition_parts(), identity, operation=operation))

    def _holds_each_key_once(self, day: dt.date, state: PartitionState, operation: str) -> bool:
        """Whether ``day`` (in ``state``) may be read without ``FINAL``: one merged part, or as a seal that
        found no duplicates left it (see :mod:`resources.tick_store.clickhouse_parts`)."""
        if state.merged:
            return True
        if state.parts == 0:
            return False
        mark = self._execute(
            sql.seal_mark(self.database, self._marks), {"partition": partition_id(day)}, operation=operation
        )
        return SealMark.from_result(mark).covers(state)

    def _select_pairs(
        self, pairs: list[tuple[str, str]], bounds: dict[str, int], *, final: bool, operation: str
    ) -> list[pa.Table]:
        """One query per (venue, symbol) of ``pairs`` in ``bounds``, on the read connections side by side:
        a table per pair ordered by (trade_time_us, trade_id), empty ones left out; ``final``: duplicates
        merged at read time."""
        query = sql.select_symbol_day(self.database, self.table, final=final)

        def select(reader: int, pair: tuple[str, str]) -> pa.Table | None:
            venue, symbol = pair
            params = {**bounds, "venue": venue, "symbol": symbol}
            numeric = self._db.execute(
                query, params, operation=f"{operation}, {venue} {symbol}", reader=reader
            )
            return symbol_table(venue, symbol, numeric, TICK_SCHEMA) if numeric and len(numeric[0]) else None

        return [table for table in self._db.map_reads(select, pairs) if table is not None]

    def _read_pairs(
        self, day: dt.date, pairs: list[tuple[str, str]], bounds: dict[str, int], operation: str
    ) -> list[pa.Table]:
        """Ticks of each (venue, symbol) of ``pairs`` in ``bounds`` (within ``day``), once each, one table
        per pair ordered by (trade_time_us, trade_id); empty ones left out.

        Without ``FINAL`` when the day holds each key once before and after the reads (one merged part,
        or sealed without duplicates and not inserted into since), else with it.
        """
        if not pairs:
            return []
        before = self._state(day, operation)
        as_stored = self._holds_each_key_once(day, before, operation)
        while True:
            tables = self._select_pairs(pairs, bounds, final=not as_stored, operation=operation)
            if not as_stored:
                return tables
            # An insert since the state was read may have added a duplicate that only FINAL removes: the
            # same highest block and rows after the reads mean nothing was inserted meanwhile.
            if self._state(day, operation).same_rows_as(before):
                return tables
            as_stored = False

    def _day_pairs(self, bounds: dict[str, int], operation: str) -> list[tuple[str, str]]:
        """The (venue, symbol) pairs with ticks in ``bounds`` (one day), in export order."""
        pairs = self._execute(sql.day_symbols(self.database, self.table), bounds, operation=operation)
        return [(str(v), str(sym)) for v, sym in zip(*pairs, strict=True)] if pairs else []

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
        tables = self._read_pairs(day, self._day_pairs(bounds, operation), bounds, operation)
        return pa.concat_tables(tables) if tables else TICK_SCHEMA.empty_table()

    def seal_and_export(self, day: dt.date) -> pa.Table:
        """Seal ``day`` and return its ticks, merging the partition only when it holds duplicates.

        A day not yet known to hold each key once is read as stored (no ``FINAL``, one query per (venue,
        symbol)); when the read saw every key once, as many rows as the partition holds, and nothing was
        inserted meanwhile, the day is sealed as it is: a seal mark lets later reads skip ``FINAL`` too
        (:mod:`resources.tick_store.clickhouse_parts`), and no ``OPTIMIZE`` rewrites the partition. Else
        :meth:`seal` merges it and :meth:`export` reads it.
        """
        operation = f"seal {day}"
        before = self._state(day, operation)
        if before.parts == 0:
            return TICK_SCHEMA.empty_table()
        if not self._holds_each_key_once(day, before, operation):
            bounds = _day_range(day)
            tables = self._select_pairs(
                self._day_pairs(bounds, operation), bounds, final=False, operation=operation
            )
            repeated = any(repeats_a_trade_id(t.column("trade_id").to_numpy()) for t in tables)
            read = sum(t.num_rows for t in tables)
            unchanged = self._state(day, operation).same_rows_as(before)
            if not repeated and read == before.rows and unchanged:
                mark: list[np.ndarray] = [
                    np.array([partition_id(day)], np.uint32),
                    np.array([before.max_block], np.int64),
                    np.array([before.rows], np.uint64),
                ]
                self._insert(sql.insert_seal_mark(self.database, self._marks), mark, operation)
                log.info("sealed %s without a merge: %d rows, each trade once", day, read)
                return pa.concat_tables(tables) if tables else TICK_SCHEMA.empty_table()
            log.info(
                "seal %s: %s; merging the partition",
                day,
                "duplicate trades found" if repeated else "rows changed while it was read",
            )
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
