"""The feature rows of symbols' latest bars, computed alone: bit for bit compute_features' last rows.

The executor needs, per closed bar, only the features of that bar. :func:`compute_features` over the
kept :data:`~trading_assets.models.features.WARMUP_BARS` bars computes every row of the window (about
2-5 ms a bar, mostly table building and whole-window passes); :func:`latest_feature_row` computes the last
row only, with the same arithmetic in the same order; :func:`latest_feature_rows` computes the last rows
of many windows of the same length at once (one numpy call per step for all of them, about 10 µs a row
for a poll's bars instead of about 90 µs a row alone):

- every window is summed oldest row first with one add per row, as
  :func:`~trading_assets.models.windows.window_sum` does column-wise (here ``np.add.accumulate`` along
  each window: the same sequence of IEEE double adds; never ``np.sum``, which sums pairwise);
- the two-pass standard deviation, the flat-window rule, the ratios and the masks are those of
  :mod:`trading_assets.models.features`; scalar divisions are the same IEEE double divisions, and square
  roots are correctly rounded whichever library takes them;
- logarithms, sines and cosines go through the same numpy ufuncs as there (never ``math``: numpy may
  use its own SIMD implementations of them), on contiguous arrays as there, so the same implementation
  rounds them.

The equality is a tested promise (tests/trading_assets/models/test_feature_row.py compares it with
``compute_features`` over many seeded windows, warm-up rows with NaN included), and this module is part
of :func:`~trading_assets.models.features.feature_code_digest`: a model trades only on features made by
the code it was trained with, this function included.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import numpy.typing as npt

from trading_assets.core.time import US_PER_MINUTE
from trading_assets.models import features as _features
from trading_assets.models.features import (
    FEATURE_COLUMNS,
    IMBALANCE_WINDOWS,
    MINUTES_PER_DAY,
    RANGE_WINDOWS,
    RETURN_HORIZONS,
    VOLATILITY_WINDOWS,
    VWAP_WINDOWS,
    ZSCORE_WINDOW,
)

_NAN = float("nan")
_TINY = float(np.finfo(np.float64).tiny)
# The one declaration of each feature's window (features.py masks with it too).
_ROWS_NEEDED = _features._ROWS_NEEDED
FEATURE_INPUTS = (
    "minute_us",
    "high",
    "low",
    "close",
    "volume",
    "quote_volume",
    "trades",
    "buy_volume",
    "sell_volume",
)
"""The bar columns the feature rows are computed from."""


def latest_feature_row(bars: Mapping[str, npt.NDArray]) -> npt.NDArray[np.float64]:
    """The features of the last bar of one (venue, symbol), in :data:`FEATURE_COLUMNS` order.

    ``bars`` maps the numeric bar columns (:data:`FEATURE_INPUTS`) to equally long arrays: the symbol's
    bars, oldest first, minutes strictly ascending, at least one row. The result equals the last row of
    ``compute_features`` over the same bars, bit for bit; NaN where the window is incomplete.
    """
    if len(bars["minute_us"]) == 0:
        raise ValueError("no bars: the latest feature row needs at least one")
    return latest_feature_rows({name: np.asarray(bars[name])[np.newaxis, :] for name in FEATURE_INPUTS})[0]


def latest_feature_rows(
    bars: Mapping[str, npt.NDArray], lengths: npt.NDArray[np.int64] | None = None
) -> npt.NDArray[np.float64]:
    """The features of the last bar of each of ``k`` windows, ``k`` × ``len(FEATURE_COLUMNS)``.

    ``bars`` maps the numeric bar columns (:data:`FEATURE_INPUTS`) to ``k`` × ``n`` arrays: one window
    of one (venue, symbol) per row, its bars oldest first, minutes strictly ascending, ``n`` >= 1. Row
    ``i`` equals :func:`latest_feature_row` of window ``i``: the last row of ``compute_features`` over
    its bars, bit for bit; NaN where the window is incomplete.

    ``lengths`` (default: ``n`` each) gives the bars of each window: window ``i`` is its last
    ``lengths[i]`` columns, the columns before them any padding (NaN, say). A feature is read only from
    windows holding every bar it needs (the others are NaN), and it reads no further back than those, so
    padding never reaches a value: windows of different lengths (warming up) are computed together.
    """
    minute_us = np.asarray(bars["minute_us"], dtype=np.int64)
    if minute_us.ndim != 2:
        raise ValueError(f"windows as k x n arrays, got shape {minute_us.shape}")
    k, n = minute_us.shape
    if n == 0:
        raise ValueError("no bars: the latest feature row needs at least one")
    out: dict[str, npt.NDArray[np.float64] | float] = {}
    last = _features.WARMUP_BARS
    close = _tail(bars["close"], last)
    log_close = np.log(close)
    for horizon in RETURN_HORIZONS:
        out[f"ret_{horizon}"] = log_close[:, -1] - log_close[:, -1 - horizon] if n > horizon else _NAN
    returns = log_close[:, 1:] - log_close[:, :-1]
    squared = returns * returns
    for rows in VOLATILITY_WINDOWS:
        # rvol needs rows + 1 bars: the `rows` squared returns are all defined then.
        out[f"rvol_{rows}"] = np.sqrt(_sum(squared, rows)) if n > rows else _NAN
    widest = max(RANGE_WINDOWS)
    log_range = np.log(_tail(bars["high"], widest) / _tail(bars["low"], widest))
    for rows in RANGE_WINDOWS:
        out[f"range_{rows}"] = _sum(log_range, rows) / rows if n >= rows else _NAN
    volume = _tail(bars["volume"], last)
    trades = _tail(bars["trades"], last)
    for name, values in ((f"volume_z_{ZSCORE_WINDOW}", volume), (f"trades_z_{ZSCORE_WINDOW}", trades)):
        out[name] = _zscore(values, ZSCORE_WINDOW) if n >= ZSCORE_WINDOW else _NAN
    buy = _tail(bars["buy_volume"], last)
    sell = _tail(bars["sell_volume"], last)
    with np.errstate(divide="ignore", invalid="ignore"):
        for rows in IMBALANCE_WINDOWS:
            if n >= rows:
                buys, sells = _sum(buy, rows), _sum(sell, rows)
                denominator = buys + sells
                # features._ratio: 0 where the denominator is 0; a NaN one stays NaN.
                out[f"ofi_{rows}"] = np.where(denominator == 0, 0.0, (buys - sells) / denominator)
        quote = _tail(bars["quote_volume"], last)
        last_close = close[:, -1]
        for rows in VWAP_WINDOWS:
            if n >= rows:
                window_volume = _sum(volume, rows)
                vwap = np.where(window_volume > 0, _sum(quote, rows) / window_volume, _NAN)
                out[f"vwap_dist_{rows}"] = np.log(last_close / vwap)
    # As lagged(): both minutes as float64, subtracted, then divided by the int US_PER_MINUTE.
    if n >= 2:
        out["gap_minutes"] = (
            minute_us[:, -1].astype(np.float64) - minute_us[:, -2].astype(np.float64)
        ) / US_PER_MINUTE
    minute_of_day = (minute_us[:, -1] // US_PER_MINUTE) % MINUTES_PER_DAY
    angle = 2.0 * np.pi * minute_of_day / MINUTES_PER_DAY
    out["tod_sin"] = np.sin(angle)
    out["tod_cos"] = np.cos(angle)
    # compute_features' mask: a window that reaches before the first bar is NaN, whatever was computed.
    result = np.empty((k, len(FEATURE_COLUMNS)), dtype=np.float64)
    for column, name in enumerate(FEATURE_COLUMNS):
        if lengths is None:
            result[:, column] = out.get(name, _NAN) if n >= _ROWS_NEEDED[name] else _NAN
        else:
            result[:, column] = np.where(lengths >= _ROWS_NEEDED[name], out.get(name, _NAN), _NAN)
    return result


def _tail(values: npt.ArrayLike, rows: int) -> npt.NDArray[np.float64]:
    """The last ``rows`` columns of each window as float64, contiguous (ufuncs take the same loop as on
    compute_features' columns)."""
    return np.ascontiguousarray(np.asarray(values)[:, -rows:], dtype=np.float64)


def _sum(values: npt.NDArray[np.float64], rows: int) -> npt.NDArray[np.float64]:
    """The sum of each window's last ``rows`` values, oldest first, one add at a time (as ``window_sum``).

    ``np.add.accumulate`` is that sequence by definition (each partial sum is the previous one plus the
    next value, one rounding each), never the pairwise summation ``np.sum`` uses.
    """
    return np.add.accumulate(values[:, -rows:], axis=1)[:, -1]


def _zscore(values: npt.NDArray[np.float64], rows: int) -> npt.NDArray[np.float64]:
    """features._zscore of each window's last value: two-pass mean and std of the window, 0 where it is
    flat."""
    window = values[:, -rows:]
    mean = _sum(window, rows) / rows
    deviation = window - mean[:, np.newaxis]
    # window_mean_std adds each squared deviation to zeros: 0.0 + d*d is d*d (a square is never -0.0).
    std = np.sqrt(_sum(deviation * deviation, rows) / rows)
    # (a NaN std is never flat: NaN compares false)
    flat = std <= 1e-12 * np.maximum(np.abs(mean), _TINY)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(flat, 0.0, (window[:, -1] - mean) / std)
