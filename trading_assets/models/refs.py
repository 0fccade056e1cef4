"""What the model assets hand each other within a run (small frozen values, pickled by the IO manager)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass


def model_name(symbol: str) -> str:
    """The registered model of a symbol: ``tradegraph-<symbol>``."""
    return f"tradegraph-{symbol}"


@dataclass(frozen=True, slots=True, kw_only=True)
class TrainedModelRef:
    """A model version ``trained_models`` registered, and the window it learned from."""

    symbol: str
    """The symbol."""
    name: str
    """Registered model name."""
    version: int
    """Registered version."""
    run_id: str
    """MLflow run of the version."""
    spec_json: str
    """The version's :class:`~trading_assets.models.spec.ModelSpec` as JSON."""
    first_day: dt.date
    """First day of the window."""
    holdout_first_day: dt.date
    """First holdout day (scored, never trained on)."""
    last_day: dt.date
    """Last day of the window."""
    train_end_us: int
    """``minute_us`` of the last training row: the scoring window starts after it plus the purge."""


@dataclass(frozen=True, slots=True, kw_only=True)
class BacktestReport:
    """The walk-forward backtest of a version."""

    model: TrainedModelRef
    """The version backtested."""
    metrics: Mapping[str, float]
    """Walk-forward metrics (net of costs)."""
    sane: bool
    """Whether it passed the sanity gates (the blocking check)."""
