"""The source interface: a real-time data source beside the exchange feeds (REST, SOAP, FTP, SNS, ...).

A :class:`Source` delivers typed records (an Arrow table of its :class:`RecordSchema`) in batches. The
source poller service (:mod:`trading_assets.services.source_poller`) drives it:

1. ``fetch(cursor)`` returns the records after ``cursor`` and the cursor to resume after them;
2. the poller publishes the records on the bus (topic ``sources.<name>``) and waits for the broker's
   acknowledgement;
3. then it saves the new cursor in the service state (it survives restarts);
4. then it calls ``ack(batch)`` (e.g. deletes SQS messages).

A crash between any two steps repeats at most the last batch (at least once); records carry a key
(:attr:`RecordSchema.key`) that names one record version, and the source loader keeps one row per key, so
a repeat is never stored twice. Records a source cannot turn into rows come back as :class:`Rejected`
and go to the dead-letter topic with their reason; the other records of the batch carry on.

Values that the source re-issues (forecasts) are *versions*: the key includes the
:attr:`RecordSchema.version_column` (when the value was published), so a revision is a new row, never an
overwrite, and "the latest value as of time t" is a query over the versions published at or before t.
"""

from __future__ import annotations

import abc
import re
from dataclasses import dataclass, field
from typing import Self

import pyarrow as pa

SOURCE_NAME_PATTERN = r"^[a-z][a-z0-9_]{0,47}$"
"""Source names: lower-case identifiers; they name the bus topic ``sources.<name>`` and the table."""
_NAME_RE = re.compile(SOURCE_NAME_PATTERN)

SOURCE_TOPIC_PREFIX = "sources."


class SourceError(RuntimeError):
    """A source failed in a way that retrying the same request will not fix; the message says what and how."""


class SourceUnavailableError(SourceError):
    """The source cannot be reached or asked us to wait (timeout, 5xx, 429); the same fetch may succeed later.

    ``retry_after_s`` is the wait the source asked for (e.g. an HTTP ``Retry-After``), None when it said none.
    """

    def __init__(self, message: str, *, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


def check_source_name(name: str) -> str:
    """``name`` when it can name a source; ``ValueError`` with a good example otherwise."""
    if not _NAME_RE.match(name):
        raise ValueError(f"source name {name!r} must match {SOURCE_NAME_PATTERN}, e.g. 'entsoe_da_prices_de'")
    return name


def source_topic(name: str) -> str:
    """The bus topic that carries source ``name``'s records."""
    return f"{SOURCE_TOPIC_PREFIX}{check_source_name(name)}"


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordSchema:
    """The typed records of one source and which columns give them time, identity and versions."""

    schema: pa.Schema
    """Arrow schema of one record; columns never null (string, int, float or bool columns)."""
    time_column: str
    """int64 microseconds (UTC) the value is *for* (a trade's time, a delivery period's start); its day is
    the record's partition."""
    key: tuple[str, ...]
    """Columns that name one record version; a record delivered twice has the same key and is stored once."""
    series: tuple[str, ...] = ()
    """Columns that name one series (e.g. area and document type), not including time or version."""
    version_column: str | None = None
    """int64 microseconds when a value was published, for sources that re-issue values (forecasts); part
    of the key, so revisions are kept side by side. None: values are never revised."""

    def __post_init__(self) -> None:
        names = set(self.schema.names)
        wanted = {self.time_column, *self.key, *self.series}
        if self.version_column is not None:
            wanted.add(self.version_column)
            if self.version_column not in self.key:
                raise ValueError(f"version column {self.version_column!r} must be part of the key {self.key}")
        missing = sorted(wanted - names)
        if missing:
            raise ValueError(f"record schema: columns {missing} are not in the schema {self.schema.names}")
        for column in (self.time_column, self.version_column):
            if column is not None and self.schema.field(column).type != pa.int64():
                raise ValueError(f"record schema: column {column!r} must be int64 microseconds")
        if not self.key:
            raise ValueError("record schema: the key needs at least one column")


@dataclass(frozen=True, slots=True, kw_only=True)
class SourceSpec:
    """What one configured source delivers."""

    name: str
    """Instance name (matches :data:`SOURCE_NAME_PATTERN`): bus topic ``sources.<name>``, table ``src_<name>``."""
    kind: str
    """Registry kind that builds it: ``rest``, ``soap``, ``ftp``, ``sns``, ``entsoe``, ``websocket``, ..."""
    records: RecordSchema
    """The records it delivers."""
    periods_per_day: int | None = None
    """Distinct values of the time column one series has in a complete day (24 hourly, 96 quarter-hourly
    delivery periods); None: the source has no such expectation (trades)."""

    def __post_init__(self) -> None:
        check_source_name(self.name)
        if self.periods_per_day is not None and self.periods_per_day <= 0:
            raise ValueError(
                f"source {self.name}: periods_per_day must be positive, got {self.periods_per_day}"
            )

    @property
    def topic(self) -> str:
        """The bus topic of its records."""
        return source_topic(self.name)


@dataclass(frozen=True, slots=True, kw_only=True)
class Rejected:
    """A datapoint the source delivered that could not become a record, with why."""

    payload: bytes
    """What was received (a line, a message body, an XML element), as bytes."""
    reason: str
    """What was wrong with it, naming the field and the value."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SourceBatch:
    """What one fetch returned."""

    records: pa.Table
    """The new records, of the source's schema (possibly none)."""
    cursor: str | None
    """Where to resume after these records (opaque to everyone but the source); None: unchanged."""
    rejected: tuple[Rejected, ...] = ()
    """Datapoints that could not be made records; they go to the dead letters."""
    receipts: tuple[str, ...] = field(default=())
    """Source-side handles to release in :meth:`Source.ack` once the records are safe (SQS receipts)."""
    more: bool = False
    """True when the source has more records ready now (another page): fetch again without waiting."""


class Source(abc.ABC):
    """One configured source; used by one poller thread at a time."""

    spec: SourceSpec

    @abc.abstractmethod
    def fetch(self, cursor: str | None, *, timeout_s: float) -> SourceBatch:
        """The records after ``cursor`` (None: from the source's configured start), waiting at most about
        ``timeout_s`` for new ones.

        Raises :class:`SourceUnavailableError` when the source is down or asks to wait (the poller backs
        off and retries) and :class:`SourceError` for a failure retrying will not fix.
        """

    def ack(self, batch: SourceBatch) -> None:
        """Release ``batch`` at the source once its records are on the bus and its cursor saved."""

    def close(self) -> None:
        """Release connections."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def empty_records(schema: RecordSchema) -> pa.Table:
    """A table of no records of ``schema``."""
    return schema.schema.empty_table()
