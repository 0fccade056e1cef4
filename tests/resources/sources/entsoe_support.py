"""Shared by the entsoe source's tests: the simulated day, a source on the simulator, record helpers."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa

from resources.sources.base import SourceBatch
from resources.sources.entsoe import EntsoeConfig, EntsoeSource
from trading_assets.core.time import day_start_us
from trading_assets.services.energy_sim import EntsoeApiServer

TOKEN = "sim-token-5f2a"
DE_LU = "10Y1001A1001A82H"
TODAY = dt.date(2026, 11, 30)
TOMORROW = TODAY + dt.timedelta(days=1)
HOUR_US = 3_600_000_000


def at(day: dt.date, hour: float) -> float:
    """Unix seconds of ``hour`` (UTC) on ``day``."""
    return day_start_us(day) / 1e6 + hour * 3600


def entsoe_source(api: EntsoeApiServer, **options: object) -> EntsoeSource:
    """An entsoe source on the simulator (day-ahead prices of DE_LU from TODAY unless ``options`` say else)."""
    values: dict[str, object] = {
        "name": "entsoe_test",
        "url": api.url,
        "security_token": TOKEN,
        "document_type": "A44",
        "area": "DE_LU",
        "start": TODAY,
        "timeout_s": 5.0,
    }
    values.update(options)
    return EntsoeSource(EntsoeConfig(**values), clock=api.clock)  # type: ignore[arg-type]


def drain(source: EntsoeSource, cursor: str | None) -> tuple[list[SourceBatch], str | None]:
    """Fetch until the source has nothing more ready now: the batches and the last cursor."""
    batches = []
    for _ in range(50):
        batch = source.fetch(cursor, timeout_s=5.0)
        batches.append(batch)
        cursor = batch.cursor if batch.cursor is not None else cursor
        if not batch.more:
            return batches, cursor
    raise AssertionError("the source never caught up")


def records_of(batches: list[SourceBatch]) -> pa.Table:
    """All records of ``batches``."""
    return pa.concat_tables([b.records for b in batches])


def day_rows(records: pa.Table, day: dt.date) -> pa.Table:
    """The records whose delivery period starts on ``day`` (UTC)."""
    start = day_start_us(day)
    times = records.column("period_start_us").to_numpy()
    return records.filter(pa.array((times >= start) & (times < start + 24 * HOUR_US)))
