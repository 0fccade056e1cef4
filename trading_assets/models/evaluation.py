"""Scoring models out of sample: the training rows of a window, walk-forward refits, and backtests of a
model's signals on rows it never learned from.

Every split is purged: a training row's label (which reaches ``horizon + 1`` bars ahead) ends at least
``horizon`` rows before the rows it is scored on, and training rows after a scored window wait an embargo
of ``horizon`` rows (trading_assets.models.splits).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from trading_assets.backtest.baselines import BASELINES, baseline_signal
from trading_assets.backtest.engine import BacktestResult, run_backtest
from trading_assets.backtest.walk_forward import backtest_windows
from trading_assets.core.time import day_bounds_us
from trading_assets.models.dataset import Dataset
from trading_assets.models.spec import ModelSpec
from trading_assets.models.splits import Split, purged_train_indices, train_validation_split
from trading_assets.models.training import XGBoostParams, fit_params, predict


def _purged_before(dataset: Dataset, start: int, end: int, spec: ModelSpec) -> np.ndarray:
    """Labelled rows that may train a model scored on rows ``[start, end)``."""
    return purged_train_indices(
        dataset.labelled(),
        start,
        end,
        horizon=spec.horizon_bars,
        purge_rows=spec.horizon_bars,
        embargo_rows=spec.horizon_bars,
    )


def first_row_at(dataset: Dataset, time_us: int) -> int:
    """Position of the first row starting at or after ``time_us`` (``len(dataset)`` if none)."""
    return int(np.searchsorted(dataset.minute_us, time_us, side="left"))


def training_split(dataset: Dataset, holdout_first_day: dt.date, spec: ModelSpec) -> Split:
    """The rows a model of the window learns from, as (fit rows, validation rows): every labelled row
    before the holdout, purged against it, the latest ``validation_fraction`` of them for validation
    (purged against the fit rows in turn).

    Raises ValueError naming the counts when the window is too short to leave rows on both sides.
    """
    holdout = first_row_at(dataset, day_bounds_us(holdout_first_day)[0])
    if holdout >= len(dataset):
        raise ValueError(f"{dataset.symbol}: no rows on or after the holdout day {holdout_first_day}")
    train = _purged_before(dataset, holdout, len(dataset), spec)
    train = train[train < holdout]
    validation_rows = max(1, int(len(train) * spec.training.validation_fraction))
    return train_validation_split(
        train,
        validation_rows=validation_rows,
        horizon=spec.horizon_bars,
        purge_rows=spec.horizon_bars,
        embargo_rows=spec.horizon_bars,
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class OutOfSample:
    """Signals of rows a model did not learn from, window by window."""

    windows: tuple[np.ndarray, ...]
    """Row positions of each scored window, in time order."""
    predictions: tuple[np.ndarray, ...]
    """The model's prediction for each row of each window."""
    signals: tuple[np.ndarray, ...]
    """The signal (int8 in {-1, 0, 1}) for each row of each window."""


def walk_forward(
    dataset: Dataset, spec: ModelSpec, params: XGBoostParams, test_days: Sequence[dt.date]
) -> OutOfSample:
    """Each of ``test_days`` predicted by a model with ``params`` refitted on every labelled row before
    it (purged): the walk-forward backtest's signals. Days without rows are skipped."""
    windows, predictions, signals = [], [], []
    for day in test_days:
        start_us, end_us = day_bounds_us(day)
        start, end = first_row_at(dataset, start_us), first_row_at(dataset, end_us)
        if start == end:
            continue
        train = _purged_before(dataset, start, end, spec)
        train = train[train < start]
        model = fit_params(spec.training, params, dataset.features.iloc[train], dataset.label[train])
        rows = np.arange(start, end)
        predicted = predict(model, dataset.features.iloc[rows])
        windows.append(rows)
        predictions.append(predicted)
        signals.append(spec.policy.signals(predicted))
    return OutOfSample(windows=tuple(windows), predictions=tuple(predictions), signals=tuple(signals))


def backtest_rows(dataset: Dataset, rows: np.ndarray, signal: np.ndarray, spec: ModelSpec) -> BacktestResult:
    """The backtest of ``signal`` on ``rows`` of the dataset with the spec's costs and capital, flat at
    the start."""
    return run_backtest(
        dataset.minute_us[rows],
        dataset.open[rows],
        dataset.close[rows],
        signal,
        costs=spec.costs,
        capital=spec.capital,
        allow_short=spec.policy.allow_short,
    )


def model_signals(model: Any, dataset: Dataset, rows: np.ndarray, spec: ModelSpec) -> np.ndarray:
    """The signals ``model`` gives on ``rows`` under ``spec``'s policy."""
    return spec.policy.signals(predict(model, dataset.features.iloc[rows]))


def baseline_backtests(dataset: Dataset, rows: np.ndarray, spec: ModelSpec) -> dict[str, BacktestResult]:
    """The naive baselines (always flat, buy-and-hold) on ``rows`` with the same costs and capital."""
    return {name: backtest_rows(dataset, rows, baseline_signal(name, len(rows)), spec) for name in BASELINES}


def _ranges(oos: OutOfSample) -> list[tuple[int, int]]:
    return [(int(rows[0]), int(rows[-1]) + 1) for rows in oos.windows]


def _windows_backtest(
    dataset: Dataset, oos: OutOfSample, signals: Sequence[np.ndarray], spec: ModelSpec
) -> BacktestResult:
    signal = np.zeros(len(dataset), dtype=np.int8)
    for rows, values in zip(oos.windows, signals, strict=True):
        signal[rows] = values
    return backtest_windows(
        dataset.minute_us,
        dataset.open,
        dataset.close,
        signal,
        _ranges(oos),
        costs=spec.costs,
        capital=spec.capital,
        allow_short=spec.policy.allow_short,
    )


def walk_forward_backtest(dataset: Dataset, oos: OutOfSample, spec: ModelSpec) -> BacktestResult:
    """The out-of-sample windows traded one after another (each starts and ends flat), chained."""
    return _windows_backtest(dataset, oos, oos.signals, spec)


def walk_forward_baselines(dataset: Dataset, oos: OutOfSample, spec: ModelSpec) -> dict[str, BacktestResult]:
    """The naive baselines over the same windows, traded the same way."""
    return {
        name: _windows_backtest(
            dataset, oos, [baseline_signal(name, len(rows)) for rows in oos.windows], spec
        )
        for name in BASELINES
    }
