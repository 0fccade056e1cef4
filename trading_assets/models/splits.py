"""Purged walk-forward splits over one series' rows in time order (row indices, not times).

The label of row t reads the opens up to row ``t + 1 + horizon`` (``trading_assets.models.labels``), so
a training row whose label reaches into a test window would teach the model the test's prices.

- :func:`purged_train_indices` is the general rule for a test window ``[start, end)``: a training row
  before it is kept only when its label ends more than ``purge_rows`` rows before the window
  (``t + 1 + horizon < start - purge_rows``), a training row after it only when it lies
  ``embargo_rows`` or more after its end (its features and label are then not made of the test's bars).
- :func:`walk_forward_splits` and :func:`train_validation_split` put all training rows before the window
  they are scored on, and keep both the purge and the embargo between them: every training label ends
  before its window starts, minus purge and embargo (``t + 1 + horizon < start - purge_rows -
  embargo_rows``). The embargo's usual place, after a test window, never holds training rows there.

Walk-forward: each fold trains on a window of rows before its test window and tests on the next
``test_rows`` rows; the folds step forward by ``step_rows``. The model of fold k only ever sees rows
before fold k's test window.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from trading_assets.models.labels import label_end_offset


class Split(NamedTuple):
    """Row indices (int64, ascending) of one fold: train on ``train``, score on ``test``."""

    train: np.ndarray
    """Rows to train on, purged and embargoed against ``test``."""
    test: np.ndarray
    """Rows scored out of sample: one contiguous window."""


@dataclass(frozen=True, slots=True, kw_only=True)
class WalkForwardConfig:
    """Walk-forward folds in rows of one series, with purge and embargo of at least the label horizon."""

    train_rows: int
    """Rows in each fold's training window (the last ``train_rows`` rows allowed before the test)."""
    test_rows: int
    """Rows in each test window (the last window may be shorter when the data ends)."""
    horizon: int
    """Label horizon in rows: the label of row t ends at row ``t + 1 + horizon``."""
    purge_rows: int
    """Rows between the end of the last training label and the test window (with the embargo); at
    least ``horizon``."""
    embargo_rows: int
    """Further rows kept free of training labels before each test window (see the module docstring);
    at least ``horizon``."""
    step_rows: int | None = None
    """Rows between the starts of consecutive test windows; ``None`` means ``test_rows`` (no overlap)."""
    expanding: bool = False
    """Train on every allowed row since row 0 instead of the last ``train_rows`` (the first fold still
    waits for ``train_rows`` rows)."""

    def __post_init__(self) -> None:
        label_end_offset(self.horizon)  # checks the horizon
        for name in ("train_rows", "test_rows"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        for name in ("purge_rows", "embargo_rows"):
            if getattr(self, name) < self.horizon:
                raise ValueError(
                    f"{name} must be at least the label horizon ({self.horizon} rows), got {getattr(self, name)}"
                )
        if self.step_rows is not None and self.step_rows < 1:
            raise ValueError(f"step_rows must be >= 1, got {self.step_rows}")

    @property
    def step(self) -> int:
        """Rows between the starts of consecutive test windows."""
        return self.test_rows if self.step_rows is None else self.step_rows

    @property
    def gap_rows(self) -> int:
        """Rows from the last training row to the test window: the label's reach, purge and embargo."""
        return label_end_offset(self.horizon) + self.purge_rows + self.embargo_rows


def purged_train_indices(
    candidates: np.ndarray,
    test_start: int,
    test_end: int,
    *,
    horizon: int,
    purge_rows: int,
    embargo_rows: int,
) -> np.ndarray:
    """The rows of ``candidates`` that may train a model scored on rows ``[test_start, test_end)``.

    Keeps a row t before the window when its label ends more than ``purge_rows`` rows before it
    (``t + 1 + horizon < test_start - purge_rows``) and a row after it when ``t >= test_end +
    embargo_rows``; drops everything else.
    """
    rows = np.asarray(candidates, dtype=np.int64)
    before = rows + label_end_offset(horizon) < test_start - purge_rows
    after = rows >= test_end + embargo_rows
    return rows[before | after]


def walk_forward_splits(n_rows: int, config: WalkForwardConfig) -> list[Split]:
    """The walk-forward folds over rows ``0 .. n_rows - 1`` of one series in time order.

    The first test window starts once ``config.train_rows`` rows can train before it
    (``train_rows + gap_rows``); folds follow every ``config.step`` rows while test rows remain. Returns
    no folds when the data is too short for one.
    """
    splits: list[Split] = []
    start = config.train_rows + config.gap_rows
    while start < n_rows:
        end = min(start + config.test_rows, n_rows)
        last_train = start - config.gap_rows  # exclusive
        first_train = 0 if config.expanding else last_train - config.train_rows
        train = purged_train_indices(
            np.arange(first_train, last_train, dtype=np.int64),
            start,
            end,
            horizon=config.horizon,
            purge_rows=config.purge_rows,
            embargo_rows=config.embargo_rows,
        )
        splits.append(Split(train=train, test=np.arange(start, end, dtype=np.int64)))
        start += config.step
    return splits


def train_validation_split(
    train: np.ndarray,
    *,
    validation_rows: int,
    horizon: int,
    purge_rows: int,
    embargo_rows: int,
) -> Split:
    """Split a fold's training rows into rows to fit on and a validation window at their end.

    For the hyperparameter search: the validation window is the last ``validation_rows`` rows of
    ``train`` (the ones closest to the test, as the test is to the training data); the labels of the
    rows fitted on end, as in a walk-forward fold, more than ``purge_rows + embargo_rows`` rows before
    the validation window starts. Returns ``Split(train=fit, test=validation)``.
    Raises ``ValueError`` when ``train`` is not ascending or too short to leave rows to fit on.
    """
    rows = np.asarray(train, dtype=np.int64)
    if validation_rows < 1:
        raise ValueError(f"validation_rows must be >= 1, got {validation_rows}")
    if min(purge_rows, embargo_rows) < horizon:
        raise ValueError(
            f"purge_rows ({purge_rows}) and embargo_rows ({embargo_rows}) must be at least the label "
            f"horizon ({horizon} rows)"
        )
    if rows.size > 1 and (np.diff(rows) <= 0).any():
        raise ValueError("training rows must be strictly ascending")
    if rows.size <= validation_rows:
        raise ValueError(
            f"{rows.size} training rows leave none to fit on beside {validation_rows} validation rows"
        )
    validation = rows[-validation_rows:]
    fit = purged_train_indices(
        rows[:-validation_rows],
        int(validation[0]),
        int(validation[-1]) + 1,
        horizon=horizon,
        purge_rows=purge_rows + embargo_rows,
        embargo_rows=embargo_rows,
    )
    if fit.size == 0:
        raise ValueError(
            f"no training rows are left to fit on before the {validation_rows}-row validation window "
            f"after the {horizon}-row label horizon, {purge_rows} purge and {embargo_rows} embargo rows"
        )
    return Split(train=fit, test=validation)
