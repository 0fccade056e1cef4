"""What ``champion_model`` does for one symbol: score the new version against the champion on one window
after both models' training ended, decide with the gate, move the alias or not, and record why."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import dagster as dg
import numpy as np

from resources.model_registry.base import ModelRegistry, ModelVersion
from resources.table_store.base import TableStore
from trading_assets.backtest.plots import equity_curve_png
from trading_assets.core.time import day_bounds_us
from trading_assets.models.champion import GateConfig, PromotionDecision, Scorecard, decide
from trading_assets.models.dataset import Dataset, build_dataset, read_window
from trading_assets.models.evaluation import backtest_rows, baseline_backtests, first_row_at, model_signals
from trading_assets.models.features import feature_code_digest
from trading_assets.models.labels import label_end_offset
from trading_assets.models.refs import TrainedModelRef
from trading_assets.models.report import (
    SCORES_SHOWN,
    baseline_scores,
    float_metadata,
    metrics_table,
    png_md,
    time_text,
)
from trading_assets.models.spec import SPEC_TAG, ModelSpec

log = logging.getLogger(__name__)

CHAMPION = "champion"
"""The MLflow alias of the version a symbol trades with."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Challenge:
    """The outcome of one challenge, as asset metadata."""

    decision: PromotionDecision
    """The gate's verdict."""
    champion_version: int | None
    """The version the alias points at afterwards (None: the symbol does not trade)."""
    metadata: dict[str, dg.MetadataValue]
    """What the asset records."""


def _scoring_start(dataset: Dataset, challenger: TrainedModelRef, champion: ModelVersion | None) -> int:
    """First row both models never learned from: the challenger's holdout, pushed past the champion's
    last training label and purge when the champion was trained later."""
    spec = ModelSpec.from_json(challenger.spec_json)
    start = max(first_row_at(dataset, challenger.train_end_us + 1), 0)
    start += label_end_offset(spec.horizon_bars) + spec.horizon_bars
    if champion is not None and "tradegraph.train_end_us" in champion.tags:
        theirs = ModelSpec.from_json(champion.tags[SPEC_TAG])
        after = first_row_at(dataset, int(champion.tags["tradegraph.train_end_us"]) + 1)
        start = max(start, after + label_end_offset(theirs.horizon_bars) + theirs.horizon_bars)
    # Never before the holdout: rows before it were training or validation rows of the challenger.
    return max(start, first_row_at(dataset, day_bounds_us(challenger.holdout_first_day)[0]))


def _champion_comparable(champion: ModelVersion) -> str | None:
    """Why the champion cannot be scored on today's features, or None when it can."""
    if SPEC_TAG not in champion.tags:
        return f"champion v{champion.version} has no {SPEC_TAG} tag"
    if champion.tags.get("tradegraph.feature_code_digest") != feature_code_digest():
        return (
            f"champion v{champion.version} was trained on other feature code (digest "
            f"{champion.tags.get('tradegraph.feature_code_digest', '?')[:12]}); it cannot trade with this code"
        )
    return None


