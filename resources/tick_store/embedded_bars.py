"""One-minute bars of the embedded store: one Parquet file per UTC day, replaced atomically.

::

    bars_1m/day=2024-01-31/bars.parquet     the day's bars, sorted by (venue, symbol, minute_us)
    bars_1m/day=2024-01-31/.bars-<uuid>.tmp a file being written (never read)
    bars_1m/.locks/2024-01-31               flock(2) lock of the day's writers and droppers

A write stages the new file under a temp name, fsyncs it and renames it over ``bars.parquet``: the
rename is atomic, so a reader opens the old file or the new one, and an open file stays readable
after it is replaced (readers open it once and read from that handle). Writers and droppers of one
day serialise on the day's lock; readers take no lock.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import logging
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from resources.tick_store.base import PartitionInfo, day_bars
from resources.tick_store.segments import fsync
from trading_assets.core.bars import BARS_SCHEMA, conform_bars
from trading_assets.core.time import US_PER_DAY, day_start_us

log = logging.getLogger(__name__)

_DAY_PREFIX = "day="
_FILE_NAME = "bars.parquet"
# Row groups of a few thousand bars let a read of one symbol skip the others' row groups by statistics.
_ROW_GROUP_ROWS = 8_192


class BarFolder:
    """The bar files under ``root`` (one per day)."""

    def __init__(self, root: Path, *, compression: str = "zstd") -> None:
        self.root = Path(root)
        self.compression = compression
        self._locks = self.root / ".locks"
        self._locks.mkdir(parents=True, exist_ok=True)

    def _day_dir(self, day: dt.date) -> Path:
        return self.root / f"{_DAY_PREFIX}{day.isoformat()}"

    @contextmanager
    def _lock(self, day: dt.date) -> Iterator[None]:
        """Hold the day's writer lock, across processes and threads (one open file each)."""
        with open(self._locks / day.isoformat(), "a+b") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _days(self) -> list[dt.date]:
        with os.scandir(self.root) as entries:
            return sorted(
                dt.date.fromisoformat(entry.name[len(_DAY_PREFIX) :])
                for entry in entries
                if entry.name.startswith(_DAY_PREFIX) and entry.is_dir()
            )

    def write(self, day: dt.date, bars: pa.Table) -> int:
        """Replace the day's file by ``bars`` (an empty table removes it); durable on return."""
        table = day_bars(day, bars)
        if table.num_rows == 0:
            self.drop(day)
            return 0
        directory = self._day_dir(day)
        with self._lock(day):
            directory.mkdir(exist_ok=True)
            temp = directory / f".bars-{uuid.uuid4().hex}.tmp"
            try:
                pq.write_table(
                    table,
                    temp,
                    compression=self.compression,
                    row_group_size=_ROW_GROUP_ROWS,
                    use_dictionary=["venue", "symbol"],
                )
                fsync(temp)
                os.replace(temp, directory / _FILE_NAME)
            finally:
                temp.unlink(missing_ok=True)
            fsync(directory, directory=True)
        log.info("wrote %d bars of %s", table.num_rows, day)
        return table.num_rows

    def _read_day(self, day: dt.date, predicate: pc.Expression) -> pa.Table | None:
        """The day's bars matching ``predicate``; None when the day has no file (or it was just dropped)."""
        try:
            # One open handle: a concurrent replace or drop cannot change what this handle reads.
            with pa.OSFile(str(self._day_dir(day) / _FILE_NAME)) as source:
                return pq.read_table(source, filters=predicate, schema=BARS_SCHEMA)
        except FileNotFoundError:
            return None

    def read(self, *, symbol: str, start_us: int, end_us: int, venue: str | None = None) -> pa.Table:
        """Bars of ``symbol`` with ``minute_us`` in ``[start_us, end_us)``, by (minute_us, venue)."""
        predicate = (
            (pc.field("symbol") == symbol)
            & (pc.field("minute_us") >= int(start_us))
            & (pc.field("minute_us") < int(end_us))
        )
        if venue is not None:
            predicate &= pc.field("venue") == venue
        tables = []
        for day in self._days():
            day_start = day_start_us(day)
            if day_start >= end_us or day_start + US_PER_DAY <= start_us:
                continue
            table = self._read_day(day, predicate)
            if table is not None and table.num_rows:
                tables.append(table)
        if not tables:
            return BARS_SCHEMA.empty_table()
        result = conform_bars(pa.concat_tables(tables))
        return result.sort_by([("minute_us", "ascending"), ("venue", "ascending")])

    def days(self) -> list[PartitionInfo]:
        """Days with a bar file and their bar counts, oldest first."""
        infos = []
        for day in self._days():
            try:
                with pa.OSFile(str(self._day_dir(day) / _FILE_NAME)) as source:
                    rows = pq.read_metadata(source).num_rows
            except FileNotFoundError:  # no bars (an empty write, or a drop under way)
                continue
            infos.append(PartitionInfo(day=day, rows=rows))
        return infos

    def drop(self, day: dt.date) -> None:
        """Delete the day's directory (nothing happens when there is none)."""
        with self._lock(day):
            try:
                shutil.rmtree(self._day_dir(day))
            except FileNotFoundError:
                pass
