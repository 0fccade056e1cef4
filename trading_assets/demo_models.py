"""The model half of the demo: one ``retrain_models`` run per symbol (train, walk-forward backtest,
champion gate) on the days the demo ingested, recorded in the same Dagster instance as its day runs.

The demo's window is short (its days are few): it trains on all days but the last and scores champion and
challenger on the last. Costs are those of a low-fee account, so the planted trends of the demo's market
(trading_assets.services.demo) can pay for themselves while the pure random walks cannot.
"""

from __future__ import annotations

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
    """Walk-forward backtest metrics of the version."""
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
            metrics = {
                k: float(v)
                for k, v in backtest.items()
                if isinstance(v, int | float) and not isinstance(v, bool)
            }
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
                    metrics=metrics,
                    decision=decision,
                )
            )
    return results