def challenge(
    store: TableStore, registry: ModelRegistry, challenger: TrainedModelRef, gate: GateConfig
) -> Challenge:
    """Score ``challenger`` and the current champion on the same rows, decide, and act on the decision."""
    spec = ModelSpec.from_json(challenger.spec_json)
    current = registry.get_alias(challenger.name, CHAMPION)
    if current is not None and current.version == challenger.version:
        return Challenge(
            decision=PromotionDecision(promote=False, sane=True, reasons=("already champion",)),
            champion_version=current.version,
            metadata={"decision": dg.MetadataValue.text(f"v{current.version} is already champion")},
        )
    incomparable = None if current is None else _champion_comparable(current)
    opponent = None if incomparable is not None else current
    table = read_window(store, challenger.symbol, challenger.first_day, challenger.last_day)
    dataset = build_dataset(table, spec)
    start = _scoring_start(dataset, challenger, opponent)
    rows = np.arange(start, len(dataset))
    if len(rows) < 2:
        raise dg.Failure(
            f"{challenger.name}: no rows left to score v{challenger.version} after both models' training "
            f"(the champion's training ended later than this window's holdout); retrain with a later end_day"
        )
    model: Any = registry.load(challenger.name, version=challenger.version)
    results = {
        f"v{challenger.version} (challenger)": backtest_rows(
            dataset, rows, model_signals(model, dataset, rows, spec), spec
        )
    }
    scorecards = {
        "challenger": Scorecard(
            name=f"v{challenger.version}", metrics=next(iter(results.values())).metrics.as_dict()
        )
    }
    champion_card = None
    if opponent is not None:
        theirs = ModelSpec.from_json(opponent.tags[SPEC_TAG])
        champion_model = registry.load(challenger.name, version=opponent.version)
        result = backtest_rows(dataset, rows, model_signals(champion_model, dataset, rows, theirs), theirs)
        results[f"v{opponent.version} (champion)"] = result
        champion_card = Scorecard(name=f"v{opponent.version}", metrics=result.metrics.as_dict())
    baselines = baseline_backtests(dataset, rows, spec)
    baseline_cards = {
        name: Scorecard(name=name, metrics=r.metrics.as_dict()) for name, r in baselines.items()
    }
    decision = decide(
        challenger=scorecards["challenger"], champion=champion_card, baselines=baseline_cards, gate=gate
    )
    reasons = list(decision.reasons)
    if incomparable is not None:
        reasons.append(f"note: {incomparable}; the challenger competed against the baselines only")
    if decision.promote:
        registry.set_alias(challenger.name, CHAMPION, challenger.version)
    after = challenger.version if decision.promote else (None if current is None else current.version)
    verdict = "promoted" if decision.promote else "kept"
    log.info("%s v%d: %s (%s)", challenger.name, challenger.version, verdict, "; ".join(reasons))
    mine, *others = results.values()
    png = equity_curve_png(
        mine,
        baselines={**dict(zip(list(results)[1:], others, strict=True)), **baselines},
        title=f"{challenger.name} v{challenger.version} (challenger): scoring window",
    )
    registry.set_version_tags(
        challenger.name,
        challenger.version,
        {"tradegraph.gate": verdict, "tradegraph.gate_reasons": " | ".join(reasons)},
    )
    registry.log_to_run(
        challenger.run_id,
        metrics={f"gate_{name}": value for name, value in scorecards["challenger"].metrics.items()},
        artifacts={"gate_equity_curve.png": png},
        tags={"tradegraph.gate": verdict},
    )
    columns = {name: r.metrics.as_dict() for name, r in {**results, **baselines}.items()}
    metadata = {
        "decision": dg.MetadataValue.text(
            f"{verdict}: champion is {'none (the symbol does not trade)' if after is None else f'v{after}'}"
        ),
        "promoted": dg.MetadataValue.bool(decision.promote),
        "challenger_version": dg.MetadataValue.int(challenger.version),
        "champion_before": dg.MetadataValue.text("none" if current is None else f"v{current.version}"),
        "champion_after": dg.MetadataValue.text("none" if after is None else f"v{after}"),
        "reasons": dg.MetadataValue.md("\n".join(f"- {reason}" for reason in reasons)),
        "scoring_window": dg.MetadataValue.text(
            f"{time_text(int(dataset.minute_us[rows[0]]))} .. {time_text(int(dataset.minute_us[rows[-1]]))} ({len(rows)} bars)"
        ),
        "scores": metrics_table(columns, names=SCORES_SHOWN),
        **float_metadata(scorecards["challenger"].metrics, prefix="challenger_"),
        # What the gate compared the challenger with, on the same scoring window.
        **float_metadata(baseline_scores({name: card.metrics for name, card in baseline_cards.items()})),
        "equity_curve": png_md(png, alt="scoring window equity"),
    }
    return Challenge(decision=decision, champion_version=after, metadata=metadata)
