"""The daily partitions every tick-derived asset shares: one UTC day of exchange trade time."""

from __future__ import annotations

import datetime as dt

import dagster as dg

from trading_assets.core.time import parse_day

# The last partition is yesterday: only closed days are sealed, so today is never a partition.
DAILY = dg.DailyPartitionsDefinition(start_date="2024-01-01", timezone="UTC")


def partition_day(partition_key: str) -> dt.date:
    """The day of a partition key (``YYYY-MM-DD``)."""
    return parse_day(partition_key)
