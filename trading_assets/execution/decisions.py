"""What the execution core trades with and reports: the model it trades per symbol, each decision it makes
at a bar's close, and everything one call did (:class:`Step`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from trading_assets.models.spec import ModelSpec
from trading_assets.trading.orders import Fill, Order


@dataclass(frozen=True, slots=True, kw_only=True)
class LoadedModel:
    """A symbol's model as the executor trades it."""

    name: str
    """Registered model name."""
    version: str
    """Model version: every order and fill it makes carries it."""
    run_id: str
    """MLflow run id of the version."""
    spec: ModelSpec
    """Its recipe: policy, costs (latency included) and capital."""
    model: Any
    """The fitted model: an ``xgboost`` sklearn estimator, or anything with ``predict_proba``/``predict``."""
    loaded_us: int = 0
    """When it was loaded or last confirmed current (:meth:`~trading_assets.execution.core.ExecutionCore.confirm_model`), µs: the
    stale-model guard's ``model_loaded_us``."""
    registered_ms: int = 0
    """When the version was registered in the model registry, ms since the epoch (0: unknown)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Decision:
    """What the model said at one bar's close, and what came of it."""

    venue: str
    """The bar's venue."""
    symbol: str
    """The bar's symbol."""
    bar_minute_us: int
    """Start of the bar decided on."""
    decision_us: int
    """The bar's close: when the decision is made (exchange time)."""
    model_version: str
    """Version of the model that decided."""
    prediction: float
    """The model's prediction of the bar's feature row."""
    signal: int
    """The policy's signal: the target position (-1, 0, +1)."""
    action: str
    """``"hold"`` (target unchanged), ``"order"`` (sent to the broker) or ``"denied"`` (by the risk check)."""
    order: Order | None = None
    """The order, when one was made."""
    rule: str | None = None
    """The risk rule that denied the order."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Step:
    """Everything one call of the core did, in order."""

    bars: pa.Table
    """Bars that closed."""
    decisions: tuple[Decision, ...] = ()
    """One per closed bar of a symbol with a model."""
    fills: tuple[Fill, ...] = ()
    """Fills, in the order they happened."""
    netted: tuple[Order, ...] = ()
    """Orders netted into a later one on the same trade."""
    late_ticks: int = 0
    """Ticks not added because their minute had closed."""
    decided_s: tuple[float, ...] = ()
    """When each decision was made by the core's ``clock`` (one per decision; empty without a clock):
    the end of each bar's tick-to-decision latency."""
