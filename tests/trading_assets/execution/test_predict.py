"""row_predictor: the booster's in-place prediction gives, bit for bit, what training.predict gives on a
DataFrame, for the classifier and the regressor tradegraph trains (early stopping and a pickled copy
predicting on one thread included), one row at a time and in blocks; other models take predict itself."""

from __future__ import annotations

import pickle
from typing import Any

import numpy as np
import pandas as pd
import pytest
import xgboost as xgb

from trading_assets.execution.predict import row_predictor
from trading_assets.models.features import FEATURE_COLUMNS
from trading_assets.models.training import TrainingConfig, XGBoostParams, fit_params, predict
from trading_assets.services.executor_models import single_threaded


def feature_rows(n: int, seed: int) -> pd.DataFrame:
    """Feature-like rows: heavy tails, and NaN where warm-up windows are short."""
    rng = np.random.default_rng(seed)
    values = rng.standard_t(3, size=(n, len(FEATURE_COLUMNS)))
    values[rng.random(values.shape) < 0.05] = np.nan
    return pd.DataFrame(values, columns=list(FEATURE_COLUMNS))


def fitted(kind: str, *, early_stopping: bool) -> Any:
    rows = feature_rows(3_000, seed=1)
    signal = np.nan_to_num(rows.iloc[:, 0].to_numpy()) + np.random.default_rng(2).standard_normal(len(rows))
    target = (signal > 0).astype(int) if kind == "classification" else signal * 1e-3
    params = XGBoostParams(max_depth=4, n_estimators=60, learning_rate=0.1)
    if early_stopping:
        # The estimators tradegraph trains, stopped early: predictions use the best iteration's trees only.
        estimator = xgb.XGBClassifier if kind == "classification" else xgb.XGBRegressor
        objective = "binary:logistic" if kind == "classification" else "reg:squarederror"
        model = estimator(objective=objective, early_stopping_rounds=5, n_jobs=1, **params.as_dict())
        model.fit(
            rows.iloc[:2_500], target[:2_500], eval_set=[(rows.iloc[2_500:], target[2_500:])], verbose=False
        )
        assert model.best_iteration + 1 < params.n_estimators
    else:
        model = fit_params(TrainingConfig(kind=kind), params, rows, target)  # type: ignore[arg-type]
    # As the executor gets it: a copy (the registry's), set to one thread.
    copy = pickle.loads(pickle.dumps(model))
    single_threaded(copy)
    return copy


@pytest.mark.parametrize("kind", ["classification", "regression"])
@pytest.mark.parametrize("early_stopping", [False, True])
def test_the_fast_path_equals_predict_on_a_dataframe_bit_for_bit(kind: str, early_stopping: bool) -> None:
    # Arrange
    model = fitted(kind, early_stopping=early_stopping)
    rows = feature_rows(400, seed=3)
    expected = predict(model, rows)

    # Act
    predictor = row_predictor(model)
    one_by_one = np.concatenate([predictor(rows.iloc[[i]].to_numpy()) for i in range(len(rows))])
    blocks = np.concatenate([predictor(rows.iloc[i : i + 7].to_numpy()) for i in range(0, len(rows), 7)])

    # Assert
    assert predictor.__qualname__ == "_dense_call.<locals>.call"  # the booster's C call, not a fallback
    assert one_by_one.dtype == np.float64 == blocks.dtype
    np.testing.assert_array_equal(one_by_one.view(np.int64), expected.view(np.int64))
    np.testing.assert_array_equal(blocks.view(np.int64), expected.view(np.int64))


def test_rows_with_another_feature_count_are_refused() -> None:
    # Arrange
    predictor = row_predictor(fitted("classification", early_stopping=False))
    rows = feature_rows(3, seed=5).to_numpy()[:, :-1]

    # Act / Assert
    with pytest.raises(ValueError, match="Feature shape mismatch"):
        predictor(rows)


class Constant:
    """Not an xgboost estimator: a model with predict_proba only."""

    def predict_proba(self, rows: np.ndarray) -> np.ndarray:
        p = np.full(len(rows), 0.75)
        return np.column_stack([1 - p, p])


def test_other_models_and_other_objectives_predict_through_predict() -> None:
    # Arrange
    rows = feature_rows(5, seed=4).to_numpy()
    raw = xgb.XGBClassifier(objective="binary:logitraw", n_estimators=3, max_depth=2)
    raw.fit(rows, np.array([0, 1, 0, 1, 1]))

    # Act
    constant = row_predictor(Constant())
    logitraw = row_predictor(raw)

    # Assert
    np.testing.assert_array_equal(constant(rows), np.full(5, 0.75))
    assert logitraw.__name__ == "<lambda>"
    np.testing.assert_array_equal(logitraw(rows), predict(raw, rows))
