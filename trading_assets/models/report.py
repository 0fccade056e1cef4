"""Metadata of the model assets: the numbers and pictures the Dagster UI shows beside MLflow's."""

from __future__ import annotations

import base64
import datetime as dt
import math
from collections.abc import Mapping, Sequence

import dagster as dg

SCORES_SHOWN = (
    "total_return",
    "sharpe",
    "sortino",
    "max_drawdown",
    "calmar",
    "hit_rate",
    "turnover",
    "exposure",
    "trades",
)
"""Backtest metrics the model assets show side by side (model, champion, baselines)."""

BASELINE_SCORES = ("total_return", "sharpe")
"""Metrics of each naive baseline also kept as numbers (``baseline_<name>_<metric>``), beside the table."""


def png_md(png: bytes, *, alt: str) -> dg.MetadataValue:
    """A PNG as Markdown metadata (the UI opens it from "Show Markdown")."""
    return dg.MetadataValue.md(f"![{alt}](data:image/png;base64,{base64.b64encode(png).decode()})")


def _number(value: float) -> str:
    if isinstance(value, float) and not math.isfinite(value):
        return "-"
    if isinstance(value, int) or float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:.4f}"


def metrics_table(columns: Mapping[str, Mapping[str, float]], *, names: Sequence[str]) -> dg.MetadataValue:
    """A Markdown table: one row per metric of ``names``, one column per entry of ``columns``."""
    header = "| metric | " + " | ".join(columns) + " |\n|---|" + "---|" * len(columns)
    rows = [
        f"| {name} | " + " | ".join(_number(values.get(name, math.nan)) for values in columns.values()) + " |"
        for name in names
    ]
    return dg.MetadataValue.md("\n".join([header, *rows]))


def time_text(time_us: int) -> str:
    """An ISO UTC time of a µs timestamp."""
    return dt.datetime.fromtimestamp(time_us / 1e6, dt.UTC).isoformat()


def float_metadata(metrics: Mapping[str, float], *, prefix: str = "") -> dict[str, dg.MetadataValue]:
    """Each finite metric as float metadata (Dagster plots numeric metadata over materializations)."""
    return {
        f"{prefix}{name}": dg.MetadataValue.float(float(value))
        for name, value in metrics.items()
        if math.isfinite(float(value))
    }


def baseline_scores(baselines: Mapping[str, Mapping[str, float]]) -> dict[str, float]:
    """The :data:`BASELINE_SCORES` of each baseline (name -> its metrics), named
    ``baseline_<name>_<metric>``: kept as MLflow metrics and float metadata, so a summary or a plot reads
    them without parsing the scores table."""
    return {
        f"baseline_{name}_{key}": value
        for name, metrics in baselines.items()
        for key, value in metrics.items()
        if key in BASELINE_SCORES
    }
