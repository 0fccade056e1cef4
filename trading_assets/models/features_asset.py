"""The ``features`` asset: one day of model inputs per symbol, stored in the table store.

No ``from __future__ import annotations``: Dagster reads the annotations of decorated functions.
"""

import datetime as dt
import warnings

import dagster as dg
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from resources.archive.resource import TickArchiveResource
from resources.table_store.resource import TableStoreResource
from resources.tick_store.resource import TickStoreResource
from trading_assets.archive.reader import TickReader
from trading_assets.core.time import day_bounds_us
from trading_assets.market.assets import bars_1m
from trading_assets.market.partitions import DAILY, partition_day
from trading_assets.models.features import (
    FEATURE_COLUMNS,
    FEATURES_TABLE,
    WARMUP_BARS,
    compute_features,
    feature_code_digest,
)
from trading_assets.models.inputs import bars_for_features


def _warmup_mapping() -> dg.TimeWindowPartitionMapping:
    """The day and the day before it; the first partition's day before does not exist, and may not.

    Dagster 1.13 marks ``allow_nonexistent_upstream_partitions`` as beta and warns when it is set; that
    one warning is silenced here, only around this constructor.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message=".*allow_nonexistent_upstream_partitions", category=dg.BetaWarning
        )
        return dg.TimeWindowPartitionMapping(start_offset=-1, allow_nonexistent_upstream_partitions=True)


def _day_rows(table: pa.Table, day: dt.date) -> pa.Table:
    start_us, end_us = day_bounds_us(day)
    times = table["minute_us"]
    return table.filter(pc.and_(pc.greater_equal(times, start_us), pc.less(times, end_us)))


def features_metadata(table: pa.Table) -> dict[str, dg.MetadataValue]:
    """Rows, symbols and the share of rows still warming up (some feature NaN), as metadata."""
    if table.num_rows == 0:
        return {"rows": dg.MetadataValue.int(0)}
    values = np.column_stack([table[name].to_numpy() for name in FEATURE_COLUMNS])
    incomplete = np.isnan(values).any(axis=1)
    per_symbol = table.group_by("symbol").aggregate([("minute_us", "count")]).sort_by("symbol")
    rows = "\n".join(
        f"| {symbol} | {count:,} |"
        for symbol, count in zip(
            per_symbol["symbol"].to_pylist(), per_symbol["minute_us_count"].to_pylist(), strict=True
        )
    )
    return {
        "rows": dg.MetadataValue.int(table.num_rows),
        "symbols": dg.MetadataValue.int(per_symbol.num_rows),
        "features": dg.MetadataValue.int(len(FEATURE_COLUMNS)),
        "warming_up_rows": dg.MetadataValue.int(int(incomplete.sum())),
        "rows_per_symbol": dg.MetadataValue.md(f"| symbol | rows |\n|---|---|\n{rows}"),
    }


@dg.asset(
    partitions_def=DAILY,
    group_name="models",
    kinds={"xgboost", "parquet"},
    deps=[
        # The day's bars and the day before's (the warm-up of the longest window).
        dg.AssetDep(bars_1m, partition_mapping=_warmup_mapping())
    ],
)
def features(
    context: dg.AssetExecutionContext,
    table_store: TableStoreResource,
    tick_store: TickStoreResource,
    tick_archive: TickArchiveResource,
) -> dg.MaterializeResult:
    """Model inputs per symbol and 1-minute bar of a day: multi-horizon returns, realized volatility,
    volume and trade-count z-scores, order-flow imbalance, distance to VWAP, time of day. Computed by
    one pure function over row windows (``trading_assets.models.features``) from the day's bars plus the
    day before as warm-up; stored in the table store (table ``features``, the day replaced atomically).
    Labels are not stored: they need later bars and are made when a training window is assembled."""
    day = partition_day(context.partition_key)
    with table_store.open() as store, tick_store.open() as ticks, tick_archive.open() as archive:
        source = bars_for_features(store, day, TickReader(ticks, archive).read_day)
        table = _day_rows(compute_features(source.bars), day)
        store.write_partition(FEATURES_TABLE, day, table)
    return dg.MaterializeResult(
        metadata={
            **features_metadata(table),
            "warmup_bars": dg.MetadataValue.int(WARMUP_BARS),
            "feature_code_digest": dg.MetadataValue.text(feature_code_digest()),
            "bars_from": dg.MetadataValue.json(source.sources),
        }
    )
