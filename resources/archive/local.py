"""The local tick archive: the S3 layout in a folder, for the embedded setup and for tests.

Layout: ``root/ticks/day=YYYY-MM-DD/ticks.parquet`` plus ``ticks.json``, a sidecar with the day's
record (rows, bytes, sha256, written_at_us). Files appear by ``os.replace`` after they were fsynced
and verified, so a crash leaves either the old day, no day, or the new day, never a torn file.
One writer per day at a time (Dagster runs one partition once); any number of readers.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import uuid
from collections.abc import Sequence
from pathlib import Path

import duckdb
import pyarrow as pa

from resources.archive.base import (
    ArchivedDay,
    ArchiveError,
    DayNotArchivedError,
    TickArchive,
    check_record,
    check_stored,
    now_us,
)
from resources.archive.layout import (
    FILE_NAME,
    FORMAT,
    WriterSettings,
    check_one_day,
    day_key,
    parse_day_dir,
    read_parquet_bytes,
    sha256_hex,
    to_parquet_bytes,
)

log = logging.getLogger(__name__)

SIDECAR_NAME = "ticks.json"


def _write_durably(path: Path, data: bytes) -> None:
    with open(path, "wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


class LocalTickArchive(TickArchive):
    """Tick archive in a local folder (see the module docstring for layout and guarantees)."""

    def __init__(self, root: Path, *, writer: WriterSettings | None = None) -> None:
        self.root = Path(root)
        self.writer = writer or WriterSettings()

    def _file(self, day: dt.date) -> Path:
        return self.root / day_key(day)

    def _sidecar(self, day: dt.date) -> Path:
        return self._file(day).with_name(SIDECAR_NAME)

    def parquet_uri(self, day: dt.date) -> str:
        """Absolute path of ``day``'s Parquet file (it may not exist)."""
        return str(self._file(day).absolute())

    def write_day(self, day: dt.date, ticks: pa.Table) -> ArchivedDay:
        """Write ``day`` to a temp file, fsync and verify it, then publish it with ``os.replace``."""
        check_one_day(day, ticks)
        data = to_parquet_bytes(ticks, self.writer)
        sha256 = sha256_hex(data)
        final = self._file(day)
        directory = final.parent
        directory.mkdir(parents=True, exist_ok=True)
        temp = directory / f".{FILE_NAME}.{uuid.uuid4().hex}.tmp"
        try:
            _write_durably(temp, data)
            # Read back what the disk holds, not the buffer we wrote.
            check_stored(
                day,
                str(temp),
                expected_rows=ticks.num_rows,
                expected_sha256=sha256,
                expected_size=len(data),
                data=temp.read_bytes(),
            )
            record = ArchivedDay(
                day=day,
                uri=self.parquet_uri(day),
                rows=ticks.num_rows,
                bytes=len(data),
                sha256=sha256,
                written_at_us=now_us(),
            )
            # Drop the old record first: a crash before the new one lands leaves the day unlisted (and
            # so never dropped from the store), never an old record describing the new file.
            self._sidecar(day).unlink(missing_ok=True)
            os.replace(temp, final)
            sidecar_temp = directory / f".{SIDECAR_NAME}.{uuid.uuid4().hex}.tmp"
            _write_durably(sidecar_temp, json.dumps(_to_json(record)).encode())
            os.replace(sidecar_temp, self._sidecar(day))
            _fsync_dir(directory)
        finally:
            temp.unlink(missing_ok=True)
        log.info("archived %s: %d ticks, %d bytes at %s", day, record.rows, record.bytes, final)
        return record

    def info(self, day: dt.date) -> ArchivedDay | None:
        """The day's record from its sidecar; None when the day (file or sidecar) is absent."""
        if not self._file(day).exists():
            return None
        try:
            raw = self._sidecar(day).read_text()
        except FileNotFoundError:
            return None
        try:
            return _from_json(json.loads(raw), uri=self.parquet_uri(day))
        except (ValueError, KeyError, TypeError) as exc:
            raise ArchiveError(
                f"archive day {day}: sidecar {self._sidecar(day)} is malformed: {exc}"
            ) from exc

    def list_days(self) -> list[dt.date]:
        """Days with both a file and a sidecar, oldest first."""
        base = self.root / "ticks"
        if not base.is_dir():
            return []
        found = []
        for entry in base.iterdir():
            day = parse_day_dir(entry.name)
            if day is not None and (entry / FILE_NAME).is_file() and (entry / SIDECAR_NAME).is_file():
                found.append(day)
        return sorted(found)

    def days(self) -> list[ArchivedDay]:
        """Every day with a file and a record, oldest first."""
        records = [self.info(day) for day in self.list_days()]
        return [record for record in records if record is not None]

    def _require(self, day: dt.date) -> ArchivedDay:
        record = self.info(day)
        if record is None:
            raise DayNotArchivedError(
                f"day {day} is not in the archive: no {self._file(day)} with its {SIDECAR_NAME}"
            )
        return record

    def verify(self, day: dt.date) -> ArchivedDay:
        """Re-read the file and check rows, size and SHA-256 against the sidecar."""
        record = self._require(day)
        check_record(record, self._read_bytes(day))
        return record

    def _read_bytes(self, day: dt.date) -> bytes:
        try:
            return self._file(day).read_bytes()
        except FileNotFoundError as exc:
            raise DayNotArchivedError(f"day {day} is not in the archive: {self._file(day)} vanished") from exc

    def read_day(self, day: dt.date) -> pa.Table:
        """The day's ticks; the bytes are checked against the recorded SHA-256 before decoding."""
        record = self._require(day)
        data = self._read_bytes(day)
        check_record(record, data)
        return read_parquet_bytes(data)

    def delete_day(self, day: dt.date) -> None:
        """Remove the day's record, file and any temp leftovers."""
        directory = self._file(day).parent
        # Record first: a half-done delete leaves the day unlisted, never listed without its file.
        self._sidecar(day).unlink(missing_ok=True)
        self._file(day).unlink(missing_ok=True)
        if directory.is_dir():
            for leftover in directory.glob(".*.tmp"):
                leftover.unlink(missing_ok=True)
            try:
                directory.rmdir()
            except OSError as exc:
                raise ArchiveError(
                    f"archive day {day}: {directory} still holds {list(directory.iterdir())}"
                ) from exc

    def _register_files(self, connection: duckdb.DuckDBPyConnection, days: Sequence[dt.date]) -> str:
        # DuckDB's own Parquet reader: it prunes row groups by their statistics.
        paths = ", ".join(_sql_string(self.parquet_uri(day)) for day in days)
        return f"read_parquet([{paths}], hive_partitioning = false)"

    def __repr__(self) -> str:
        return f"LocalTickArchive({self.root})"


def _to_json(record: ArchivedDay) -> dict[str, object]:
    return {
        "format": FORMAT,
        "day": record.day.isoformat(),
        "rows": record.rows,
        "bytes": record.bytes,
        "sha256": record.sha256,
        "written_at_us": record.written_at_us,
    }


def _from_json(raw: dict[str, object], *, uri: str) -> ArchivedDay:
    return ArchivedDay(
        day=dt.date.fromisoformat(str(raw["day"])),
        uri=uri,
        rows=int(raw["rows"]),  # type: ignore[call-overload]
        bytes=int(raw["bytes"]),  # type: ignore[call-overload]
        sha256=str(raw["sha256"]),
        written_at_us=int(raw["written_at_us"]),  # type: ignore[call-overload]
    )
