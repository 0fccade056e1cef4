"""The folder layout of the embedded tick store: day directories of immutable Parquet files, and locks.

::

    day=2024-01-31/seg-<uuid>-n<rows>.parquet      one per insert
    day=2024-01-31/sealed-<uuid>-n<rows>.parquet   the deduplicated day after seal
    day=2024-01-31/.<prefix>-<uuid>.tmp            a file being written (never listed)
    .locks/2024-01-31.seal, .locks/2024-01-31.swap flock(2) lock files, never deleted

Files appear atomically (written under a temp name, fsynced, then renamed) and never change. Row counts
live in the names, so listing partitions opens no file. See :mod:`resources.tick_store.embedded` for
the protocol that uses the two locks.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import os
import re
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

_DAY_PREFIX = "day="
_FILE_RE = re.compile(r"^(seg|sealed)-([0-9a-f]+)-n([0-9]+)\.parquet$")


@dataclass(frozen=True, slots=True)
class SegmentFile:
    """One published Parquet file of a day."""

    path: Path
    rows: int
    sealed: bool


def fsync(path: Path, *, directory: bool = False) -> None:
    """Flush a file's (or a directory's entries') writes to disk."""
    fd = os.open(path, os.O_RDONLY | (os.O_DIRECTORY if directory else 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class SegmentFolder:
    """Day directories under ``root``: listing, locking and atomic publication of files."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._locks = self.root / ".locks"
        self._locks.mkdir(parents=True, exist_ok=True)

    def day_dir(self, day: dt.date) -> Path:
        """The directory of ``day`` (it may not exist)."""
        return self.root / f"{_DAY_PREFIX}{day.isoformat()}"

    def days(self) -> list[dt.date]:
        """Days that have a directory, oldest first."""
        days = []
        with os.scandir(self.root) as entries:
            for entry in entries:
                if entry.name.startswith(_DAY_PREFIX) and entry.is_dir():
                    days.append(dt.date.fromisoformat(entry.name[len(_DAY_PREFIX) :]))
        return sorted(days)

    @contextmanager
    def lock(self, day: dt.date, kind: Literal["seal", "swap"], *, shared: bool = False) -> Iterator[None]:
        """Hold the day's ``kind`` lock, across processes and across threads (one open file each)."""
        with open(self._locks / f"{day.isoformat()}.{kind}", "a+b") as handle:
            fcntl.flock(handle, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def scan(self, day: dt.date) -> list[SegmentFile]:
        """The day's published files, without locking: for holders of the swap lock."""
        files = []
        try:
            with os.scandir(self.day_dir(day)) as entries:
                for entry in entries:
                    match = _FILE_RE.match(entry.name)
                    if match:
                        sealed = match.group(1) == "sealed"
                        files.append(SegmentFile(Path(entry.path), int(match.group(3)), sealed))
        except FileNotFoundError:
            return []
        return files

    def list(self, day: dt.date) -> list[SegmentFile]:
        """The day's published files; a consistent snapshot with respect to seal and drop."""
        with self.lock(day, "swap", shared=True):
            return self.scan(day)

    @staticmethod
    def stage(directory: Path, prefix: str, write: Callable[[Path], int]) -> tuple[Path, Path]:
        """Write a temp file through ``write(path) -> rows`` and fsync it; return (temp, final) paths.

        The caller renames temp to final (``os.replace``) when it wants the file to appear.
        """
        file_id = uuid.uuid4().hex
        temp = directory / f".{prefix}-{file_id}.tmp"
        try:
            rows = write(temp)
            fsync(temp)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
        return temp, directory / f"{prefix}-{file_id}-n{rows}.parquet"

    def add_segment(self, day: dt.date, write: Callable[[Path], int]) -> Path:
        """Publish a new segment of ``day`` written by ``write``; durable when this returns."""
        directory = self.day_dir(day)
        for attempt in (1, 2):
            directory.mkdir(exist_ok=True)
            try:
                temp, final = self.stage(directory, "seg", write)
                os.replace(temp, final)
                break
            except FileNotFoundError:
                # A concurrent drop removed the directory between mkdir and the write: once more.
                if attempt == 2:
                    raise
        fsync(directory, directory=True)
        return final
