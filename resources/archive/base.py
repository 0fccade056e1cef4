"""The tick archive interface: one verified, immutable Parquet file per UTC day, locally or on S3.

Implementations: :class:`resources.archive.local.LocalTickArchive` (a folder; the embedded default) and
:class:`resources.archive.s3.S3TickArchive` (any S3 endpoint: AWS, MinIO, moto). Both run the one
contract suite in ``tests/resources/archive/test_contract.py``.

Semantics every implementation keeps:
- ``write_day`` writes to a temporary name, verifies what landed (Parquet footer row count and SHA-256
  of the stored bytes against what was written) and only then moves it into place, so a reader never
  sees a half-written day; a failed check raises :class:`ArchiveVerificationError` and publishes
  nothing. Writing a day again replaces it.
- Each day's rows, size and SHA-256 are recorded beside the file (a JSON sidecar locally, object
  metadata on S3); ``verify`` re-reads the file and checks it against that record.
- The file format is :mod:`resources.archive.layout` (lossless; ``read_day`` returns exactly the tick
  table that was written, sorted by venue, symbol, trade time).
"""

from __future__ import annotations

import abc
import datetime as dt
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Self

import duckdb
import pyarrow as pa

from resources.archive.layout import ARCHIVE_SCHEMA, DECODE_SQL, footer_rows, sha256_hex

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class ArchiveError(RuntimeError):
    """An archive operation failed; the message names the day and location (folder, or bucket and key)."""


class ArchiveVerificationError(ArchiveError):
    """A stored day does not match what was written (rows, size or SHA-256); the message says which."""


class DayNotArchivedError(ArchiveError, LookupError):
    """The archive has no file for the requested day; the message names the day and where it looked."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ArchivedDay:
    """One archived day as recorded when it was written."""

    day: dt.date
    """The UTC day of trade time the file holds."""
    uri: str
    """Where the file is: a local path or ``s3://bucket/key`` (what :meth:`TickArchive.parquet_uri` gives)."""
    rows: int
    """Ticks in the file."""
    bytes: int
    """Size of the Parquet file in bytes."""
    sha256: str
    """Hex SHA-256 of the file's bytes."""
    written_at_us: int
    """When the file was written (microseconds since epoch, UTC)."""

    @property
    def bytes_per_tick(self) -> float:
        """Stored bytes per tick (0.0 for an empty day)."""
        return self.bytes / self.rows if self.rows else 0.0


def now_us() -> int:
    """Current time in microseconds since epoch."""
    return time.time_ns() // 1_000


def check_stored(
    day: dt.date,
    where: str,
    *,
    expected_rows: int,
    expected_sha256: str,
    expected_size: int,
    data: bytes,
) -> None:
    """Check stored file bytes against what was written; raise :class:`ArchiveVerificationError` naming
    every field that differs (rows from the Parquet footer, size, SHA-256)."""
    problems = []
    try:
        rows: int | None = footer_rows(data)
    except (pa.ArrowInvalid, OSError) as exc:
        rows = None
        problems.append(f"Parquet footer unreadable ({exc})")
    if rows is not None and rows != expected_rows:
        problems.append(f"footer rows {rows} != expected {expected_rows}")
    if len(data) != expected_size:
        problems.append(f"size {len(data)} bytes != expected {expected_size}")
    sha256 = sha256_hex(data)
    if sha256 != expected_sha256:
        problems.append(f"sha256 {sha256} != expected {expected_sha256}")
    if problems:
        raise ArchiveVerificationError(
            f"archive day {day} at {where} failed verification: {'; '.join(problems)}"
        )


def check_record(record: ArchivedDay, data: bytes) -> None:
    """:func:`check_stored` of a day's file bytes against the day's record."""
    check_stored(
        record.day,
        record.uri,
        expected_rows=record.rows,
        expected_sha256=record.sha256,
        expected_size=record.bytes,
        data=data,
    )


class TickArchive(abc.ABC):
    """Day files of ticks in Parquet; see the module docstring for the guarantees."""

    @abc.abstractmethod
    def write_day(self, day: dt.date, ticks: pa.Table) -> ArchivedDay:
        """Write (or replace) ``day`` with ``ticks``, verify the stored file, publish it; return its record.

        Every tick must have a trade time on ``day`` (``ValueError`` otherwise). Raises
        :class:`ArchiveVerificationError` if the stored file does not match what was written.
        """

    @abc.abstractmethod
    def days(self) -> list[ArchivedDay]:
        """Every archived day with its record, oldest first."""

    @abc.abstractmethod
    def list_days(self) -> list[dt.date]:
        """Archived days without their records, oldest first (one listing: cheaper than :meth:`days`)."""

    @abc.abstractmethod
    def info(self, day: dt.date) -> ArchivedDay | None:
        """The record of ``day``, or None when it is not archived."""

    @abc.abstractmethod
    def verify(self, day: dt.date) -> ArchivedDay:
        """Re-read ``day``'s file and check rows, size and SHA-256 against its record; return the record.

        Raises :class:`DayNotArchivedError` when the day is absent and :class:`ArchiveVerificationError`
        on any mismatch.
        """

    @abc.abstractmethod
    def read_day(self, day: dt.date) -> pa.Table:
        """The ticks of ``day`` as a tick table, sorted by (venue, symbol, trade_time_us, trade_id).

        Raises :class:`DayNotArchivedError` when the day is absent.
        """

    @abc.abstractmethod
    def delete_day(self, day: dt.date) -> None:
        """Remove ``day`` from the archive (no error when it is absent)."""

    @abc.abstractmethod
    def parquet_uri(self, day: dt.date) -> str:
        """Location of ``day``'s file: a local path or ``s3://bucket/key`` (the file may not exist)."""

    @abc.abstractmethod
    def _register_files(self, connection: duckdb.DuckDBPyConnection, days: Sequence[dt.date]) -> str:
        """Make ``days``' files (all existing) scannable on ``connection``; return a FROM-clause source."""

    def duckdb_connection(
        self, days: Sequence[dt.date] | None = None, *, view: str = "ticks"
    ) -> duckdb.DuckDBPyConnection:
        """A new in-memory DuckDB connection with a view ``view`` of ``days`` (default: all) as tick columns.

        The view has the :data:`TICK_SCHEMA` columns; filters on venue, symbol and trade_time_us are
        pushed down to Parquet row-group statistics, so a one-symbol, one-hour query reads a small part
        of each file. Days that are not archived are left out. The caller closes the connection.

        Local files are scanned by DuckDB's own Parquet reader. S3 files are scanned as a lazy pyarrow
        dataset read through the archive's boto3 client, because DuckDB 2.0's httpfs extension cannot
        be installed without network here (see :mod:`resources.archive.s3_files`).
        """
        if not _IDENTIFIER.match(view):
            raise ValueError(f"view name {view!r} must be a plain SQL identifier, e.g. 'ticks'")
        listed = self.list_days()
        present = listed if days is None else sorted(set(listed).intersection(days))
        connection = duckdb.connect(":memory:")
        try:
            if present:
                source = self._register_files(connection, present)
            else:
                connection.register(f"{view}_empty", ARCHIVE_SCHEMA.empty_table())
                source = f"{view}_empty"
            connection.execute(f"CREATE VIEW {view} AS SELECT {DECODE_SQL} FROM {source}")
        except BaseException:
            connection.close()
            raise
        return connection

    def close(self) -> None:
        """Release clients or handles."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
