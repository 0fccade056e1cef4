"""Jobs over the daily tick assets, shared by the sensors and schedules that launch them."""

from __future__ import annotations

import dagster as dg

seal_and_bars_job = dg.define_asset_job(
    "seal_and_bars",
    selection=["tick_partition", "bars_1m"],
    description="Seal a closed day (gap fill, dedupe, checks) and compute its 1-minute bars.",
)

archive_job = dg.define_asset_job(
    "archive_ticks",
    selection=["tick_archive"],
    description="Archive a sealed day to Parquet and drop store partitions past the hot retention.",
)
