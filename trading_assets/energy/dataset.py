"""A window of stored energy features as arrays, and the purged rows a model of a test day may learn from.

Rows are delivery hours in time order on a gap-free hourly grid (every day of a window has its 24 rows),
so row arithmetic is time arithmetic and the project's purged splits (:mod:`trading_assets.models.splits`)
apply as they are: the positions of test day T are decided at T-1 ``decision_hour_utc``, ``lead_hours``
rows before T's first row, and a training row's label (the hour's intraday trades) is known once its
hour is over. With ``horizon=1`` and ``purge_rows=lead_hours`` a row t trains only when
``t + 2 < start - lead_hours``: its label was known before the decision, with an hour to spare.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from resources.table_store.base import TableStore
from trading_assets.core.time import day_bounds_us
from trading_assets.energy.features import FEATURE_COLUMNS, LABEL_COLUMN, features_table
from trading_assets.energy.inputs import HOUR_US, HOURS
from trading_assets.models.splits import Split, purged_train_indices, train_validation_split
from trading_assets.models.training import TrainingConfig, XGBoostParams, fit_params, predict

LABEL_HORIZON = 1
"""A row's label is known one row (hour) after it starts: at the end of its delivery hour."""


@dataclass(frozen=True, slots=True, kw_only=True)
class EnergyDataset:
    """One area's delivery hours in time order."""

    delivery_us: np.ndarray
    """Start of each delivery hour (int64 µs)."""
    features: pd.DataFrame
    """The model's inputs, columns :data:`FEATURE_COLUMNS` (NaN where an input was missing)."""
    da_price: np.ndarray
    """Day-ahead price per hour (EUR/MWh; NaN: none published by the decision)."""
    intraday_vwap: np.ndarray
    """VWAP of the hour's hourly-product intraday trades (EUR/MWh; NaN: no trade)."""
    spread: np.ndarray
    """The label: ``intraday_vwap - da_price`` (NaN when either is missing)."""

    def __len__(self) -> int:
        return len(self.delivery_us)

    def labelled(self) -> np.ndarray:
        """Positions of the rows whose spread is known."""
        return np.flatnonzero(~np.isnan(self.spread))

    def rows_of(self, day: dt.date) -> np.ndarray:
        """Positions of ``day``'s rows."""
        start_us, end_us = day_bounds_us(day)
        return np.flatnonzero((self.delivery_us >= start_us) & (self.delivery_us < end_us))

    def digest(self) -> str:
        """SHA-256 over times, features and labels: equal data, equal digest."""
        digest = hashlib.sha256()
        for array in (self.delivery_us, self.da_price, self.intraday_vwap, self.spread):
            digest.update(np.ascontiguousarray(array).tobytes())
        digest.update(np.ascontiguousarray(self.features.to_numpy(dtype=np.float64)).tobytes())
        return digest.hexdigest()


def read_dataset(store: TableStore, area: str, first: dt.date, last: dt.date) -> EnergyDataset:
    """The stored rows of ``area`` for days ``first``..``last`` (inclusive).

    Raises ValueError naming the first missing hour when the rows are not a gap-free hourly grid.
    """
    start_us, _ = day_bounds_us(first)
    _, end_us = day_bounds_us(last)
    table = store.read(features_table(area), start_us=start_us, end_us=end_us).sort_by("delivery_us")
    delivery = np.asarray(table.column("delivery_us").to_numpy(), dtype=np.int64)
    expected = np.arange(start_us, end_us, HOUR_US, dtype=np.int64)
    if len(delivery) != len(expected) or not np.array_equal(delivery, expected):
        missing = np.setdiff1d(expected, delivery)
        first_missing = dt.datetime.fromtimestamp(int(missing[0]) / 1e6, dt.UTC) if missing.size else None
        raise ValueError(
            f"energy features of {area} for {first}..{last} are not every hour: {len(delivery)} of "
            f"{len(expected)} rows (first missing {first_missing}); materialize energy_features for those days"
        )

    def floats(name: str) -> np.ndarray:
        return np.asarray(table.column(name).to_numpy(), dtype=np.float64)

    return EnergyDataset(
        delivery_us=delivery,
        features=table.select(list(FEATURE_COLUMNS)).to_pandas(),
        da_price=floats("da_price"),
        intraday_vwap=floats("intraday_vwap"),
        spread=floats(LABEL_COLUMN),
    )


def training_rows(dataset: EnergyDataset, test_start: int, test_end: int, *, lead_hours: int) -> np.ndarray:
    """Labelled rows before ``[test_start, test_end)`` whose label was known before the test's decision."""
    before = dataset.labelled()
    return purged_train_indices(
        before[before < test_start],
        test_start,
        test_end,
        horizon=LABEL_HORIZON,
        purge_rows=lead_hours,
        embargo_rows=lead_hours,
    )


def fit_validation_split(dataset: EnergyDataset, *, validation_days: int, lead_hours: int) -> Split:
    """The window's labelled rows as (fit rows, validation rows): the last ``validation_days`` days'
    labelled rows validate, the rows whose labels were known before their decision fit."""
    labelled = dataset.labelled()
    start = len(dataset) - validation_days * HOURS
    if start <= 0:
        raise ValueError(
            f"{len(dataset) // HOURS} days leave none to fit on beside {validation_days} validation days"
        )
    validation = labelled[labelled >= start]
    if validation.size == 0:
        raise ValueError(f"no labelled rows in the last {validation_days} validation days")
    return train_validation_split(
        labelled,
        validation_rows=int(validation.size),
        horizon=LABEL_HORIZON,
        purge_rows=lead_hours,
        embargo_rows=lead_hours,
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class WalkForward:
    """Out-of-sample predictions of the walk-forward days."""

    days: tuple[dt.date, ...]
    """The test days predicted, oldest first."""
    rows: np.ndarray
    """Positions of their rows, ascending."""
    predictions: np.ndarray
    """The predicted spread per row of ``rows``."""
    train_rows: tuple[int, ...]
    """Rows each day's model was fitted on."""


def walk_forward(
    dataset: EnergyDataset,
    test_days: Sequence[dt.date],
    *,
    config: TrainingConfig,
    params: XGBoostParams,
    lead_hours: int,
    min_train_rows: int = HOURS,
) -> WalkForward:
    """Each test day predicted by a model with ``params`` refitted on the labelled rows before it, purged.

    Raises ValueError naming the day when fewer than ``min_train_rows`` rows may train its model.
    """
    days, rows, predictions, counts = [], [], [], []
    for day in sorted(test_days):
        test = dataset.rows_of(day)
        if test.size == 0:
            raise ValueError(f"no rows of test day {day} in the dataset")
        train = training_rows(dataset, int(test[0]), int(test[-1]) + 1, lead_hours=lead_hours)
        if train.size < min_train_rows:
            raise ValueError(
                f"test day {day}: only {train.size} labelled rows were known before its decision "
                f"(need {min_train_rows}); use fewer test days or more training days"
            )
        model = fit_params(config, params, dataset.features.iloc[train], dataset.spread[train])
        days.append(day)
        rows.append(test)
        predictions.append(predict(model, dataset.features.iloc[test]))
        counts.append(int(train.size))
    return WalkForward(
        days=tuple(days),
        rows=np.concatenate(rows) if rows else np.empty(0, dtype=np.int64),
        predictions=np.concatenate(predictions) if predictions else np.empty(0),
        train_rows=tuple(counts),
    )
