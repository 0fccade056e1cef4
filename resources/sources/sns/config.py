"""The options of an ``sns`` source: where its queue is, what its messages hold, how long to wait."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import pyarrow as pa

from resources.sources.base import RecordSchema, SourceSpec
from resources.sources.columns import COLUMN_TYPES

ColumnType = Literal["string", "int64", "float64", "bool"]
"""The value types a message field may have."""

MESSAGE_ID = "message_id"
"""Column of every record: the SNS message id (stable across SQS redeliveries), part of the key."""
PUBLISHED_US = "published_us"
"""Column of every record: when SNS accepted the message (envelope ``Timestamp``), int64 microseconds."""
ENVELOPE_COLUMNS = (MESSAGE_ID, PUBLISHED_US)

SQS_MAX_WAIT_S = 20
"""SQS refuses long polls longer than this."""
SQS_MAX_PER_RECEIVE = 10
"""SQS returns at most this many messages per ReceiveMessage (and deletes this many per batch)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SnsConfig:
    """An SNS topic read through an SQS queue subscribed to it."""

    name: str
    """The source's name (bus topic ``sources.<name>``, table ``src_<name>``)."""
    queue_url: str | None = None
    """URL of the SQS queue subscribed to the topic; or give ``topic_arn`` and ``queue_name``."""
    topic_arn: str | None = None
    """ARN of the SNS topic; needed with ``create_subscription``."""
    queue_name: str | None = None
    """Name of the queue to use (and create with ``create_subscription``) when ``queue_url`` is not given."""
    create_subscription: bool = False
    """Create the queue, its policy letting the topic send to it, and the subscription (idempotent)."""
    columns: Mapping[str, ColumnType]
    """Message field -> type of the record's value columns (not the time and version columns)."""
    time_column: str
    """Message field holding the time the value is for: ISO-8601 text or an epoch number (``epoch_unit``)."""
    epoch_unit: Literal["s", "ms", "us"] = "s"
    """Unit of epoch numbers in the time and version fields."""
    key: tuple[str, ...] = ()
    """Columns naming one record (the message id is always added); empty: series, time and version."""
    series: tuple[str, ...] = ()
    """Columns naming one series."""
    version_column: str | None = None
    """Message field holding when a revised value was published (a time like ``time_column``), or
    ``published_us`` to use the SNS publish time; None: values are never revised."""
    periods_per_day: int | None = None
    """Distinct times one series has in a complete day (24, 96); None: no such expectation."""
    endpoint_url: str | None = None
    """SNS/SQS endpoint (a moto or LocalStack server); None: AWS's endpoint for ``region``."""
    region: str = "us-east-1"
    """AWS region of the topic and queue."""
    raw_message_delivery: bool = False
    """The subscription delivers the bare message (no SNS envelope); the SQS message id then names it."""
    wait_time_s: int = 20
    """Longest long poll per fetch (SQS allows at most 20 s); cut to the fetch's timeout."""
    max_messages: int = 100
    """Most messages one fetch returns (received 10 at a time)."""
    visibility_timeout_s: int | None = None
    """Seconds a received message stays hidden before SQS delivers it again; None: the queue's setting."""
    connect_timeout_s: float = 5.0
    """TCP connect timeout of every call."""
    read_timeout_s: float = 10.0
    """Read timeout of every call, on top of the long poll's wait."""

    def __post_init__(self) -> None:
        if self.queue_url is None and self.queue_name is None:
            raise ValueError("give queue_url, or queue_name (with topic_arn and create_subscription)")
        if self.create_subscription and self.topic_arn is None:
            raise ValueError("create_subscription needs topic_arn")
        if not 0 <= self.wait_time_s <= SQS_MAX_WAIT_S:
            raise ValueError(
                f"wait_time_s must be within 0..{SQS_MAX_WAIT_S} (SQS's limit), got {self.wait_time_s}"
            )
        if self.max_messages < 1:
            raise ValueError(f"max_messages must be at least 1, got {self.max_messages}")
        if self.visibility_timeout_s is not None and not 0 <= self.visibility_timeout_s <= 43_200:
            raise ValueError(f"visibility_timeout_s must be within 0..43200, got {self.visibility_timeout_s}")
        reserved = [c for c in (self.time_column, *self.columns) if c in ENVELOPE_COLUMNS]
        if reserved:
            raise ValueError(
                f"columns {reserved} are filled from the SNS envelope; rename the message fields"
            )
        if self.time_column in self.columns:
            raise ValueError(f"time_column {self.time_column!r} must not also be listed in columns")
        if self.version_field is not None and self.version_field in (*self.columns, self.time_column):
            raise ValueError(f"version_column {self.version_column!r} must be its own message field")
        # Builds the record schema, so a wrong key or series column is reported when the file is loaded.
        self.spec()

    @property
    def version_field(self) -> str | None:
        """The message field the version is read from (None: none, or the envelope's publish time)."""
        return None if self.version_column in (None, PUBLISHED_US) else self.version_column

    def spec(self) -> SourceSpec:
        """What this source delivers: the value columns, time, version and the envelope's columns."""
        fields = [
            pa.field(column, COLUMN_TYPES[kind], nullable=False) for column, kind in self.columns.items()
        ]
        fields.append(pa.field(self.time_column, pa.int64(), nullable=False))
        if self.version_field is not None:
            fields.append(pa.field(self.version_field, pa.int64(), nullable=False))
        fields += [
            pa.field(MESSAGE_ID, pa.string(), nullable=False),
            pa.field(PUBLISHED_US, pa.int64(), nullable=False),
        ]
        base_key = self.key or (
            *self.series,
            self.time_column,
            *([self.version_column] if self.version_column else []),
        )
        key = tuple(dict.fromkeys((*base_key, MESSAGE_ID)))
        if self.version_column is not None and self.version_column not in key:
            key = (*key, self.version_column)
        records = RecordSchema(
            schema=pa.schema(fields),
            time_column=self.time_column,
            key=key,
            series=self.series,
            version_column=self.version_column,
        )
        return SourceSpec(name=self.name, kind="sns", records=records, periods_per_day=self.periods_per_day)
