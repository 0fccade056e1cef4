"""Source specs and rows the source domain tests share: a forecast with versions and a price without."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa

from resources.sources.base import RecordSchema, SourceSpec
from trading_assets.core.time import US_PER_DAY, day_start_us

DAY = dt.date(2024, 3, 2)
HOUR_US = US_PER_DAY // 24

FORECAST = SourceSpec(
    name="load_forecast",
    kind="test",
    records=RecordSchema(
        schema=pa.schema(
            [
                pa.field("area", pa.string(), nullable=False),
                pa.field("delivery_us", pa.int64(), nullable=False),
                pa.field("published_us", pa.int64(), nullable=False),
                pa.field("mw", pa.float64(), nullable=False),
            ]
        ),
        time_column="delivery_us",
        key=("area", "delivery_us", "published_us"),
        series=("area",),
        version_column="published_us",
    ),
    periods_per_day=24,
)

PRICES = SourceSpec(
    name="da_prices",
    kind="test",
    records=RecordSchema(
        schema=pa.schema(
            [
                pa.field("delivery_us", pa.int64(), nullable=False),
                pa.field("price", pa.float64(), nullable=False),
            ]
        ),
        time_column="delivery_us",
        key=("delivery_us",),
    ),
    periods_per_day=24,
)


def hour(day: dt.date, number: int) -> int:
    """The start of hour ``number`` of ``day`` in microseconds."""
    return day_start_us(day) + number * HOUR_US


def forecast_rows(rows: list[tuple[str, int, int, float]]) -> pa.Table:
    """Forecast rows from (area, delivery_us, published_us, mw) tuples."""
    return pa.Table.from_pylist(
        [{"area": a, "delivery_us": d, "published_us": p, "mw": m} for a, d, p, m in rows],
        schema=FORECAST.records.schema,
    )


def full_forecast_day(day: dt.date, areas: tuple[str, ...] = ("DE", "FR"), *, versions: int = 1) -> pa.Table:
    """Every hour of ``day`` for each area, each hour issued ``versions`` times (the day before, an hour apart)."""
    issued = day_start_us(day) - 12 * HOUR_US
    return forecast_rows(
        [
            (area, hour(day, h), issued + v * HOUR_US, 1000.0 + h + 0.5 * v)
            for area in areas
            for h in range(24)
            for v in range(versions)
        ]
    )
