"""Options of an ``ftp`` source: the server, the watched directory and the typed columns of its CSV files."""

from __future__ import annotations

from dataclasses import dataclass

from resources.sources.base import RecordSchema, SourceSpec
from resources.sources.columns import schema_of

FILE_COLUMN = "file"
"""Record column: the name of the file a record came from."""
DIGEST_COLUMN = "file_sha256"
"""Record column: that file's SHA-256 (hex), so a re-upload with other content is a new file."""
LINE_COLUMN = "line"
"""Record column: the record's line number in its file (the header is line 1)."""
SIDECAR_SUFFIX = ".sha256"
"""A data file is complete once ``<file>.sha256`` exists beside it."""


@dataclass(frozen=True, slots=True, kw_only=True)
class FtpConfig:
    """An FTP or FTPS directory of CSV file drops."""

    name: str
    """Source name (bus topic ``sources.<name>``, table ``src_<name>``)."""
    host: str
    """Server host name or address."""
    columns: dict[str, str]
    """CSV column name -> type (``string``, ``int64``, ``float64``, ``bool``, ``time``: ISO-8601 or epoch
    s/ms/us/ns, stored as int64 microseconds UTC), in record order; found in the file by header name."""
    time_column: str
    """The ``time`` column that dates a record (its day is the record's partition)."""
    port: int = 21
    """Server port."""
    user: str = "anonymous"
    """Login user."""
    password: str = ""
    """Login password (use ``env:VAR`` in the sources file)."""
    tls: bool = False
    """FTPS: explicit TLS (AUTH TLS) on the control connection and PROT P on data connections."""
    ca_file: str | None = None
    """PEM file of the certificate authorities to trust for FTPS (None: the system's)."""
    directory: str = "/"
    """Remote directory watched for files."""
    pattern: str = "*.csv"
    """Glob the data files' names match (``fnmatch``); their sidecars are ``<name>.sha256``."""
    series: tuple[str, ...] = ()
    """Columns that name one series (e.g. area and product)."""
    delimiter: str = ","
    """CSV field delimiter."""
    encoding: str = "utf-8-sig"
    """Text encoding of the files (the default also strips a byte-order mark)."""
    timeout_s: float = 30.0
    """Timeout of connecting and of every command and data transfer, in seconds."""
    max_file_bytes: int = 256 * 1024 * 1024
    """Larger files are rejected instead of read into memory."""
    retention_s: float = 7 * 86_400.0
    """Loaded files stay in the cursor this long after loading, and longer while the server still lists them."""
    periods_per_day: int | None = None
    """Delivery periods a complete day of one series has (None: no such expectation, e.g. trades)."""
    passive: bool = True
    """Passive-mode data connections (the client connects to the server)."""

    def __post_init__(self) -> None:
        reserved = {FILE_COLUMN, DIGEST_COLUMN, LINE_COLUMN} & set(self.columns)
        if reserved:
            raise ValueError(f"columns {sorted(reserved)} are added by the ftp source; rename them")
        schema_of(self.columns)  # unknown types, named
        if self.columns.get(self.time_column) not in ("time", "int64"):
            raise ValueError(
                f"time_column {self.time_column!r} must be a 'time' (or int64 microseconds) column, "
                f"got {self.columns.get(self.time_column)!r}"
            )
        if self.timeout_s <= 0 or self.retention_s < 0 or self.max_file_bytes <= 0:
            raise ValueError("timeout_s and max_file_bytes must be positive, retention_s not negative")
        if len(self.delimiter) != 1:
            raise ValueError(f"delimiter must be one character, got {self.delimiter!r}")

    def record_columns(self) -> dict[str, str]:
        """The record's columns and types: the configured ones, then ``file``, ``file_sha256`` and ``line``."""
        return {**self.columns, FILE_COLUMN: "string", DIGEST_COLUMN: "string", LINE_COLUMN: "int64"}

    def spec(self) -> SourceSpec:
        """What the source delivers: the columns plus ``file``, ``file_sha256`` and ``line``, keyed by them."""
        records = RecordSchema(
            schema=schema_of(self.record_columns()),
            time_column=self.time_column,
            key=(FILE_COLUMN, DIGEST_COLUMN, LINE_COLUMN),
            series=self.series,
        )
        return SourceSpec(name=self.name, kind="ftp", records=records, periods_per_day=self.periods_per_day)
