"""The daily partitions every tick-derived asset shares: one UTC day of exchange trade time."""

from __future__ import annotations

import datetime as dt

import dagster as dg

from trading_assets.market.ticks import US_PER_DAY

# The last partition is yesterday: only closed days are sealed, so today is never a partition.
DAILY = dg.DailyPartitionsDefinition(start_date="2024-01-01", timezone="UTC")


def partition_day(partition_key: str) -> dt.date:
    """The day of a partition key (``YYYY-MM-DD``)."""
    return dt.date.fromisoformat(partition_key)


def day_bounds_us(day: dt.date) -> tuple[int, int]:
    """``[start, end)`` of ``day`` in microseconds since epoch."""
    start = (day - dt.date(1970, 1, 1)).days * US_PER_DAY
    return start, start + US_PER_DAY
