"""The S3 tick archive: day files in a bucket on any S3 endpoint (AWS, MinIO, moto), through boto3.

Layout: ``s3://bucket/prefix/ticks/day=YYYY-MM-DD/ticks.parquet``; the day's record travels with the
object as user metadata (``x-amz-meta-sha256``, ``-rows``, ``-written-at-us``, ``-format``), so object and
record change together. A write uploads to ``prefix/_staging/``, downloads and checks that object
(footer rows, SHA-256), copies it into place server-side, verifies the published object the same way,
and deletes the staging copy: a reader never sees a partial or unverified day.

The client is built here by :func:`resources.archive.s3_client.make_client` (timeouts, "standard"
retries of transient errors only), the one way the CLI and the Dagster resource build it
(:func:`resources.archive.factory.open_tick_archive`); tests may pass any boto3 S3 client. Every boto3
error is raised as :class:`ArchiveError` naming the operation, bucket and key. The bucket is never created implicitly: call :meth:`S3TickArchive.ensure_bucket`.

DuckDB reads S3 days as a lazy pyarrow dataset over the same client (see
:mod:`resources.archive.s3_files` for why not DuckDB's httpfs).
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Sequence
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.fs as pafs

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
    ARCHIVE_SCHEMA,
    FORMAT,
    WriterSettings,
    check_one_day,
    day_key,
    read_parquet_bytes,
    sha256_hex,
    to_parquet_bytes,
)
from resources.archive.s3_client import Bucket, NoSuchObjectError, make_client
from resources.archive.s3_files import S3ReadHandler

log = logging.getLogger(__name__)


class S3TickArchive(TickArchive):
    """Tick archive in an S3 bucket (see the module docstring for layout and guarantees).

    Pass ``client`` (any boto3 S3 client), or let one be built from ``endpoint_url``, ``region_name``
    and the credentials (explicit, else the standard AWS chain: ``AWS_ACCESS_KEY_ID`` etc.).
    """

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        client: Any | None = None,
        endpoint_url: str | None = None,
        region_name: str | None = None,
        aws_access_key_id: str | None = None,
        aws_secret_access_key: str | None = None,
        aws_session_token: str | None = None,
        writer: WriterSettings | None = None,
    ) -> None:
        if client is not None and (endpoint_url or region_name or aws_access_key_id or aws_secret_access_key):
            raise ValueError("S3TickArchive: pass either a client or the settings to build one, not both")
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.writer = writer or WriterSettings()
        # A client passed in belongs to the caller (e.g. a Dagster resource): close only our own.
        self._owns_client = client is None
        self.client = client or make_client(
            endpoint_url=endpoint_url,
            region_name=region_name,
            aws_access_key_id=aws_access_key_id,
            aws_secret_access_key=aws_secret_access_key,
            aws_session_token=aws_session_token,
        )
        self._bucket = Bucket(self.client, bucket)

    def ensure_bucket(self) -> None:
        """Create the bucket unless it exists (the only place the archive creates it)."""
        self._bucket.ensure()

    # -- keys and records --------------------------------------------------------------------------

    def _under_prefix(self, name: str) -> str:
        return f"{self.prefix}/{name}" if self.prefix else name

    def _key(self, day: dt.date) -> str:
        return self._under_prefix(day_key(day))

    def parquet_uri(self, day: dt.date) -> str:
        """``s3://bucket/prefix/ticks/day=YYYY-MM-DD/ticks.parquet`` (it may not exist)."""
        return self._bucket.uri(self._key(day))

    def _record(self, day: dt.date, key: str, response: dict[str, Any]) -> ArchivedDay:
        metadata = response.get("Metadata", {})
        try:
            return ArchivedDay(
                day=day,
                uri=self._bucket.uri(key),
                rows=int(metadata["rows"]),
                bytes=int(response["ContentLength"]),
                sha256=str(metadata["sha256"]),
                written_at_us=int(metadata["written-at-us"]),
            )
        except (KeyError, ValueError) as exc:
            raise ArchiveError(
                f"archive day {day}: {self._bucket.uri(key)} lacks valid tradegraph metadata"
                f" (x-amz-meta-sha256/-rows/-written-at-us): {exc}; was it written by S3TickArchive?"
            ) from exc

    def info(self, day: dt.date) -> ArchivedDay | None:
        """The day's record from its object metadata (one HEAD); None when the object is absent."""
        key = self._key(day)
        head = self._bucket.head(key)
        return None if head is None else self._record(day, key, head)

    def days(self) -> list[ArchivedDay]:
        """Every archived day (one HEAD per day for its metadata), oldest first."""
        records = (self.info(day) for day in self.list_days())
        return [record for record in records if record is not None]  # None: deleted since listed

    def list_days(self) -> list[dt.date]:
        """Days with an object under ``prefix/ticks/`` (one paginated LIST), oldest first."""
        start = self._under_prefix("ticks/day=")
        days = []
        for key in self._bucket.keys(start):
            stamp = key[len(start) :].partition("/")[0]
            try:
                day = dt.date.fromisoformat(stamp)
            except ValueError:
                continue
            if self._key(day) == key:
                days.append(day)
        return sorted(days)

    # -- reading -----------------------------------------------------------------------------------

    def _download_checked(self, day: dt.date, key: str) -> tuple[ArchivedDay, bytes]:
        # One GET brings both the metadata (the record) and the bytes, so they cannot disagree by a race.
        try:
            response, data = self._bucket.get(key)
        except NoSuchObjectError as exc:
            raise DayNotArchivedError(
                f"day {day} is not in the archive: no object {self._bucket.uri(key)}"
            ) from exc
        record = self._record(day, key, response)
        check_record(record, data)
        return record, data

    def verify(self, day: dt.date) -> ArchivedDay:
        """Download the object and check footer rows, size and SHA-256 against its metadata."""
        record, _ = self._download_checked(day, self._key(day))
        return record

    def read_day(self, day: dt.date) -> pa.Table:
        """The day's ticks; the downloaded bytes are checked against the recorded SHA-256 first."""
        _, data = self._download_checked(day, self._key(day))
        return read_parquet_bytes(data)

    # -- writing -----------------------------------------------------------------------------------

    def write_day(self, day: dt.date, ticks: pa.Table) -> ArchivedDay:
        """Upload to staging, verify, copy into place, verify the published object, drop the staging copy."""
        check_one_day(day, ticks)
        data = to_parquet_bytes(ticks, self.writer)
        sha256 = sha256_hex(data)
        metadata = {
            "sha256": sha256,
            "rows": str(ticks.num_rows),
            "written-at-us": str(now_us()),
            "format": FORMAT,
        }
        key = self._key(day)
        # Outside ticks/, so listings and globs over the archive never see a staged file.
        staging = self._under_prefix(f"_staging/day={day.isoformat()}.{uuid.uuid4().hex}.parquet")
        self._bucket.put(staging, data, metadata)
        try:
            _, stored = self._bucket.get(staging)
            check_stored(
                day,
                self._bucket.uri(staging),
                expected_rows=ticks.num_rows,
                expected_sha256=sha256,
                expected_size=len(data),
                data=stored,
            )
            self._bucket.copy(staging, key)
            # The published object itself, not just the staged one, must hold what was written.
            record, _ = self._download_checked(day, key)
            if record.sha256 != sha256 or record.rows != ticks.num_rows:
                raise ArchiveError(
                    f"archive day {day}: {record.uri} was replaced by another writer meanwhile"
                )
        finally:
            try:
                self._bucket.delete(staging)
            except ArchiveError as exc:
                # Harmless garbage outside ticks/; do not mask the write's own outcome.
                log.warning("could not delete staging object: %s", exc)
        log.info("archived %s: %d ticks, %d bytes at %s", day, record.rows, record.bytes, record.uri)
        return record

    def delete_day(self, day: dt.date) -> None:
        """Delete the day's object (S3 deletes are idempotent)."""
        self._bucket.delete(self._key(day))

    # -- DuckDB ------------------------------------------------------------------------------------

    def _register_files(self, connection: duckdb.DuckDBPyConnection, days: Sequence[dt.date]) -> str:
        # httpfs is not installable offline with DuckDB 2.0 (see resources.archive.s3_files), so DuckDB
        # scans a lazy pyarrow dataset that fetches only the row groups its filters keep.
        keys = [self._key(day) for day in days]
        filesystem = pafs.PyFileSystem(S3ReadHandler(self.client, self.bucket))
        dataset = ds.FileSystemDataset.from_paths(
            keys, schema=ARCHIVE_SCHEMA, format=ds.ParquetFileFormat(), filesystem=filesystem
        )
        connection.register("archive_files", dataset)
        return "archive_files"

    def close(self) -> None:
        """Close the client's connection pool if this archive built the client."""
        if self._owns_client:
            self.client.close()

    def __repr__(self) -> str:
        return f"S3TickArchive(s3://{self.bucket}/{self.prefix})"
