"""How the ClickHouse tick store reads a day once each: with ``FINAL``, or as stored when it may.

A day is read as stored (no ``FINAL``, several times faster on 18.16) only while it holds each key once:
one merged part, or covered by a seal mark (:mod:`resources.tick_store.clickhouse_parts`). Reads go one
query per (venue, symbol), numeric columns only, over the store's read connections side by side (see
:func:`resources.tick_store.clickhouse_sql.select_symbol_day` for why per pair).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import TypeVar

import numpy as np
import pyarrow as pa

from resources.clickhouse.sql import partition_id
from resources.tick_store import clickhouse_sql as sql
from resources.tick_store.clickhouse_columns import symbol_table
from resources.tick_store.clickhouse_connection import Connections
from resources.tick_store.clickhouse_parts import PartitionState, SealMark, repeats_a_trade_id
from trading_assets.core.ticks import TICK_SCHEMA

log = logging.getLogger(__name__)

Pair = tuple[str, str]
"""(venue, symbol)."""
T = TypeVar("T")


class DayReads:
    """Reads of whole (venue, symbol) days of one tick table, and the seal that needs no merge."""

    def __init__(self, db: Connections, *, database: str, table: str, marks: str) -> None:
        self.db = db
        self.database = database
        self.table = table
        self.marks = marks

    def state(self, day: dt.date, operation: str) -> PartitionState:
        """The active parts of ``day``'s partition."""
        identity = {"database": self.database, "table": self.table, "partition_id": f"{partition_id(day)}"}
        return PartitionState.from_result(
            self.db.execute(sql.partition_parts(), identity, operation=operation)
        )

    def holds_each_key_once(self, day: dt.date, state: PartitionState, operation: str) -> bool:
        """Whether ``day`` (in ``state``) may be read without ``FINAL``: one merged part, or as a seal that
        found no duplicates left it."""
        if state.merged:
            return True
        if state.parts == 0:
            return False
        mark = self.db.execute(
            sql.seal_mark(self.database, self.marks), {"partition": partition_id(day)}, operation=operation
        )
        return SealMark.from_result(mark).covers(state)

    def day_pairs(self, bounds: dict[str, int], operation: str) -> list[Pair]:
        """The (venue, symbol) pairs with ticks in ``bounds`` (one day), in export order."""
        pairs = self.db.execute(sql.day_symbols(self.database, self.table), bounds, operation=operation)
        return [(str(v), str(sym)) for v, sym in zip(*pairs, strict=True)] if pairs else []

    def select_pairs(
        self, pairs: list[Pair], bounds: dict[str, int], *, final: bool, operation: str
    ) -> list[pa.Table]:
        """One query per pair in ``bounds``, on the read connections side by side: a table per pair
        ordered by (trade_time_us, trade_id), empty ones left out; ``final``: duplicates merged at read
        time."""
        query = sql.select_symbol_day(self.database, self.table, final=final)

        def select(reader: int, pair: Pair) -> pa.Table | None:
            venue, symbol = pair
            params = {**bounds, "venue": venue, "symbol": symbol}
            numeric = self.db.execute(
                query, params, operation=f"{operation}, {venue} {symbol}", reader=reader
            )
            return symbol_table(venue, symbol, numeric, TICK_SCHEMA) if numeric and len(numeric[0]) else None

        return [table for table in self.db.map_reads(select, pairs) if table is not None]

    def read_pairs(
        self, day: dt.date, pairs: list[Pair], bounds: dict[str, int], operation: str
    ) -> list[pa.Table]:
        """Ticks of each pair in ``bounds`` (within ``day``), once each, one table per pair ordered by
        (trade_time_us, trade_id); empty ones left out.

        Without ``FINAL`` when the day holds each key once before and after the reads, else with it.
        """
        if not pairs:
            return []
        return self.once_each(
            day, operation, lambda final: self.select_pairs(pairs, bounds, final=final, operation=operation)
        )

    def once_each(self, day: dt.date, operation: str, query: Callable[[bool], T]) -> T:
        """``query(final)`` on ``day``, seeing each key once: ``final`` False while the day holds each key
        once before and after the query (:meth:`holds_each_key_once`), else True."""
        before = self.state(day, operation)
        as_stored = self.holds_each_key_once(day, before, operation)
        while True:
            result = query(not as_stored)
            if not as_stored:
                return result
            # An insert since the state was read may have added a duplicate that only FINAL removes: the
            # same highest block and rows after the query mean nothing was inserted meanwhile.
            if self.state(day, operation).same_rows_as(before):
                return result
            as_stored = False

    def seal_if_unique(self, day: dt.date, bounds: dict[str, int], operation: str) -> list[pa.Table] | None:
        """Seal ``day`` without a merge if it holds each key once; return its tables per pair (as
        :meth:`read_pairs`), or None when it must be merged.

        A day already known to hold each key once is read as such. Otherwise it is read as stored, and
        sealed as it is (a seal mark recorded) only when the read saw every key once, as many rows as the
        partition holds, and nothing was inserted meanwhile; a duplicate, or rows that changed while it was
        read, return None.
        """
        before = self.state(day, operation)
        if before.parts == 0:
            return []
        pairs = self.day_pairs(bounds, operation)
        if self.holds_each_key_once(day, before, operation):
            return self.read_pairs(day, pairs, bounds, operation)
        tables = self.select_pairs(pairs, bounds, final=False, operation=operation)
        repeated = any(repeats_a_trade_id(t.column("trade_id").to_numpy()) for t in tables)
        read = sum(t.num_rows for t in tables)
        unchanged = self.state(day, operation).same_rows_as(before)
        if repeated or read != before.rows or not unchanged:
            log.info(
                "seal %s: %s; merging the partition",
                day,
                "duplicate trades found" if repeated else "rows changed while it was read",
            )
            return None
        mark: list[np.ndarray] = [
            np.array([partition_id(day)], np.uint32),
            np.array([before.max_block], np.int64),
            np.array([before.rows], np.uint64),
        ]
        self.db.insert(sql.insert_seal_mark(self.database, self.marks), mark, operation)
        log.info("sealed %s without a merge: %d rows, each trade once", day, read)
        return tables
