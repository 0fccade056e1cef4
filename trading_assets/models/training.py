"""Fitting one symbol's XGBoost model: typed hyperparameters, an optional small search scored on a
validation window inside the training window, and the fitted model with what decided it.

Pure code (no MLflow, no Dagster): the ``trained_models`` asset logs what this returns. XGBoost runs
single-threaded with a fixed seed, so the same data and config give the same trees and the same
predictions (tests compare the values).
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from trading_assets.models.signals import ModelKind

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class XGBoostParams:
    """The hyperparameters tradegraph sets on XGBoost (the rest keep XGBoost's defaults)."""

    n_estimators: int = 200
    """Boosting rounds (trees)."""
    max_depth: int = 4
    """Maximum depth of a tree."""
    learning_rate: float = 0.05
    """Shrinkage applied to each tree's contribution."""
    subsample: float = 0.8
    """Share of rows sampled for each tree."""
    colsample_bytree: float = 0.8
    """Share of features sampled for each tree."""
    min_child_weight: float = 5.0
    """Minimum hessian weight in a leaf: larger is more conservative."""
    reg_lambda: float = 1.0
    """L2 regularisation of leaf weights."""

    def as_dict(self) -> dict[str, float | int]:
        """The parameters by name, as XGBoost and MLflow take them."""
        return asdict(self)


DEFAULT_SEARCH: tuple[XGBoostParams, ...] = (
    XGBoostParams(max_depth=3, learning_rate=0.05),
    XGBoostParams(max_depth=4, learning_rate=0.05),
    XGBoostParams(max_depth=6, learning_rate=0.03, n_estimators=300),
    XGBoostParams(max_depth=3, learning_rate=0.1, n_estimators=100),
)
"""Candidates of the optional search: small on purpose, so a retrain stays within seconds."""


@dataclass(frozen=True, slots=True, kw_only=True)
class TrainingConfig:
    """How a symbol's model is fitted."""

    kind: ModelKind = "classification"
    """Classification (probability that the net forward return is positive) or regression (that return)."""
    params: XGBoostParams = field(default_factory=XGBoostParams)
    """Hyperparameters used when ``search`` is off."""
    search: bool = False
    """Try each of ``candidates`` and keep the one with the best validation score."""
    candidates: tuple[XGBoostParams, ...] = DEFAULT_SEARCH
    """Hyperparameters the search tries."""
    validation_fraction: float = 0.2
    """Share of the training rows (the latest, purged) that score the search and the validation metrics."""
    seed: int = 7
    """Seed of XGBoost's row and column sampling."""
    n_jobs: int = 1
    """XGBoost threads (1: deterministic and polite to the other services on a small machine)."""

    def __post_init__(self) -> None:
        if not 0 < self.validation_fraction < 1:
            raise ValueError(f"validation_fraction must be in (0, 1), got {self.validation_fraction}")
        if self.search and not self.candidates:
            raise ValueError("a search needs at least one candidate")


@dataclass(frozen=True, slots=True, kw_only=True)
class FitResult:
    """A fitted model and the numbers that chose it."""

    model: Any
    """The fitted ``xgboost.XGBClassifier`` or ``XGBRegressor``."""
    params: XGBoostParams
    """The hyperparameters of ``model``."""
    metrics: dict[str, float]
    """Training and validation scores (``train_*``, ``validation_*``)."""
    search: tuple[tuple[XGBoostParams, float], ...]
    """Each searched candidate with its validation score (empty without a search)."""
    importance: dict[str, float]
    """Gain importance per feature, normalised to sum to 1 (features never used: 0)."""


def _estimator(config: TrainingConfig, params: XGBoostParams) -> Any:
    import xgboost as xgb

    common: dict[str, Any] = {
        **params.as_dict(),
        "tree_method": "hist",
        "random_state": config.seed,
        "n_jobs": config.n_jobs,
        "importance_type": "gain",
    }
    if config.kind == "classification":
        return xgb.XGBClassifier(objective="binary:logistic", eval_metric="logloss", **common)
    return xgb.XGBRegressor(objective="reg:squarederror", eval_metric="rmse", **common)


def predict(model: Any, features: pd.DataFrame) -> np.ndarray:
    """The model's prediction per row: the positive-class probability of a classifier, else its value."""
    if hasattr(model, "predict_proba"):
        return np.asarray(model.predict_proba(features)[:, 1], dtype=np.float64)
    return np.asarray(model.predict(features), dtype=np.float64)


def score(kind: ModelKind, truth: np.ndarray, predictions: np.ndarray) -> dict[str, float]:
    """Scores of predictions against labels: log loss, accuracy and base rate, or RMSE and correlation."""
    y = np.asarray(truth, dtype=np.float64)
    p = np.asarray(predictions, dtype=np.float64)
    if len(y) == 0:
        return {}
    if kind == "classification":
        clipped = np.clip(p, 1e-12, 1 - 1e-12)
        logloss = -np.mean(y * np.log(clipped) + (1 - y) * np.log(1 - clipped))
        return {
            "logloss": float(logloss),
            "accuracy": float(np.mean((p > 0.5) == (y > 0.5))),
            "base_rate": float(np.mean(y)),
        }
    correlation = float(np.corrcoef(y, p)[0, 1]) if len(y) > 1 and np.std(p) > 0 and np.std(y) > 0 else 0.0
    return {"rmse": float(np.sqrt(np.mean((y - p) ** 2))), "correlation": correlation}


def _loss(kind: ModelKind, scores: dict[str, float]) -> float:
    return scores["logloss"] if kind == "classification" else scores["rmse"]


def _check_labels(kind: ModelKind, y: np.ndarray, what: str) -> None:
    if len(y) == 0:
        raise ValueError(f"no {what} rows with a known label: widen the training window or add days")
    if np.isnan(y).any():
        raise ValueError(f"{what} labels hold NaN: drop rows whose future is unknown before fitting")
    if kind == "classification" and len(np.unique(y)) < 2:
        raise ValueError(
            f"{what} labels are all {y[0]:.0f}: a classifier needs both outcomes; widen the window"
        )


def fit(
    config: TrainingConfig,
    *,
    train_x: pd.DataFrame,
    train_y: np.ndarray,
    validation_x: pd.DataFrame,
    validation_y: np.ndarray,
) -> FitResult:
    """Fit one model; with ``config.search`` try each candidate on the training rows, score it on the
    validation rows (which the caller cut from the training window, purged), keep the best, and refit it
    on training and validation rows together.

    Raises ValueError naming what is wrong when there are no rows, NaN labels or a single class.
    """
    _check_labels(config.kind, train_y, "training")
    _check_labels(config.kind, validation_y, "validation")
    searched: list[tuple[XGBoostParams, float]] = []
    best = config.params
    if config.search:
        for candidate in config.candidates:
            model = _estimator(config, candidate).fit(train_x, train_y)
            loss = _loss(config.kind, score(config.kind, validation_y, predict(model, validation_x)))
            searched.append((candidate, loss))
            log.info("search %s: validation loss %.6f", candidate, loss)
        best = min(searched, key=lambda pair: pair[1])[0]
    # Validation scores of the chosen parameters fitted on the training rows only: an honest estimate.
    held_out = _estimator(config, best).fit(train_x, train_y)
    validation = score(config.kind, validation_y, predict(held_out, validation_x))
    all_x = pd.concat([train_x, validation_x], ignore_index=True)
    all_y = np.concatenate([train_y, validation_y])
    model = _estimator(config, best).fit(all_x, all_y)
    train = score(config.kind, all_y, predict(model, all_x))
    gains = np.asarray(model.feature_importances_, dtype=np.float64)
    total = float(gains.sum())
    importance = {
        name: (float(gain) / total if total > 0 else 0.0)
        for name, gain in zip(all_x.columns, gains, strict=True)
    }
    metrics = {
        **{f"train_{k}": v for k, v in train.items()},
        **{f"validation_{k}": v for k, v in validation.items()},
        "train_rows": float(len(all_y)),
        "validation_rows": float(len(validation_y)),
    }
    return FitResult(model=model, params=best, metrics=metrics, search=tuple(searched), importance=importance)


def fit_params(config: TrainingConfig, params: XGBoostParams, x: pd.DataFrame, y: np.ndarray) -> Any:
    """A model with exactly ``params`` fitted on all of ``x`` (walk-forward refits use this)."""
    _check_labels(config.kind, y, "training")
    return _estimator(config, params).fit(x, y)
