"""A toy source kind, complete in this one module: what docs/SOURCES.md walks through.

``toy`` delivers meter readings, one a minute per meter, counting up from a start time; every
``bad_every``-th reading comes malformed (rejected with its reason) and a reading may be re-issued with
a later publish time (a revision). Its cursor is the next reading's number, so a restarted poller goes on
where the saved cursor says.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from resources.sources.base import (
    RecordSchema,
    Rejected,
    Source,
    SourceBatch,
    SourceSpec,
    SourceUnavailableError,
)
from resources.sources.kind import SourceKind

US_PER_MINUTE = 60_000_000

RECORDS = RecordSchema(
    schema=pa.schema(
        [
            ("meter", pa.string()),
            ("reading_time_us", pa.int64()),
            ("published_us", pa.int64()),
            ("kwh", pa.float64()),
        ]
    ),
    time_column="reading_time_us",
    key=("meter", "reading_time_us", "published_us"),
    series=("meter",),
    version_column="published_us",
)


@dataclass(frozen=True, slots=True, kw_only=True)
class ToyConfig:
    """Options of a toy source."""

    name: str
    """The source's name."""
    meters: tuple[str, ...] = ("m1",)
    """Meters to read."""
    start_us: int = 1_700_006_400_000_000
    """Time of the first reading (2023-11-15 00:00 UTC)."""
    total: int = 100
    """Readings per meter the source has in all."""
    per_fetch: int = 30
    """Readings per meter one fetch returns at most."""
    bad_every: int = 0
    """Every this many readings is malformed (0: none)."""
    down_fetches: int = 0
    """The first this many fetches fail as if the provider were down."""


class ToySource(Source):
    """The toy source: readings ``cursor .. cursor + per_fetch`` per meter, each fetch."""

    def __init__(self, config: ToyConfig) -> None:
        self.config = config
        self.spec = SourceSpec(name=config.name, kind="toy", records=RECORDS, periods_per_day=1440)
        self._down = config.down_fetches

    def fetch(self, cursor: str | None, *, timeout_s: float) -> SourceBatch:
        if self._down > 0:
            self._down -= 1
            raise SourceUnavailableError("toy provider is down (HTTP 503)", retry_after_s=0.01)
        first = 0 if cursor is None else int(cursor)
        last = min(first + self.config.per_fetch, self.config.total)
        rows: dict[str, list[object]] = {name: [] for name in RECORDS.schema.names}
        rejected: list[Rejected] = []
        for n in range(first, last):
            for meter in self.config.meters:
                if self.config.bad_every and n % self.config.bad_every == self.config.bad_every - 1:
                    rejected.append(
                        Rejected(payload=f"{meter},{n},NaN".encode(), reason=f"reading {n}: kwh='NaN'")
                    )
                    continue
                reading_us = self.config.start_us + n * US_PER_MINUTE
                rows["meter"].append(meter)
                rows["reading_time_us"].append(reading_us)
                rows["published_us"].append(reading_us + US_PER_MINUTE)
                rows["kwh"].append(n * 1.5)
        return SourceBatch(
            records=pa.table(rows, schema=RECORDS.schema),
            cursor=str(last),
            rejected=tuple(rejected),
            more=last < self.config.total,
        )


KIND = SourceKind(name="toy", config_type=ToyConfig, build=ToySource, summary="meter readings for tests")
"""What registering the toy kind takes: ``register_kind(KIND)`` (a built-in kind is a line in the registry)."""
