"""Read-only random access to S3 objects through a boto3 client, as a pyarrow filesystem.

Why this exists: DuckDB reads S3 natively only through its ``httpfs`` extension, which DuckDB 2.0
downloads on first use; this workplace has no network for that (``INSTALL httpfs`` fails, and PyPI's
``duckdb-ext-httpfs`` is built for DuckDB 1.4 only). So S3 archive files reach DuckDB as a
``pyarrow.dataset`` over this filesystem: DuckDB pushes its filters and projection into the pyarrow
scanner, which reads each file's footer, skips row groups by their statistics and fetches only the
column chunks it needs, with HTTP range requests made by the archive's own boto3 client (its
endpoint, credentials, timeouts and retries). ``pyarrow.fs.S3FileSystem`` would do the same, but it
cannot take a boto3 client, so it would need its own credentials and settings.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable
from typing import Any

import pyarrow as pa
import pyarrow.fs as pafs
from botocore.exceptions import BotoCoreError, ClientError

log = logging.getLogger(__name__)

# A Parquet reader's first reads are the last 8 bytes, then the footer; fetching the tail in one
# request saves the round trips (footers of day files are a few KB).
_TAIL_BYTES = 64 * 1024


class S3RangeFile(io.RawIOBase):
    """A seekable, read-only file over one S3 object; each read is one ranged GET (tail cached)."""

    def __init__(self, get_range: Callable[[int, int], bytes], size: int) -> None:
        super().__init__()
        self._get_range = get_range
        self._size = size
        self._pos = 0
        self._tail_start = max(0, size - _TAIL_BYTES)
        self._tail: bytes | None = None

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_SET:
            position = offset
        elif whence == io.SEEK_CUR:
            position = self._pos + offset
        elif whence == io.SEEK_END:
            position = self._size + offset
        else:
            raise ValueError(f"invalid whence {whence}")
        if position < 0:
            raise ValueError(f"negative seek position {position}")
        self._pos = position
        return position

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        count = min(len(view), self._size - self._pos)
        if count <= 0:
            return 0
        start, end = self._pos, self._pos + count
        if start >= self._tail_start:
            if self._tail is None:
                self._tail = self._get_range(self._tail_start, self._size)
            data = self._tail[start - self._tail_start : end - self._tail_start]
        else:
            data = self._get_range(start, end)
        if len(data) != count:
            raise OSError(f"short read: asked for bytes {start}..{end - 1}, got {len(data)} bytes")
        view[:count] = data
        self._pos = end
        return count


class S3ReadHandler(pafs.FileSystemHandler):
    """pyarrow filesystem handler for reading objects of one bucket; paths are object keys.

    ``sizes`` (key -> bytes) spares a HEAD request per file when the caller already listed them.
    Every write operation raises: archive files are written by the archive, not through pyarrow.
    """

    def __init__(self, client: Any, bucket: str, sizes: dict[str, int] | None = None) -> None:
        self._client = client
        self._bucket = bucket
        self._sizes = dict(sizes or {})

    def _size(self, key: str) -> int:
        if key not in self._sizes:
            try:
                head = self._client.head_object(Bucket=self._bucket, Key=key)
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                    raise FileNotFoundError(f"s3://{self._bucket}/{key}") from exc
                raise OSError(f"HEAD s3://{self._bucket}/{key} failed: {exc}") from exc
            except BotoCoreError as exc:
                raise OSError(f"HEAD s3://{self._bucket}/{key} failed: {exc}") from exc
            self._sizes[key] = int(head["ContentLength"])
        return self._sizes[key]

    def _get_range(self, key: str, start: int, end: int) -> bytes:
        try:
            response = self._client.get_object(Bucket=self._bucket, Key=key, Range=f"bytes={start}-{end - 1}")
            return bytes(response["Body"].read())
        except (ClientError, BotoCoreError) as exc:
            raise OSError(f"GET s3://{self._bucket}/{key} bytes {start}..{end - 1} failed: {exc}") from exc

    def get_type_name(self) -> str:
        return "tradegraph-s3-read"

    def equals(self, other: Any) -> bool:
        return other is self

    def normalize_path(self, path: str) -> str:
        return path

    def get_file_info(self, paths: list[str]) -> list[pafs.FileInfo]:
        infos = []
        for path in paths:
            try:
                infos.append(pafs.FileInfo(path, pafs.FileType.File, size=self._size(path)))
            except FileNotFoundError:
                infos.append(pafs.FileInfo(path, pafs.FileType.NotFound))
        return infos

    def open_input_file(self, path: str) -> pa.NativeFile:
        size = self._size(path)
        return pa.PythonFile(
            S3RangeFile(lambda start, end: self._get_range(path, start, end), size), mode="r"
        )

    def open_input_stream(self, path: str) -> pa.NativeFile:
        return self.open_input_file(path)

    def _read_only(self, *args: object) -> Any:
        raise NotImplementedError(f"s3://{self._bucket} is read-only through this filesystem")

    get_file_info_selector = _read_only
    create_dir = _read_only
    delete_dir = _read_only
    delete_dir_contents = _read_only
    delete_root_dir_contents = _read_only
    delete_file = _read_only
    move = _read_only
    copy_file = _read_only
    open_output_stream = _read_only
    open_append_stream = _read_only
