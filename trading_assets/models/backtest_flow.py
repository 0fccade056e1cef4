"""What ``backtest`` does for one new version: the walk-forward backtest of its recipe, logged to its
MLflow run and stored as ``backtested_signals_<symbol>``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

import dagster as dg
import numpy as np

from resources.model_registry.base import ModelRegistry
from resources.table_store.base import TableStore
from trading_assets.backtest.plots import equity_curve_png
from trading_assets.models.champion import GateConfig, Scorecard, sanity
from trading_assets.models.dataset import build_dataset, read_window
from trading_assets.models.evaluation import walk_forward, walk_forward_backtest, walk_forward_baselines
from trading_assets.models.refs import TrainedModelRef
from trading_assets.models.report import (
    SCORES_SHOWN,
    baseline_scores,
    float_metadata,
    metrics_table,
    png_md,
    time_text,
)
from trading_assets.models.run_config import GateRunConfig
from trading_assets.models.signal_store import signal_rows, write_signals
from trading_assets.models.spec import ModelSpec


@dataclass(frozen=True, slots=True, kw_only=True)
class BacktestOutcome:
    """The walk-forward backtest of one version."""

    metrics: Mapping[str, float]
    """Metrics of the chained out-of-sample windows, net of costs."""
    sane: bool
    """Whether the sanity gates passed."""
    sanity_reasons: tuple[str, ...]
    """One line per sanity gate."""
    metadata: dict[str, dg.MetadataValue]
    """What the asset records."""


def backtest_symbol(
    store: TableStore, registry: ModelRegistry, model: TrainedModelRef, config: GateRunConfig
) -> BacktestOutcome:
    """Walk forward over the last ``config.walk_forward_folds`` days of the version's window."""
    spec = ModelSpec.from_json(model.spec_json)
    table = read_window(store, model.symbol, model.first_day, model.last_day)
    dataset = build_dataset(table, spec)
    # The last days of the window, each predicted by a refit on every day before it: never the first
    # day, which has nothing before it to learn from.
    days = [
        model.first_day + dt.timedelta(days=offset)
        for offset in range((model.last_day - model.first_day).days + 1)
    ]
    test_days = days[1:][-config.walk_forward_folds :]
    oos = walk_forward(dataset, spec, spec.training.params, test_days)
    if not oos.windows:
        raise dg.Failure(f"{model.name} v{model.version}: no out-of-sample rows in {test_days}")
    chained = walk_forward_backtest(dataset, oos, spec)
    chained_baselines = walk_forward_baselines(dataset, oos, spec)
    metrics = chained.metrics.as_dict()
    gate = GateConfig(min_trades=config.min_trades, max_drawdown=config.max_drawdown, metric=config.metric)
    sane, reasons = sanity(Scorecard(name=f"v{model.version}", metrics=metrics), gate)
    title = f"{model.name} v{model.version}: walk-forward, {len(oos.windows)} out-of-sample days"
    png = equity_curve_png(chained, baselines=chained_baselines, title=title)
    baselines_named = baseline_scores({name: r.metrics.as_dict() for name, r in chained_baselines.items()})
    registry.log_to_run(
        model.run_id,
        metrics={f"backtest_{name}": value for name, value in metrics.items() if np.isfinite(value)}
        | {name: value for name, value in baselines_named.items() if np.isfinite(value)},
        artifacts={"equity_curve.png": png},
        tags={"tradegraph.backtest_sane": str(sane).lower()},
    )
    stored = write_signals(
        store,
        signal_rows(
            symbol=model.symbol,
            version=model.version,
            minute_us=[dataset.minute_us[rows] for rows in oos.windows],
            predictions=list(oos.predictions),
            signals=list(oos.signals),
            positions=_split(chained.position, oos.windows),
            equity=_split(chained.equity, oos.windows),
        ),
    )
    first, last = int(dataset.minute_us[oos.windows[0][0]]), int(dataset.minute_us[oos.windows[-1][-1]])
    columns = {f"v{model.version}": metrics, **{n: r.metrics.as_dict() for n, r in chained_baselines.items()}}
    metadata = {
        "model": dg.MetadataValue.text(f"{model.name} v{model.version}"),
        "out_of_sample": dg.MetadataValue.text(f"{time_text(first)} .. {time_text(last)}"),
        "folds": dg.MetadataValue.int(len(oos.windows)),
        "signals_stored_days": dg.MetadataValue.text(", ".join(day.isoformat() for day in stored)),
        "sanity": dg.MetadataValue.md("\n".join(f"- {reason}" for reason in reasons)),
        "scores": metrics_table(columns, names=SCORES_SHOWN),
        **float_metadata(metrics),
        # The baselines over the same out-of-sample windows, as numbers too (the scores table shows them all).
        **float_metadata(baselines_named),
        "equity_curve": png_md(png, alt="walk-forward equity"),
    }
    return BacktestOutcome(metrics=metrics, sane=sane, sanity_reasons=tuple(reasons), metadata=metadata)


def _split(values: np.ndarray, windows: tuple[np.ndarray, ...]) -> list[np.ndarray]:
    """Per-bar values of the chained windows, cut back into one array per window."""
    return list(np.split(values, np.cumsum([len(rows) for rows in windows])[:-1]))
