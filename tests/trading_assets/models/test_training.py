"""Fitting a symbol's model: deterministic, searched on a validation window, clear errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from trading_assets.models.training import (
    TrainingConfig,
    XGBoostParams,
    fit,
    fit_params,
    predict,
    score,
)

SMALL = XGBoostParams(n_estimators=20, max_depth=3)


def _data(seed: int, rows: int = 600) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = pd.DataFrame({"a": rng.normal(size=rows), "b": rng.normal(size=rows), "noise": rng.normal(size=rows)})
    y = ((x["a"] + 0.5 * x["b"] + rng.normal(scale=0.5, size=rows)) > 0).astype(np.float64).to_numpy().copy()
    return x, y


def test_same_data_and_seed_give_identical_predictions() -> None:
    # Arrange
    x, y = _data(1)
    config = TrainingConfig(params=SMALL, seed=3)
    # Act
    first = fit(config, train_x=x[:400], train_y=y[:400], validation_x=x[400:], validation_y=y[400:])
    second = fit(config, train_x=x[:400], train_y=y[:400], validation_x=x[400:], validation_y=y[400:])
    # Assert: the values, not just the shape
    np.testing.assert_array_equal(predict(first.model, x), predict(second.model, x))
    assert first.metrics == second.metrics


def test_informative_features_get_the_importance_and_validation_beats_chance() -> None:
    x, y = _data(2, rows=2_000)
    result = fit(
        TrainingConfig(params=SMALL),
        train_x=x[:1500],
        train_y=y[:1500],
        validation_x=x[1500:],
        validation_y=y[1500:],
    )
    assert result.importance["a"] > result.importance["noise"]
    assert abs(sum(result.importance.values()) - 1.0) < 1e-9
    assert result.metrics["validation_accuracy"] > 0.7
    assert result.metrics["train_rows"] == 2_000


def test_search_keeps_the_candidate_with_the_lowest_validation_loss() -> None:
    x, y = _data(3, rows=1_000)
    candidates = (XGBoostParams(n_estimators=2, max_depth=1), XGBoostParams(n_estimators=40, max_depth=3))
    result = fit(
        TrainingConfig(search=True, candidates=candidates),
        train_x=x[:700],
        train_y=y[:700],
        validation_x=x[700:],
        validation_y=y[700:],
    )
    assert len(result.search) == 2
    best = min(result.search, key=lambda pair: pair[1])[0]
    assert result.params == best


def test_regression_predicts_values_and_scores_rmse() -> None:
    rng = np.random.default_rng(4)
    x = pd.DataFrame({"a": rng.normal(size=500)})
    y = 0.01 * x["a"].to_numpy() + rng.normal(scale=0.001, size=500)
    model = fit_params(TrainingConfig(kind="regression"), SMALL, x, y)
    scores = score("regression", y, predict(model, x))
    assert scores["correlation"] > 0.9
    assert scores["rmse"] < 0.01


def test_a_single_class_is_refused_with_a_reason() -> None:
    x, _ = _data(5, rows=100)
    with pytest.raises(ValueError, match="all 1"):
        fit(
            TrainingConfig(params=SMALL),
            train_x=x,
            train_y=np.ones(100),
            validation_x=x,
            validation_y=np.ones(100),
        )


def test_nan_labels_are_refused() -> None:
    x, y = _data(6, rows=100)
    y[3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        fit_params(TrainingConfig(), SMALL, x, y)
