"""The model half of the demo: one ``retrain_models`` run per symbol (train, walk-forward backtest,
champion gate) on the days the demo ingested, recorded in the same Dagster instance as its day runs.

The demo's window is short (its days are few): it trains on all days but the last and scores champion and
challenger on the last. Costs are those of a low-fee account, so the planted trends of the demo's market
(trading_assets.services.demo) can pay for themselves while the pure random walks cannot.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
from tqdm import tqdm

from trading_assets.demo_graph import DEMO_RUN_CONFIG, MODELS_JOB, dagster_home, ensure_instance_yaml, run_job


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelResult:
    """What the model runs made of one symbol."""

    symbol: str
    """The symbol."""
    run_id: str
    """The retrain_models run."""
    succeeded: bool
    """Whether the run succeeded (a failed sanity check stops it before the gate)."""
    version: int | None
    """The version trained."""
    metrics: Mapping[str, float]
    """Walk-forward backtest metrics of the version's recipe, with its baselines' (``baseline_*``)."""
    walk_forward: str
    """The walk-forward backtest's out-of-sample span ("" without a backtest)."""
    gate_metrics: Mapping[str, float]
    """What the champion gate scored on its window: ``challenger_*`` and ``baseline_*`` metrics."""
    scoring_window: str
    """The champion gate's scoring window ("" when the gate did not run)."""
    decision: str
    """The champion gate's decision, or why there was none."""


def models_run_config(*, train_days: int, fee_bps: float) -> dict[str, object]:
    """Run config of the demo's model runs."""
    training = {"train_days": train_days, "holdout_days": 1, "fee_bps": fee_bps}
    gate = {"walk_forward_folds": 1, "min_trades": 5}
    return {
        **DEMO_RUN_CONFIG,
        "ops": {
            "trained_models": {"config": training},
            "backtest": {"config": gate},
            "champion_model": {"config": gate},
        },
    }


def _materializations(instance: dg.DagsterInstance, run_id: str) -> dict[str, dict[str, object]]:
    found: dict[str, dict[str, object]] = {}
    for record in instance.get_records_for_run(run_id).records:
        event = record.event_log_entry.dagster_event
        if event is not None and event.is_step_materialization:
            materialization = event.step_materialization_data.materialization
            found[materialization.asset_key.to_user_string()] = {
                key: value.value for key, value in materialization.metadata.items()
            }
    return found


def _numbers(metadata: Mapping[str, object]) -> dict[str, float]:
    return {
        k: float(v) for k, v in metadata.items() if isinstance(v, int | float) and not isinstance(v, bool)
    }


def train_symbols(
    symbols: Sequence[str], *, home: Path, train_days: int, fee_bps: float = 2.0, progress: bool = True
) -> list[ModelResult]:
    """Run ``retrain_models`` for each symbol; return what each produced."""
    instance_dir = dagster_home(home)
    ensure_instance_yaml(instance_dir)
    config = models_run_config(train_days=train_days, fee_bps=fee_bps)
    results = []
    with dg.DagsterInstance.from_config(str(instance_dir)) as instance:
        for symbol in tqdm(symbols, desc="models", unit="symbol", disable=not progress):
            run = run_job(instance, MODELS_JOB, symbol, run_config=config)
            found = _materializations(instance, run.run_id)
            trained = found.get("trained_models", {})
            backtest = found.get("backtest", {})
            champion = found.get("champion_model", {})
            model = str(trained.get("model", ""))
            if champion:
                decision = str(champion.get("decision", ""))
            elif backtest:
                decision = "not promoted: the sanity check failed (see the backtest's check)"
            else:
                decision = "run failed before the gate"
            results.append(
                ModelResult(
                    symbol=symbol,
                    run_id=run.run_id,
                    succeeded=run.status == dg.DagsterRunStatus.SUCCESS,
                    version=int(model.rsplit("v", 1)[1]) if "v" in model else None,
                    metrics=_numbers(backtest),
                    walk_forward=str(backtest.get("out_of_sample", "")),
                    gate_metrics=_numbers(champion),
                    scoring_window=str(champion.get("scoring_window", "")),
                    decision=decision,
                )
            )
    return results


def _cell(values: Mapping[str, float], key: str, width: int, spec: str) -> str:
    """``values[key]`` formatted with ``spec`` and right-aligned in ``width``; "-" when absent."""
    value = values.get(key)
    return f"{'-' if value is None or math.isnan(value) else format(value, spec):>{width}}"


def models_table(results: Sequence[ModelResult]) -> list[str]:
    """The demo's lines on the models: per symbol, the walk-forward backtest of its recipe and the numbers
    the champion gate decided on (the version on its scoring window, against buy-and-hold), then the
    decision. The two are different windows: a recipe that broke even walking forward can still win the
    gate, and the other way round."""
    spans = [r for r in results if r.walk_forward or r.scoring_window]
    lines = ["models (retrain_models: trained_models -> backtest -> champion_model)"]
    if spans:
        lines.append(
            f"  walk-forward: the recipe refit on the days before, out of sample: {spans[0].walk_forward}"
        )
        lines.append(f"  gate: the trained version on the held-out window: {spans[0].scoring_window or '-'}")
    lines.append(f"{'':<17}{'walk-forward backtest':-^40}  {'champion gate':-^36}")
    lines.append(
        f"{'symbol':<9}{'version':>8}{'return':>9}{'sharpe':>8}{'max dd':>8}{'trades':>7}{'b&h ret':>8}  "
        f"{'return':>9}{'sharpe':>8}{'b&h ret':>8}{'b&h sharpe':>11}  decision (beat flat and buy-and-hold)"
    )
    for r in results:
        m, g = r.metrics, r.gate_metrics
        lines.append(
            f"{r.symbol:<9}{r.version or '-':>8}"
            + _cell(m, "total_return", 9, ".2%")
            + _cell(m, "sharpe", 8, ".2f")
            + _cell(m, "max_drawdown", 8, ".2%")
            + _cell(m, "trades", 7, ".0f")
            + _cell(m, "baseline_buy_and_hold_total_return", 8, ".2%")
            + "  "
            + _cell(g, "challenger_total_return", 9, ".2%")
            + _cell(g, "challenger_sharpe", 8, ".2f")
            + _cell(g, "baseline_buy_and_hold_total_return", 8, ".2%")
            + _cell(g, "baseline_buy_and_hold_sharpe", 11, ".2f")
            + f"  {r.decision}"
        )
    return lines
