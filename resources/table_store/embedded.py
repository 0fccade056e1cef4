"""The embedded table store: one Parquet file per table and UTC day under a folder; no server.

::

    <root>/bars_1m/day=2024-01-31/part.parquet       the day's rows, sorted by the spec's key
    <root>/bars_1m/day=2024-01-31/.part-<uuid>.tmp   a file being written (never read)
    <root>/bars_1m/.locks/2024-01-31                 flock(2) lock of the day's writers and droppers

A write stages the new file under a temp name, fsyncs it and renames it over ``part.parquet``: the
rename is atomic, so a reader opens the old file or the new one, and a file it has open stays readable
after it is replaced (readers open each file once and read from that handle). Writers and droppers of a
day serialise on the day's lock across processes; readers take no lock, so any number of processes may
read while one writes.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import os
import shutil
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from resources.table_store.base import (
    FilterValue,
    TablePartition,
    TableStore,
    TableStoreError,
)
from resources.table_store.spec import TableSpec
from trading_assets.core.time import day_bounds_us

_DAY_PREFIX = "day="
_FILE_NAME = "part.parquet"
LARGE_VALUE_BYTES = 64 * 1024
"""String columns holding a value this long or longer (the executor's checkpoint payload) are written
without statistics and dictionary: Parquet's writer copies each value into its min/max statistics and its
dictionary, several times the column's size at once (a 22 MB value took 110 MB more with them than the
44 MB without), and no read filters on such a column."""


def _large_value_columns(table: pa.Table) -> set[str]:
    """Names of the string columns of ``table`` holding a value of at least :data:`LARGE_VALUE_BYTES`."""
    large = set()
    for field in table.schema:
        if pa.types.is_string(field.type):
            longest = pc.max(pc.binary_length(table.column(field.name))).as_py()
            if longest is not None and longest >= LARGE_VALUE_BYTES:
                large.add(field.name)
    return large


def _fsync(path: Path, *, directory: bool = False) -> None:
    """Flush a file's (or a directory's entries') writes to disk."""
    fd = os.open(path, os.O_RDONLY | (os.O_DIRECTORY if directory else 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class EmbeddedTableStore(TableStore):
    """Tables as day files of Parquet under ``root``; one writer per day at a time, readers unlimited.

    ``row_group_rows`` keeps row groups small enough that a filtered read (one symbol) skips the other
    row groups by their statistics.
    """

    def __init__(self, root: Path, *, compression: str = "zstd", row_group_rows: int = 16_384) -> None:
        self.root = Path(root)
        self.compression = compression
        self.row_group_rows = row_group_rows

    # -- layout -------------------------------------------------------------------------------------

    def _table_dir(self, spec: TableSpec) -> Path:
        return self.root / spec.name

    def _day_dir(self, spec: TableSpec, day: dt.date) -> Path:
        return self._table_dir(spec) / f"{_DAY_PREFIX}{day.isoformat()}"

    @contextmanager
    def _lock(self, spec: TableSpec, day: dt.date) -> Iterator[None]:
        """Hold the day's writer lock, across processes and threads (one open file each)."""
        locks = self._table_dir(spec) / ".locks"
        locks.mkdir(parents=True, exist_ok=True)
        with open(locks / day.isoformat(), "a+b") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _stored_days(self, spec: TableSpec) -> list[dt.date]:
        try:
            with os.scandir(self._table_dir(spec)) as entries:
                return sorted(
                    dt.date.fromisoformat(entry.name[len(_DAY_PREFIX) :])
                    for entry in entries
                    if entry.name.startswith(_DAY_PREFIX) and entry.is_dir()
                )
        except FileNotFoundError:
            return []

    # -- TableStore ---------------------------------------------------------------------------------

    def _replace_day(self, spec: TableSpec, day: dt.date, rows: pa.Table) -> None:
        """Replace the day's file by ``rows`` (written aside, then renamed over it); fsynced and visible on return."""
        directory = self._day_dir(spec, day)
        with self._lock(spec, day):
            directory.mkdir(parents=True, exist_ok=True)
            temp = directory / f".part-{uuid.uuid4().hex}.tmp"
            try:
                plain = _large_value_columns(rows)
                # Statistics and dictionary for every column but the large-valued ones (all when none is).
                described: list[str] | bool = (
                    [n for n in rows.column_names if n not in plain] if plain else True
                )
                pq.write_table(
                    rows,
                    temp,
                    compression=self.compression,
                    row_group_size=self.row_group_rows,
                    write_statistics=described,
                    use_dictionary=described,
                )
                _fsync(temp)
                os.replace(temp, directory / _FILE_NAME)
            except OSError as exc:
                raise TableStoreError(
                    f"table store {self.root}: writing {spec.name} for {day} failed: {exc}"
                ) from exc
            finally:
                temp.unlink(missing_ok=True)
            _fsync(directory, directory=True)

    def _read_day(self, spec: TableSpec, day: dt.date, predicate: pc.Expression) -> pa.Table | None:
        """The day's rows matching ``predicate``; None when the day has no file (or was just dropped)."""
        try:
            # One open handle: a concurrent replace or drop cannot change what this handle reads.
            with pa.OSFile(str(self._day_dir(spec, day) / _FILE_NAME)) as source:
                return pq.read_table(source, filters=predicate, schema=spec.schema)
        except FileNotFoundError:
            return None

    def _read(
        self, spec: TableSpec, *, start_us: int, end_us: int, filters: Mapping[str, tuple[FilterValue, ...]]
    ) -> pa.Table:
        """Rows with ``start_us <= time_column < end_us`` that pass ``filters``, in key order."""
        time = pc.field(spec.time_column)
        predicate = (time >= start_us) & (time < end_us)
        for column, values in filters.items():
            value_type = spec.schema.field(column).type
            predicate &= pc.field(column).isin(pa.array(values, type=value_type))
        tables = []
        for day in self._stored_days(spec):
            day_start, day_end = day_bounds_us(day)
            if day_start >= end_us or day_end <= start_us:
                continue
            table = self._read_day(spec, day, predicate)
            if table is not None and table.num_rows:
                tables.append(table)
        if not tables:
            return spec.schema.empty_table()
        return spec.sort(spec.conform(pa.concat_tables(tables)))

    def days(self, spec: TableSpec) -> list[TablePartition]:
        """Days with a file and their row counts, oldest first."""
        partitions = []
        for day in self._stored_days(spec):
            try:
                with pa.OSFile(str(self._day_dir(spec, day) / _FILE_NAME)) as source:
                    rows = pq.read_metadata(source).num_rows
            except FileNotFoundError:  # an empty day, or a drop under way
                continue
            partitions.append(TablePartition(day=day, rows=rows))
        return partitions

    def drop_partition(self, spec: TableSpec, day: dt.date) -> None:
        """Delete the day's directory (nothing happens when there is none)."""
        with self._lock(spec, day):
            shutil.rmtree(self._day_dir(spec, day), ignore_errors=True)
            if self._day_dir(spec, day).exists():
                raise TableStoreError(f"table store {self.root}: could not drop {spec.name} for {day}")

    def __repr__(self) -> str:
        return f"EmbeddedTableStore({self.root})"
