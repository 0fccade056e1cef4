"""Rolling-window arithmetic that is exact under truncation: a window's value depends on its rows only.

Every window here is summed directly, in one fixed order (oldest row first), with one vectorised add per
row of the window. A running sum (``cumsum`` differences, ``pandas.rolling``) carries rounding from all
earlier rows, so its value at row t changes with how much history came before: that would break the
promise that ``WARMUP_BARS`` bars give the executor exactly the value the model was trained on. Summing
``w`` shifted slices costs ``w`` passes over the array, a few milliseconds per window of 60 on 200k rows.

Windows are counted in rows and ignore group boundaries: the caller masks rows whose window would reach
into another (venue, symbol) with :func:`positions_in_groups`.
"""

from __future__ import annotations

import numpy as np


def window_sum(values: np.ndarray, rows: int) -> np.ndarray:
    """Sum of each row's window of ``rows`` rows ending at it (NaN where fewer rows exist).

    The sum is taken oldest row first with one add per row, the same operations whatever precedes the
    window, so the value of row t is a function of rows ``t - rows + 1 .. t`` only, bit for bit.
    """
    if rows < 1:
        raise ValueError(f"a window needs at least one row, got {rows}")
    values = np.asarray(values, dtype=np.float64)
    out = np.full(values.shape[0], np.nan)
    count = values.shape[0] - rows + 1
    if count <= 0:
        return out
    total = values[:count].copy()
    for offset in range(1, rows):
        total += values[offset : offset + count]
    out[rows - 1 :] = total
    return out


def window_mean_std(values: np.ndarray, rows: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean and population standard deviation of each row's window of ``rows`` rows (NaN before).

    Two passes (the mean, then the squared deviations from it) rather than ``E[x²] - E[x]²``, which
    cancels catastrophically when the spread is small against the level (prices, volumes).
    """
    values = np.asarray(values, dtype=np.float64)
    mean = window_sum(values, rows) / rows
    out = np.full(values.shape[0], np.nan)
    count = values.shape[0] - rows + 1
    if count <= 0:
        return mean, out
    centre = mean[rows - 1 :]
    squares = np.zeros(count)
    for offset in range(rows):
        deviation = values[offset : offset + count] - centre
        squares += deviation * deviation
    out[rows - 1 :] = np.sqrt(squares / rows)
    return mean, out


def lagged(values: np.ndarray, lag: int) -> np.ndarray:
    """``values`` shifted down by ``lag`` rows: row t holds row ``t - lag`` (NaN for the first rows)."""
    values = np.asarray(values, dtype=np.float64)
    out = np.full(values.shape[0], np.nan)
    if lag < values.shape[0]:
        out[lag:] = values[: values.shape[0] - lag]
    return out


def positions_in_groups(starts: np.ndarray) -> np.ndarray:
    """Index of each row within its group, given a boolean array that is True on each group's first row.

    A feature needing ``w`` rows is valid on rows whose position is at least ``w - 1``.
    """
    starts = np.asarray(starts, dtype=bool)
    index = np.arange(starts.shape[0])
    if starts.shape[0]:
        starts = starts.copy()
        starts[0] = True
    first = np.maximum.accumulate(np.where(starts, index, 0))
    return index - first
