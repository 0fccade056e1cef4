"""The executor's view of the model registry: each symbol's champion, loaded and checked.

A champion is traded only when its feature-code digest equals this code's (a model trained on other
feature code would read features it never saw); a refused or missing champion leaves the symbol flat.
A newly promoted champion is picked up at the next poll, without a restart.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from resources.model_registry.base import ModelRegistry, ModelVersion
from trading_assets.execution.core import ExecutionCore
from trading_assets.execution.decisions import LoadedModel
from trading_assets.models.champion_flow import CHAMPION
from trading_assets.models.features import feature_code_digest
from trading_assets.models.refs import model_name
from trading_assets.models.spec import SPEC_TAG, ModelSpec

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelChange:
    """What one poll changed for a symbol."""

    symbol: str
    """The symbol."""
    version: str | None
    """The champion version now traded (None: none)."""
    refused: str | None = None
    """Why a champion was refused, when it was."""


def refusal(version: ModelVersion) -> str | None:
    """Why ``version`` may not trade with this code, or None when it may."""
    if SPEC_TAG not in version.tags:
        return f"{version.name} v{version.version} has no {SPEC_TAG} tag (not trained by tradegraph)"
    theirs = version.tags.get("tradegraph.feature_code_digest", "")
    if theirs != feature_code_digest():
        return (
            f"{version.name} v{version.version} was trained on feature code {theirs[:12] or '?'}, this executor "
            f"computes {feature_code_digest()[:12]}: retrain it with this code"
        )
    return None


def single_threaded(model: object) -> None:
    """Make ``model`` predict on one thread, when it has an ``n_jobs`` parameter (xgboost's estimators).

    The executor predicts one row per closed bar: starting an OpenMP team for one row costs several times
    the prediction itself (about 15 ms instead of 2.6 a row on a busy 2-core machine, bench/executor.py),
    and the registry's copy of a model has lost the ``n_jobs=1`` it was trained with. The trees, hence the
    predictions, are the same.
    """
    get_params = getattr(model, "get_params", None)
    if get_params is not None and "n_jobs" in get_params():
        model.set_params(n_jobs=1)  # type: ignore[attr-defined]


def refresh_champions(
    registry: ModelRegistry, core: ExecutionCore, symbols: Sequence[str], *, now_us: int
) -> list[ModelChange]:
    """Load each symbol's champion into ``core`` when it changed; confirm the unchanged ones."""
    changes = []
    for symbol in symbols:
        champion = registry.get_alias(model_name(symbol), CHAMPION)
        current = core.model(symbol)
        if champion is None:
            if current is not None:
                log.warning("%s: no champion any more; the executor keeps its last model", symbol)
            continue
        if current is not None and current.version == str(champion.version):
            core.confirm_model(symbol, now_us)
            continue
        why = refusal(champion)
        if why is not None:
            log.error("%s: champion refused: %s", symbol, why)
            changes.append(
                ModelChange(symbol=symbol, version=None if current is None else current.version, refused=why)
            )
            continue
        model = registry.load(champion.name, version=champion.version)
        single_threaded(model)
        core.set_model(
            symbol,
            LoadedModel(
                name=champion.name,
                version=str(champion.version),
                run_id=champion.run_id,
                spec=ModelSpec.from_json(champion.tags[SPEC_TAG]),
                model=model,
                loaded_us=now_us,
                registered_ms=champion.created_ms,
            ),
        )
        changes.append(ModelChange(symbol=symbol, version=str(champion.version)))
    return changes
