"""The production tick store: a ClickHouse ReplacingMergeTree table, one partition per UTC day.

Talks the native protocol through clickhouse-driver with NumPy columns both ways (about 1.3M ticks/s
inserted in 100k-row batches on 2 cores, bench/store_insert.py; Python lists manage about 240k).
Every statement comes from :mod:`resources.tick_store.clickhouse_sql`, which also documents the SQL
dialect limits (18.16).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import numpy as np
import pyarrow as pa
from clickhouse_driver import Client
from clickhouse_driver import errors as ch_errors
from clickhouse_driver.util.helpers import parse_url

from resources.tick_store import clickhouse_sql as sql
from resources.tick_store.base import PartitionInfo, StoreUnavailableError, TickStore, TradeIdGap
from resources.tick_store.clickhouse_columns import (
    columns_to_table,
    numpy_columns,
    partition_id,
    symbol_table,
)
from trading_assets.core.ticks import TICK_SCHEMA, conform
from trading_assets.core.time import US_PER_DAY, day_start_us

log = logging.getLogger(__name__)

# ClickHouse refuses an OPTIMIZE while a background merge holds some of the partition's parts; that
# merge finishes within seconds, so seal retries for a while before it gives up.
_OPTIMIZE_ATTEMPTS = 30
_OPTIMIZE_RETRY_S = 0.5
_CANNOT_OPTIMIZE = ch_errors.ErrorCodes.CANNOT_ASSIGN_OPTIMIZE
# Server errors that say "not now" rather than "never": the same call may succeed after a pause.
_TRANSIENT_CODES = frozenset(
    {
        ch_errors.ErrorCodes.TIMEOUT_EXCEEDED,
        ch_errors.ErrorCodes.TOO_MANY_SIMULTANEOUS_QUERIES,
        ch_errors.ErrorCodes.SOCKET_TIMEOUT,
        ch_errors.ErrorCodes.NETWORK_ERROR,
        ch_errors.ErrorCodes.ABORTED,
        ch_errors.ErrorCodes.MEMORY_LIMIT_EXCEEDED,
        ch_errors.ErrorCodes.TABLE_IS_READ_ONLY,
        ch_errors.ErrorCodes.TOO_MANY_PARTS,
    }
)


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
    tick table lives in ``database``.``table``, created when missing. The connection opens in the
    constructor, so a wrong URL fails at start. One store may be shared by threads: calls are serialised.
    """

    def __init__(
        self,
        url: str,
        *,
        database: str = "tradegraph",
        table: str = "ticks",
        connect_timeout_s: float = 10.0,
        send_receive_timeout_s: float = 300.0,
    ) -> None:
        self.database = sql.identifier(database)
        self.table = sql.identifier(table)
        host, kwargs = parse_url(url)
        self.host = f"{host}:{kwargs.get('port', 9000)}"
        settings = dict(kwargs.pop("settings", None) or {})
        # Client-level use_numpy: results come back as NumPy columns (the per-query setting only
        # affects inserts).
        settings["use_numpy"] = True
        kwargs["connect_timeout"] = connect_timeout_s
        kwargs["send_receive_timeout"] = send_receive_timeout_s
        kwargs["sync_request_timeout"] = min(connect_timeout_s, 5.0)
        self._client = Client(host, settings=settings, **kwargs)
        self._lock = threading.Lock()
        self._insert_sql = sql.insert(self.database, self.table)
        self._execute(sql.create_database(self.database), operation="create database")
        self._execute(sql.create_table(self.database, self.table), operation="create table")

    # -- plumbing -------------------------------------------------------------------------------

    @contextmanager
    def _wrapped(self, operation: str) -> Iterator[None]:
        where = f"ClickHouse at {self.host} ({self.database}.{self.table})"
        try:
            yield
        except ch_errors.ServerException as exc:
            error = ClickHouseUnavailableError if exc.code in _TRANSIENT_CODES else ClickHouseTickStoreError
            # 18.16 appends a server stack trace to the message; what went wrong comes before it.
            reason = (exc.message or str(exc)).split("Stack trace:")[0].strip()
            raise error(
                f"{where}: {operation} failed (code {exc.code}): {reason}",
                host=self.host,
                operation=operation,
            ) from exc
        except (ch_errors.NetworkError, ch_errors.SocketTimeoutError, OSError, EOFError) as exc:
            raise ClickHouseUnavailableError(
                f"{where}: {operation} failed, server unreachable: {exc}",
                host=self.host,
                operation=operation,
            ) from exc
        except ch_errors.Error as exc:
            raise ClickHouseTickStoreError(
                f"{where}: {operation} failed: {exc}", host=self.host, operation=operation
            ) from exc

    def _execute(
        self,
        query: str,
        params: Mapping[str, Any] | None = None,
        *,
        operation: str,
        settings: Mapping[str, Any] | None = None,
    ) -> Any:
        with self._lock, self._wrapped(operation):
            return self._client.execute(
                query, dict(params) if params else None, columnar=True, settings=dict(settings or {})
            )

    def _insert(self, query: str, columns: list[np.ndarray], operation: str) -> None:
        with self._lock, self._wrapped(operation):
            self._client.execute(query, columns, columnar=True)

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
            PartitionInfo(day=dt.datetime.strptime(str(pid), "%Y%m%d").date(), rows=int(n))
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
        """Ticks of ``symbol`` in ``[start_us, end_us)``, once each, ordered by trade time."""
        start_us, end_us = int(start_us), int(end_us)
        params: dict[str, Any] = {"symbol": symbol}
        if venue is not None:
            params["venue"] = venue
        query = sql.select_range(self.database, self.table, with_venue=venue is not None)
        # One query per stored day (see clickhouse_sql.select_range); days follow each other in time,
        # so the concatenation stays ordered.
        tables = []
        for partition in self.partitions():
            day = _day_range(partition.day)
            if day["start_us"] >= end_us or day["end_us"] <= start_us:
                continue
            params["start_us"] = max(start_us, day["start_us"])
            params["end_us"] = min(end_us, day["end_us"])
            result = self._execute(query, params, operation=f"read {symbol} on {partition.day}")
            if result:
                tables.append(columns_to_table(result, TICK_SCHEMA))
        return pa.concat_tables(tables) if tables else TICK_SCHEMA.empty_table()

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
        query = sql.select_symbol_day(self.database, self.table)
        tables = []
        for venue, symbol in zip(*pairs, strict=True) if pairs else ():
            params = {**bounds, "venue": str(venue), "symbol": str(symbol)}
            numeric = self._execute(query, params, operation=f"{operation}, {venue} {symbol}")
            if numeric and len(numeric[0]):
                tables.append(symbol_table(str(venue), str(symbol), numeric, TICK_SCHEMA))
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

    def __repr__(self) -> str:
        return f"ClickHouseTickStore({self.host}, {self.database}.{self.table})"
