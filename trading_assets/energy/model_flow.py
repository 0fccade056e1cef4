"""What ``energy_model`` and ``energy_backtest`` do: fit and register the spread model of a trailing
window, then walk forward over its last days beside the baselines and log that to the version's run."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import dagster as dg
import numpy as np

from resources.model_registry.base import ModelRegistry
from resources.table_store.base import TableStore
from trading_assets.backtest.plots import equity_curve_png
from trading_assets.core.time import parse_day
from trading_assets.energy.backtest import (
    BASELINES,
    baseline_positions,
    positions,
    spread_backtest,
    summary,
)
from trading_assets.energy.config import EnergyConfig
from trading_assets.energy.dataset import fit_validation_split, read_dataset, walk_forward
from trading_assets.energy.features import FEATURE_COLUMNS, feature_code_digest, features_table
from trading_assets.energy.inputs import HOURS
from trading_assets.energy.run_config import (
    EnergyBacktestRunConfig,
    EnergyModelRef,
    EnergyTrainingRunConfig,
    training_config,
)
from trading_assets.models.plots import importance_png
from trading_assets.models.provenance import code_version
from trading_assets.models.report import SCORES_SHOWN, float_metadata, metrics_table, png_md, time_text
from trading_assets.models.training import fit
from trading_assets.models.window import choose_window

ENERGY_SCORES = (*SCORES_SHOWN, "pnl_eur", "traded_hours")
"""Backtest numbers shown side by side for the model and its baselines."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Outcome:
    """What an energy model asset returns: its value and its metadata."""

    metrics: dict[str, float]
    """The numbers (fit or walk-forward)."""
    metadata: dict[str, dg.MetadataValue]
    """What the asset records."""


def train_and_register(
    store: TableStore, registry: ModelRegistry, config: EnergyConfig, run: EnergyTrainingRunConfig
) -> tuple[EnergyModelRef, Outcome]:
    """Fit the spread model on the trailing window of ``run`` and register it as a new version."""
    table = features_table(config.area)
    try:
        window = choose_window(
            [partition.day for partition in store.days(table)],
            train_days=run.train_days - run.validation_days,
            holdout_days=run.validation_days,
            end_day=None if run.end_day is None else parse_day(run.end_day),
        )
    except ValueError as exc:
        # choose_window speaks of the crypto `features` asset; here the days come from energy_features.
        reason = str(exc).replace("`features`", "`energy_features`")
        raise dg.Failure(f"{config.model_name}: no training window in table {table.name}: {reason}") from exc
    dataset = read_dataset(store, config.area, window.first_day, window.last_day)
    split = fit_validation_split(dataset, validation_days=run.validation_days, lead_hours=config.lead_hours)
    training = training_config(run.seed, run.params())
    fitted = fit(
        training,
        train_x=dataset.features.iloc[split.train].reset_index(drop=True),
        train_y=dataset.spread[split.train],
        validation_x=dataset.features.iloc[split.test].reset_index(drop=True),
        validation_y=dataset.spread[split.test],
    )
    name = config.model_name
    digest = dataset.digest()
    tags = {
        "tradegraph.area": config.area,
        "tradegraph.example": "energy",
        "tradegraph.window": f"{window.first_day}..{window.last_day}",
        "tradegraph.sources": ",".join(config.sources),
        "tradegraph.training_data_digest": digest,
        "tradegraph.feature_code_digest": feature_code_digest(),
        "tradegraph.code_version": code_version(),
        "tradegraph.decision_hour_utc": str(config.decision_hour_utc),
    }
    params = {
        **fitted.params.as_dict(),
        "kind": "regression",
        "label": "intraday_vwap_minus_day_ahead",
        "features": ",".join(FEATURE_COLUMNS),
        "train_days": run.train_days,
        "validation_days": run.validation_days,
        "seed": run.seed,
        "fee_eur_per_mwh": config.fee_eur_per_mwh,
        "threshold_eur_per_mwh": config.threshold,
        "position_mw": config.position_mw,
    }
    png = importance_png(fitted.importance, title=f"{name}: feature importance (gain)")
    version = registry.register(
        name=name,
        model=fitted.model,
        input_example=dataset.features.head(5),
        params=params,
        metrics=fitted.metrics,
        tags=tags,
        artifacts={"feature_importance.png": png},
    )
    ref = EnergyModelRef(
        area=config.area,
        name=name,
        version=version.version,
        run_id=version.run_id,
        first_day=window.first_day,
        last_day=window.last_day,
        params=fitted.params,
        seed=run.seed,
    )
    metadata = {
        "model": dg.MetadataValue.text(f"{name} v{version.version}"),
        "mlflow_run_id": dg.MetadataValue.text(version.run_id),
        "mlflow_ui": dg.MetadataValue.text(registry.ui_hint),
        "window": dg.MetadataValue.text(f"{window.first_day}..{window.last_day}"),
        "validation_from": dg.MetadataValue.text(window.holdout_first_day.isoformat()),
        "fit_rows": dg.MetadataValue.int(len(split.train)),
        "validation_rows": dg.MetadataValue.int(len(split.test)),
        "params": dg.MetadataValue.json(fitted.params.as_dict()),
        "training_data_digest": dg.MetadataValue.text(digest),
        **float_metadata(fitted.metrics),
        "feature_importance": png_md(png, alt="feature importance"),
    }
    return ref, Outcome(metrics=dict(fitted.metrics), metadata=metadata)


