"""Predicting a few feature rows fast, with the values ``trading_assets.models.training.predict`` gives.

The executor predicts the bars of one poll, a handful of rows per model. Through xgboost's sklearn
wrapper one such call costs about 0.45-0.6 ms on this project's machine, most of it Python around the
prediction (a config context that round-trips the global config through JSON twice, the positive-class
column stacked beside its complement); the booster's own ``inplace_predict`` costs about 0.35 ms.
:func:`row_predictor` calls the booster directly, with exactly the arguments the wrapper passes, for the
two estimators tradegraph trains (``XGBClassifier`` with ``binary:logistic``, ``XGBRegressor``), and
falls back to :func:`~trading_assets.models.training.predict` for anything else.

Equal values: ``predict_proba(X)[:, 1]`` of a binary classifier IS the booster's ``value`` prediction
(float32), and a regressor's ``predict(X)`` too; both are then widened to float64 as ``predict`` does.
tests/trading_assets/execution/test_predict.py compares the two on every row of trained models.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from trading_assets.models.training import predict

RowPredictor = Callable[[npt.NDArray[np.float64]], npt.NDArray[np.float64]]
"""Rows (k × features, float64) to k predictions (float64)."""


def row_predictor(model: Any) -> RowPredictor:
    """A function predicting rows with ``model``, equal to ``predict(model, rows)``; see the module doc."""
    booster_call = _booster_call(model)
    if booster_call is None:
        return lambda rows: predict(model, rows)
    return booster_call


def _booster_call(model: Any) -> RowPredictor | None:
    """The booster's ``inplace_predict`` with the wrapper's arguments, or None when ``model`` is not a
    plain binary-logistic ``XGBClassifier`` or an ``XGBRegressor`` on trees."""
    try:
        import xgboost as xgb
    except ImportError:  # pragma: no cover - xgboost is a dependency; other models take the generic path
        return None
    if type(model) is xgb.XGBClassifier:
        # predict_proba's positive column is the booster's value only for two classes and this objective.
        if model.objective != "binary:logistic" or getattr(model, "n_classes_", None) != 2:
            return None
    elif type(model) is not xgb.XGBRegressor or not isinstance(model.objective, str):
        return None
    if model.booster == "gblinear":
        return None
    booster = model.get_booster()
    # What XGBModel.predict passes: the best iteration when early stopping kept one, else every tree.
    iteration_range = model._get_iteration_range(None)
    missing = model.missing

    def call(rows: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        values = booster.inplace_predict(
            rows,
            iteration_range=iteration_range,
            predict_type="value",
            missing=missing,
            validate_features=True,
        )
        if values.ndim != 1:  # a multi-output regressor: not what this fast path is for
            return predict(model, rows)
        return np.asarray(values, dtype=np.float64)

    return call
