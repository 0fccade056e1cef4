"""The daily partitions every tick-derived asset shares: one UTC day of exchange trade time.

They start early enough for the venues' whole history (Binance lists trades from 2017), so a replayed or
backfilled day of any age is a partition. The first day is configurable with
``TRADEGRAPH_PARTITIONS_START`` (``YYYY-MM-DD``), read once when the code location is loaded: a
partitions definition is part of the definitions, not of a run.
"""

from __future__ import annotations

import datetime as dt
import os
import warnings
from collections.abc import Iterable, Mapping
from typing import Any

import dagster as dg

from trading_assets.core.time import parse_day

PARTITIONS_START_ENV = "TRADEGRAPH_PARTITIONS_START"
"""Environment variable naming the first daily partition."""
DEFAULT_START = dt.date(2017, 1, 1)
"""The first partition unless configured: before the first trade of any venue the project reads."""


def partitions_start(environ: Mapping[str, str] = os.environ) -> dt.date:
    """The first daily partition: ``TRADEGRAPH_PARTITIONS_START`` if set, else :data:`DEFAULT_START`."""
    value = environ.get(PARTITIONS_START_ENV, "").strip()
    if not value:
        return DEFAULT_START
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ValueError(
            f"{PARTITIONS_START_ENV}={value!r} is not a day; set a date like "
            f"{PARTITIONS_START_ENV}={DEFAULT_START.isoformat()}"
        ) from None


def daily_partitions(start: dt.date) -> dg.DailyPartitionsDefinition:
    """UTC days from ``start``; the last partition is yesterday (only closed days are sealed)."""
    return dg.DailyPartitionsDefinition(start_date=start.isoformat(), timezone="UTC")


DAILY = daily_partitions(partitions_start())


def partition_day(partition_key: str) -> dt.date:
    """The day of a partition key (``YYYY-MM-DD``)."""
    return parse_day(partition_key)


def first_day(partitions: dg.DailyPartitionsDefinition = DAILY) -> dt.date:
    """The first day of ``partitions``."""
    return partitions.start.date()


def outside_partitions(
    days: Iterable[dt.date], partitions: dg.DailyPartitionsDefinition = DAILY
) -> list[dt.date]:
    """Days of ``days`` before the first partition: their trades are stored but no asset can seal them."""
    start = first_day(partitions)
    return sorted({day for day in days if day < start})


def daily_check_spec(name: str, *, asset: str, **kwargs: Any) -> dg.AssetCheckSpec:
    """An asset check of a daily asset, evaluated per partition like the asset (see :func:`check_spec`)."""
    return check_spec(name, asset=asset, partitions_def=DAILY, **kwargs)


def check_spec(
    name: str, *, asset: str, partitions_def: dg.PartitionsDefinition, **kwargs: Any
) -> dg.AssetCheckSpec:
    """An asset check of a partitioned asset, evaluated per partition like the asset.

    Without ``partitions_def`` on the spec, Dagster 1.13 records a planned evaluation for the run's
    partition but the evaluation itself without one: the UI then lists the latest result under partition
    "—" and every run leaves a planned row that ends as "Skipped". A partitioned spec makes both one row
    of the right partition. Dagster 1.13 marks ``AssetCheckSpec(partitions_def=...)`` as a preview and
    warns when it is built; that one warning is silenced here, only around this constructor (the
    behaviour is pinned by tests/trading_assets/market/test_assets.py and the UI test).
    """
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message=".*partitions_def on an AssetCheckSpec", category=dg.PreviewWarning
        )
        return dg.AssetCheckSpec(name, asset=asset, partitions_def=partitions_def, **kwargs)
