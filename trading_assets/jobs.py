"""Jobs of the code location, shared by the sensors and schedules that launch them and by the demo.

``day_pipeline`` is "this day, everything": every daily asset of one partition in one run (seal, bars,
archive), so a day is never left half synced. The others are its parts, launched by the sensor and
schedules, and retention, which is not daily.
"""

from __future__ import annotations

import dagster as dg

DAILY_ASSETS = ("tick_partition", "bars_1m", "tick_archive", "features")
"""Every daily-partitioned asset, in the order a day flows through them."""

day_pipeline_job = dg.define_asset_job(
    "day_pipeline",
    selection=list(DAILY_ASSETS),
    description="One day, everything: seal (gap fill, dedupe, checks), 1-minute bars, the verified "
    "archive and the model features of a partition, in one run.",
)

seal_and_bars_job = dg.define_asset_job(
    "seal_and_bars",
    selection=["tick_partition", "bars_1m", "features"],
    description="Seal a closed day (gap fill, dedupe, checks) and compute its 1-minute bars and features.",
)

archive_job = dg.define_asset_job(
    "archive_ticks",
    selection=["tick_archive"],
    description="Archive a sealed day to Parquet and verify it (no day leaves the store here).",
)

retention_job = dg.define_asset_job(
    "store_retention",
    selection=["hot_retention"],
    description="Drop from the tick store the days that are archived, verified and older than the hot "
    "retention; the materialization lists the days dropped.",
)

MODEL_ASSETS = ("trained_models", "backtest", "champion_model")
"""The per-symbol model assets, in the order a retrain flows through them."""

retrain_job = dg.define_asset_job(
    "retrain_models",
    selection=list(MODEL_ASSETS),
    description="Retrain one symbol's model on its trailing window of features, backtest it walk-forward, "
    "and let the champion gate decide whether it replaces the champion.",
)

PAPER_ASSETS = ("paper_fills", "portfolio_daily")
"""The paper-trading assets of a day, in the order a day's fills flow through them."""

paper_trading_job = dg.define_asset_job(
    "paper_trading",
    selection=list(PAPER_ASSETS),
    description="Describe one day of the paper executor's ledger: its fills, orders and risk denials, and "
    "the portfolio's day (PnL, drawdown, exposure, turnover, attribution by model version).",
)


source_days_job = dg.define_asset_job(
    "source_days",
    selection=dg.AssetSelection.groups("sources"),
    description="Each source's day: read from its table, checked (completeness, duplicates, revisions).",
)
