"""The embedded tick store: Parquet segment files per UTC day, queried with DuckDB; no server.

Why files and not a DuckDB database: a DuckDB file admits one writer process, while the loader writes
and Dagster runs and services read at the same time. The layout is in
:mod:`resources.tick_store.segments`; the rules that make concurrent use safe:

- Files appear atomically and are never changed; inserts only add files and take no lock.
- Only ``seal`` and ``drop`` delete files, holding the day's *seal* lock (one sealer/dropper at a time).
  They publish their result and delete the files it replaces while holding the *swap* lock exclusively;
  readers list a day's files under the swap lock shared, so no listing shows half a swap.
- A reader whose listed file vanishes before DuckDB opens it (a concurrent seal or drop) lists again
  and retries. Readers hold a lock only while listing a directory, never while querying.
- Duplicates are removed at read time (unless the day is one sealed file), so reads never return a
  trade twice, before or after sealing.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from resources.tick_store.base import PartitionInfo, TickStore, TradeIdGap
from resources.tick_store.segments import SegmentFile, SegmentFolder, fsync
from trading_assets.core.ticks import TICK_COLUMNS, TICK_SCHEMA, conform
from trading_assets.core.time import US_PER_DAY, day_from_number, day_start_us

log = logging.getLogger(__name__)

_COLUMNS = ", ".join(TICK_COLUMNS)
# Every duplicate of a trade has the same key and day; which copy survives does not matter (they are
# equal). The day is part of the key because seal, like ClickHouse's merges, works within one day.
_DEDUPE = (
    f"QUALIFY row_number() OVER (PARTITION BY venue, symbol, trade_id, trade_time_us // {US_PER_DAY}) = 1"
)
# Hive partitioning off: the day=... directories must not turn into an extra column.
_SOURCE = "read_parquet($files, hive_partitioning = false)"
_DICTIONARY_COLUMNS = ["venue", "symbol"]


class EmbeddedTickStoreError(RuntimeError):
    """A query kept failing (files kept vanishing, or an I/O error); the message names the root."""


def _day_start_us(day: dt.date) -> int:
    return day_start_us(day)


def _date(day_number: int) -> dt.date:
    return day_from_number(day_number)


class EmbeddedTickStore(TickStore):
    """Tick store in a folder of Parquet files; safe for one writer and many reader processes.

    ``segment_compression`` trades insert speed for size (lz4: about 5M ticks/s per insert here);
    sealed days are rewritten sorted with ``sealed_compression``. ``read_attempts`` bounds how often
    a read lists again and retries when concurrent seals delete the files it listed.
    """

    def __init__(
        self,
        root: Path,
        *,
        segment_compression: str = "lz4",
        sealed_compression: str = "zstd",
        read_attempts: int = 50,
    ) -> None:
        self.root = Path(root)
        self.folder = SegmentFolder(self.root)
        self.segment_compression = segment_compression
        self.sealed_compression = sealed_compression
        self.read_attempts = read_attempts
        # In-memory: DuckDB only queries the Parquet files; each query runs on its own cursor, so
        # threads may share the store.
        self._db = duckdb.connect(":memory:")

    def _write_segment(self, day: dt.date, table: pa.Table) -> None:
        def write(path: Path) -> int:
            pq.write_table(
                table, path, compression=self.segment_compression, use_dictionary=_DICTIONARY_COLUMNS
            )
            return table.num_rows

        self.folder.add_segment(day, write)

    # -- queries ------------------------------------------------------------------------------------

    def _query(
        self,
        days: list[dt.date],
        build: Callable[[bool], str],
        params: dict[str, Any],
        operation: str,
    ) -> pa.Table | None:
        """Run ``build(dedupe)`` over the days' files; None when there are no files."""
        for attempt in range(1, self.read_attempts + 1):
            files: list[SegmentFile] = []
            dedupe = False
            for day in days:
                listed = self.folder.list(day)
                # One sealed file holds each trade once; anything else may hold duplicates.
                dedupe = dedupe or len(listed) > 1 or any(not f.sealed for f in listed)
                files.extend(listed)
            if not files:
                return None
            cursor = self._db.cursor()
            try:
                query_params = {**params, "files": [str(f.path) for f in files]}
                return cursor.sql(build(dedupe), params=query_params).to_arrow_table()
            except duckdb.IOException as exc:
                if attempt == self.read_attempts:
                    raise EmbeddedTickStoreError(
                        f"tick store {self.root}: {operation} failed after {attempt} attempts: {exc}"
                    ) from exc
                # Most likely a seal or drop deleted a listed file: list again.
                log.debug("%s: retrying after %s", operation, exc)
                time.sleep(min(0.001 * attempt, 0.05))
            finally:
                cursor.close()
        raise AssertionError("unreachable")

    def _days_between(self, start_us: int, end_us: int) -> list[dt.date]:
        return [
            day
            for day in self.folder.days()
            if _day_start_us(day) < end_us and _day_start_us(day) + US_PER_DAY > start_us
        ]

    # -- TickStore ----------------------------------------------------------------------------------

    def insert(self, ticks: pa.Table) -> int:
        """Write one segment per UTC day touched; durable (fsynced) on return.

        A crash part-way through a multi-day batch leaves some days written: inserting the batch
        again is harmless, as duplicates are removed by key.
        """
        table = conform(ticks)
        if table.num_rows == 0:
            return 0
        times = table.column("trade_time_us")
        bounds = pc.min_max(times)
        first, last = bounds["min"].as_py() // US_PER_DAY, bounds["max"].as_py() // US_PER_DAY
        if first == last:  # the usual case: a batch from one day, written as is
            self._write_segment(_date(first), table)
            return table.num_rows
        day_numbers = times.to_numpy() // US_PER_DAY
        for day_number in np.unique(day_numbers):
            self._write_segment(_date(day_number), table.filter(pa.array(day_numbers == day_number)))
        return table.num_rows

    def partitions(self) -> list[PartitionInfo]:
        """Days with files and their stored rows (duplicates included until sealed), oldest first."""
        infos = []
        for day in self.folder.days():
            files = self.folder.list(day)
            if files:
                infos.append(PartitionInfo(day=day, rows=sum(f.rows for f in files)))
        return infos

    def read(
        self,
        *,
        symbol: str,
        start_us: int,
        end_us: int,
        venue: str | None = None,
    ) -> pa.Table:
        """Ticks of ``symbol`` in ``[start_us, end_us)``, once each, ordered by trade time."""
        params: dict[str, Any] = {"symbol": symbol, "start_us": int(start_us), "end_us": int(end_us)}
        venue_filter = ""
        if venue is not None:
            params["venue"] = venue
            venue_filter = " AND venue = $venue"

        def build(dedupe: bool) -> str:
            return (
                f"SELECT {_COLUMNS} FROM {_SOURCE}"
                " WHERE symbol = $symbol AND trade_time_us >= $start_us AND trade_time_us < $end_us"
                f"{venue_filter} {_DEDUPE if dedupe else ''} ORDER BY trade_time_us, venue, trade_id"
            )

        days = self._days_between(int(start_us), int(end_us))
        result = self._query(days, build, params, f"read {symbol}")
        return TICK_SCHEMA.empty_table() if result is None else conform(result)

    def trade_id_gaps(self, day: dt.date) -> list[TradeIdGap]:
        """Runs of missing trade ids per (venue, symbol) within ``day``; content keys are ignored."""

        def build(dedupe: bool) -> str:
            return (
                "SELECT venue, symbol, prev_id + 1 AS first_missing, trade_id - 1 AS last_missing FROM ("
                " SELECT venue, symbol, trade_id,"
                " lag(trade_id) OVER (PARTITION BY venue, symbol ORDER BY trade_id) AS prev_id FROM ("
                f"  SELECT DISTINCT venue, symbol, trade_id FROM {_SOURCE}"
                "   WHERE trade_id >= 0 AND trade_time_us >= $start_us AND trade_time_us < $end_us))"
                " WHERE trade_id - prev_id > 1 ORDER BY venue, symbol, first_missing"
            )

        start = _day_start_us(day)
        params = {"start_us": start, "end_us": start + US_PER_DAY}
        result = self._query([day], build, params, f"gaps of {day}")
        if result is None:
            return []
        return [TradeIdGap(**row) for row in result.to_pylist()]

    def seal(self, day: dt.date) -> int:
        """Rewrite the day as one deduplicated, sorted, zstd file; return the rows the day then holds."""
        directory = self.folder.day_dir(day)
        with self.folder.lock(day, "seal"):
            files = self.folder.list(day)
            if not files:
                return 0
            if len(files) == 1 and files[0].sealed:
                return files[0].rows
            # No retry needed here: only sealers and droppers delete files, and we hold their lock.
            query = (
                f"SELECT {_COLUMNS} FROM {_SOURCE} {_DEDUPE} ORDER BY venue, symbol, trade_time_us, trade_id"
            )

            def write(path: Path) -> int:
                cursor = self._db.cursor()
                try:
                    relation = cursor.sql(query, params={"files": [str(f.path) for f in files]})
                    relation.write_parquet(str(path), compression=self.sealed_compression)
                finally:
                    cursor.close()
                return pq.read_metadata(path).num_rows

            temp, final = self.folder.stage(directory, "sealed", write)
            try:
                with self.folder.lock(day, "swap"):
                    # Publish and delete under the swap lock: a reader lists the old files or the new.
                    os.replace(temp, final)
                    for file in files:
                        file.path.unlink(missing_ok=True)
            finally:
                temp.unlink(missing_ok=True)
            fsync(directory, directory=True)
            remaining = self.folder.list(day)
        log.info("sealed %s: %d files -> %s", day, len(files), final.name)
        return sum(f.rows for f in remaining)

    def export(self, day: dt.date) -> pa.Table:
        """All ticks of ``day``, once each, ordered by (venue, symbol, trade_time_us)."""

        def build(dedupe: bool) -> str:
            return (
                f"SELECT {_COLUMNS} FROM {_SOURCE}"
                f" WHERE trade_time_us >= $start_us AND trade_time_us < $end_us {_DEDUPE if dedupe else ''}"
                " ORDER BY venue, symbol, trade_time_us, trade_id"
            )

        start = _day_start_us(day)
        result = self._query([day], build, {"start_us": start, "end_us": start + US_PER_DAY}, f"export {day}")
        return TICK_SCHEMA.empty_table() if result is None else conform(result)

    def drop(self, day: dt.date) -> None:
        """Delete the day's files (nothing happens when there are none)."""
        directory = self.folder.day_dir(day)
        with self.folder.lock(day, "seal"), self.folder.lock(day, "swap"):
            # Temp files go too: a crashed writer's leftovers, or a concurrent insert's, which then
            # writes its segment again (see SegmentFolder.add_segment) after the drop.
            doomed = self.folder.scan(day)
            shutil.rmtree(directory, ignore_errors=True)
            left = [file.path.name for file in doomed if file.path.exists()]
            if left:
                raise EmbeddedTickStoreError(f"tick store {self.root}: drop {day} left {left} behind")

    def close(self) -> None:
        """Close the DuckDB connection."""
        self._db.close()

    def __repr__(self) -> str:
        return f"EmbeddedTickStore({self.root})"
