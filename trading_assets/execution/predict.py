"""Predicting a few feature rows fast, with the values ``trading_assets.models.training.predict`` gives.

The executor predicts the bars of one poll, a handful of rows per model. Through xgboost's sklearn
wrapper one such call costs about 0.45-0.6 ms on this project's machine, most of it Python around the
prediction (a config context that round-trips the global config through JSON twice, the positive-class
column stacked beside its complement); the booster's own ``inplace_predict`` costs less (below).
:func:`row_predictor` calls the booster directly, with exactly the arguments the wrapper passes, for the
two estimators tradegraph trains (``XGBClassifier`` with ``binary:logistic``, ``XGBRegressor``), and
falls back to :func:`~trading_assets.models.training.predict` for anything else.

``inplace_predict`` itself spends most of its time outside the prediction: type dispatch over a dozen
input kinds, the prediction's JSON arguments built anew, the output read through two helper arrays
(about 0.13-0.23 ms a call for 1-35 rows, 0.065 ms of it the C call). For a float64 array it ends in
one C call, ``XGBoosterPredictFromDense``: :func:`row_predictor` makes that same call, with the same
arguments (built once per model) and the same input checks, and copies the float32 values out (about
0.055-0.1 ms a call). It uses xgboost's ctypes handle (``xgboost.core._LIB``), which is not public API: when a
version lacks any of the names it needs, it takes ``inplace_predict`` (the same values, slower).

Equal values: ``predict_proba(X)[:, 1]`` of a binary classifier IS the booster's ``value`` prediction
(float32), and a regressor's ``predict(X)`` too; both are then widened to float64 as ``predict`` does.
tests/trading_assets/execution/test_predict.py compares the two on every row of trained models.
"""

from __future__ import annotations

import ctypes
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


def predict_row(model: Any, row: npt.NDArray[np.float64]) -> float:
    """The prediction of one feature row: :func:`~trading_assets.models.training.predict` of it.

    The row goes in as a 1 × n numpy array, not a DataFrame, through
    :func:`~trading_assets.execution.predict.row_predictor` (the booster's in-place prediction for
    xgboost's estimators): the path the executor predicts on, with the value ``predict_proba`` gives
    for a DataFrame of the same values.
    """
    return float(row_predictor(model)(row.reshape(1, -1))[0])


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
    dense = _dense_call(model, booster, iteration_range, missing)
    if dense is not None:
        return dense

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


def _dense_call(
    model: Any, booster: Any, iteration_range: tuple[int, int], missing: float
) -> RowPredictor | None:
    """``inplace_predict``'s own C call for float64 rows, its arguments built once; None when this
    xgboost lacks a name it needs (see the module doc)."""
    try:
        from xgboost import core
        from xgboost._data_utils import array_interface
    except ImportError:  # pragma: no cover - a future xgboost moved them; inplace_predict still works
        return None
    lib, check, make_args, ulong = (getattr(core, name, None) for name in _XGB_NAMES)
    predict_from_dense = getattr(lib, "XGBoosterPredictFromDense", None)
    if predict_from_dense is None or check is None or make_args is None or ulong is None:
        return None  # pragma: no cover - as above
    # inplace_predict's arguments for predict_type="value", no base margin, strict_shape=False.
    args = make_args(
        type=0,
        training=False,
        iteration_begin=int(iteration_range[0]),
        iteration_end=int(iteration_range[1]),
        missing=missing,
        strict_shape=False,
        cache_id=0,
    )
    n_features = booster.num_features()
    no_proxy = ctypes.c_void_p()

    def call(rows: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        # validate_features=True: the feature count the booster was trained on.
        if rows.ndim != 2 or rows.shape[1] != n_features:
            raise ValueError(f"Feature shape mismatch, expected: {n_features}, got {rows.shape}")
        data = np.ascontiguousarray(rows, dtype=np.float64)
        shape = ctypes.POINTER(ulong)()
        dims = ulong()
        values = ctypes.POINTER(ctypes.c_float)()
        check(
            predict_from_dense(
                booster.handle,
                array_interface(data),
                args,
                no_proxy,
                ctypes.byref(shape),
                ctypes.byref(dims),
                ctypes.byref(values),
            )
        )
        if dims.value != 1:  # a multi-output model: not what this fast path is for
            return predict(model, rows)
        # The booster owns the values until its next prediction: copied out, widened as predict does.
        return np.ctypeslib.as_array(values, shape=(int(shape[0]),)).astype(np.float64)

    return call


_XGB_NAMES = ("_LIB", "_check_call", "make_jcargs", "c_bst_ulong")
"""The names of ``xgboost.core`` the direct call needs."""