def backtest_model(
    store: TableStore,
    registry: ModelRegistry,
    config: EnergyConfig,
    model: EnergyModelRef,
    run: EnergyBacktestRunConfig,
) -> Outcome:
    """Walk forward over the last ``run.test_days`` days of the version's window (each refitted on the
    labelled hours known before its decision), trade the predictions, compare with the baselines."""
    dataset = read_dataset(store, config.area, model.first_day, model.last_day)
    days = [
        model.first_day + dt.timedelta(days=n) for n in range((model.last_day - model.first_day).days + 1)
    ]
    # Never the first days: a test day needs training days before it plus the day its decision falls in.
    test_days = days[run.min_train_days + 1 :][-run.test_days :]
    if not test_days:
        raise dg.Failure(
            f"{model.name} v{model.version}: the window {model.first_day}..{model.last_day} is too short to "
            f"walk forward after {run.min_train_days} training day(s)"
        )
    oos = walk_forward(
        dataset,
        test_days,
        config=training_config(model.seed, model.params),
        params=model.params,
        lead_hours=config.lead_hours,
        min_train_rows=run.min_train_days * HOURS // 2,
    )
    # Hours that cannot be traded or settled (no day-ahead price or no intraday trade) are left out.
    rows = oos.rows[~np.isnan(dataset.spread[oos.rows])]
    predicted = oos.predictions[~np.isnan(dataset.spread[oos.rows])]
    prices = {"da_price": dataset.da_price[rows], "vwap": dataset.intraday_vwap[rows]}
    common = {"fee_per_mwh": config.fee_eur_per_mwh, "capital": config.capital_eur, **prices}
    held = positions(predicted, threshold=config.threshold, size_mw=config.position_mw)
    result = spread_backtest(dataset.delivery_us[rows], held, **common)
    baselines = {
        name: spread_backtest(
            dataset.delivery_us[rows],
            baseline_positions(name, len(rows), size_mw=config.position_mw),
            **common,
        )
        for name in BASELINES
    }
    metrics = summary(result)
    truth = dataset.spread[rows]
    metrics["oos_rmse"] = float(np.sqrt(np.mean((truth - predicted) ** 2)))
    metrics["oos_sign_accuracy"] = float(np.mean(np.sign(truth) == np.sign(predicted)))
    title = f"{model.name} v{model.version}: walk-forward, {len(oos.days)} out-of-sample days"
    png = equity_curve_png(result, baselines=baselines, title=title)
    registry.log_to_run(
        model.run_id,
        metrics={f"backtest_{k}": v for k, v in metrics.items() if math.isfinite(v)}
        | {
            f"baseline_{name}_{k}": v
            for name, r in baselines.items()
            for k, v in summary(r).items()
            if k in ("pnl_eur", "total_return", "sharpe") and math.isfinite(v)
        },
        artifacts={"equity_curve.png": png},
        tags={"tradegraph.backtest_days": ",".join(day.isoformat() for day in oos.days)},
    )
    columns = {f"v{model.version}": metrics, **{name: summary(r) for name, r in baselines.items()}}
    metadata = {
        "model": dg.MetadataValue.text(f"{model.name} v{model.version}"),
        "out_of_sample": dg.MetadataValue.text(
            f"{time_text(int(dataset.delivery_us[rows[0]]))} .. {time_text(int(dataset.delivery_us[rows[-1]]))}"
        ),
        "test_days": dg.MetadataValue.int(len(oos.days)),
        "scored_hours": dg.MetadataValue.int(len(rows)),
        "train_rows_per_day": dg.MetadataValue.text(", ".join(str(n) for n in oos.train_rows)),
        "scores": metrics_table(columns, names=ENERGY_SCORES),
        **float_metadata(metrics),
        **{f"{name}_pnl_eur": dg.MetadataValue.float(summary(r)["pnl_eur"]) for name, r in baselines.items()},
        "equity_curve": png_md(png, alt="walk-forward equity"),
    }
    return Outcome(metrics=metrics, metadata=metadata)
