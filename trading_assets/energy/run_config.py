"""Run configuration of ``energy_model`` and ``energy_backtest`` (the Dagster launchpad), and the model
reference the one hands the other."""

import datetime as dt
from dataclasses import dataclass

import dagster as dg

from trading_assets.models.training import TrainingConfig, XGBoostParams

_PARAMS = XGBoostParams(max_depth=3, n_estimators=150)


class EnergyTrainingRunConfig(dg.Config):
    """Run configuration of ``energy_model``: the trailing window and the model's hyperparameters."""

    train_days: int = 28
    """Delivery days the model learns from (the last ``validation_days`` of them validate)."""
    validation_days: int = 2
    """Last days of the window whose hours score the fit before the final refit on every day."""
    end_day: str | None = None
    """Last delivery day of the window (``YYYY-MM-DD``); unset: the last day with energy features."""
    n_estimators: int = _PARAMS.n_estimators
    """Boosting rounds."""
    max_depth: int = _PARAMS.max_depth
    """Maximum tree depth."""
    learning_rate: float = _PARAMS.learning_rate
    """Shrinkage per tree."""
    seed: int = 7
    """XGBoost's random seed: same data and seed, same model."""

    def params(self) -> XGBoostParams:
        """The hyperparameters."""
        return XGBoostParams(
            n_estimators=self.n_estimators, max_depth=self.max_depth, learning_rate=self.learning_rate
        )


class EnergyBacktestRunConfig(dg.Config):
    """Run configuration of ``energy_backtest``."""

    test_days: int = 7
    """Last days of the model's window, each predicted by a model refitted on the days before it."""
    min_train_days: int = 1
    """A test day needs at least this many days of labelled hours known before its decision."""


def training_config(seed: int, params: XGBoostParams) -> TrainingConfig:
    """The project's training config for the spread: a regression with ``params``."""
    return TrainingConfig(kind="regression", params=params, seed=seed)


@dataclass(frozen=True, slots=True, kw_only=True)
class EnergyModelRef:
    """A model version ``energy_model`` registered, and the window it learned from."""

    area: str
    """The area."""
    name: str
    """Registered model name (``tradegraph-energy-<area>``)."""
    version: int
    """Registered version."""
    run_id: str
    """MLflow run of the version."""
    first_day: dt.date
    """First delivery day of the window."""
    last_day: dt.date
    """Last delivery day of the window."""
    params: XGBoostParams
    """The hyperparameters (walk-forward refits use exactly these)."""
    seed: int
    """XGBoost's seed."""
