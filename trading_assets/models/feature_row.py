"""The feature row of one symbol's latest bar, computed alone: bit for bit compute_features' last row.

The executor needs, per closed bar, only the features of that bar. :func:`compute_features` over the
kept :data:`~trading_assets.models.features.WARMUP_BARS` bars computes every row of the window (about
2-5 ms a bar, mostly table building and whole-window passes); :func:`latest_feature_row` computes the last
row only (tens of µs), with the same arithmetic in the same order:

- every window is summed oldest row first with one add per row, as
  :func:`~trading_assets.models.windows.window_sum` does column-wise (here ``np.add.accumulate`` over the
  window: the same sequence of IEEE double adds; never ``np.sum``, which sums pairwise);
- the two-pass standard deviation, the flat-window rule, the ratios and the masks are those of
  :mod:`trading_assets.models.features`; scalar divisions are the same IEEE double divisions, and square
  roots are correctly rounded whichever library takes them;
- logarithms, sines and cosines go through the same numpy ufuncs as there (never ``math``: numpy may
  use its own SIMD implementations of them), so the same implementation rounds them.

The equality is a tested promise (tests/trading_assets/models/test_feature_row.py compares it with
``compute_features`` over many seeded windows, warm-up rows with NaN included), and this module is part
of :func:`~trading_assets.models.features.feature_code_digest`: a model trades only on features made by
the code it was trained with, this function included.
"""

from __future__ import annotations

import math
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


def latest_feature_row(bars: Mapping[str, npt.NDArray]) -> npt.NDArray[np.float64]:
    """The features of the last bar of one (venue, symbol), in :data:`FEATURE_COLUMNS` order.

    ``bars`` maps the numeric bar columns (``minute_us``, ``high``, ``low``, ``close``, ``volume``,
    ``quote_volume``, ``trades``, ``buy_volume``, ``sell_volume``) to equally long arrays: the symbol's
    bars, oldest first, minutes strictly ascending, at least one row. The result equals the last row of
    ``compute_features`` over the same bars, bit for bit; NaN where the window is incomplete.
    """
    n = len(bars["minute_us"])
    if n == 0:
        raise ValueError("no bars: the latest feature row needs at least one")
    out: dict[str, float] = {}
    last = _features.WARMUP_BARS
    close = np.asarray(bars["close"][-last:], dtype=np.float64)
    log_close = np.log(close)
    for horizon in RETURN_HORIZONS:
        out[f"ret_{horizon}"] = float(log_close[-1] - log_close[-1 - horizon]) if n > horizon else _NAN
    returns = log_close[1:] - log_close[:-1]
    squared = returns * returns
    for rows in VOLATILITY_WINDOWS:
        # rvol needs rows + 1 bars: the `rows` squared returns are all defined then.
        out[f"rvol_{rows}"] = math.sqrt(_sum(squared, rows)) if n > rows else _NAN
    widest = max(RANGE_WINDOWS)
    high = np.asarray(bars["high"][-widest:], dtype=np.float64)
    low = np.asarray(bars["low"][-widest:], dtype=np.float64)
    log_range = np.log(high / low)
    for rows in RANGE_WINDOWS:
        out[f"range_{rows}"] = _sum(log_range, rows) / rows if n >= rows else _NAN
    volume = np.asarray(bars["volume"][-last:], dtype=np.float64)
    trades = np.asarray(bars["trades"][-last:], dtype=np.float64)
    for name, values in ((f"volume_z_{ZSCORE_WINDOW}", volume), (f"trades_z_{ZSCORE_WINDOW}", trades)):
        out[name] = _zscore(values, ZSCORE_WINDOW) if n >= ZSCORE_WINDOW else _NAN
    buy = np.asarray(bars["buy_volume"][-last:], dtype=np.float64)
    sell = np.asarray(bars["sell_volume"][-last:], dtype=np.float64)
    for rows in IMBALANCE_WINDOWS:
        if n < rows:
            out[f"ofi_{rows}"] = _NAN
            continue
        buys, sells = _sum(buy, rows), _sum(sell, rows)
        denominator = buys + sells
        # features._ratio: 0 where the denominator is 0; a NaN one stays NaN.
        out[f"ofi_{rows}"] = 0.0 if denominator == 0 else _divide(buys - sells, denominator)
    quote = np.asarray(bars["quote_volume"][-last:], dtype=np.float64)
    last_close = float(close[-1])
    for rows in VWAP_WINDOWS:
        if n < rows:
            out[f"vwap_dist_{rows}"] = _NAN
            continue
        window_volume = _sum(volume, rows)
        vwap = _divide(_sum(quote, rows), window_volume) if window_volume > 0 else _NAN
        with np.errstate(divide="ignore", invalid="ignore"):
            out[f"vwap_dist_{rows}"] = float(np.log(np.array([_divide(last_close, vwap)]))[0])
    minute_us = np.asarray(bars["minute_us"][-2:], dtype=np.int64)
    # As lagged(): both minutes as float64, subtracted, then divided by the int US_PER_MINUTE.
    out["gap_minutes"] = (float(minute_us[-1]) - float(minute_us[-2])) / US_PER_MINUTE if n >= 2 else _NAN
    minute_of_day = (minute_us[-1:] // US_PER_MINUTE) % MINUTES_PER_DAY
    angle = 2.0 * np.pi * minute_of_day / MINUTES_PER_DAY
    out["tod_sin"] = float(np.sin(angle)[0])
    out["tod_cos"] = float(np.cos(angle)[0])
    # compute_features' mask: a window that reaches before the first bar is NaN, whatever was computed.
    return np.array(
        [out[name] if n >= _ROWS_NEEDED[name] else _NAN for name in FEATURE_COLUMNS], dtype=np.float64
    )


def _sum(values: npt.NDArray[np.float64], rows: int) -> float:
    """The sum of the last ``rows`` values, oldest first, one add at a time (as ``window_sum``).

    ``np.add.accumulate`` is that sequence by definition (each partial sum is the previous one plus the
    next value, one rounding each), never the pairwise summation ``np.sum`` uses.
    """
    return float(np.add.accumulate(values[-rows:])[-1])


def _divide(numerator: float, denominator: float) -> float:
    """``numerator / denominator`` as numpy divides float64: ±inf or NaN for a zero denominator."""
    if denominator == 0:
        with np.errstate(divide="ignore", invalid="ignore"):
            return float(np.float64(numerator) / np.float64(denominator))
    # A Python float division is the same IEEE double division numpy's elementwise divide makes.
    return numerator / denominator


def _zscore(values: npt.NDArray[np.float64], rows: int) -> float:
    """features._zscore of the last value: two-pass mean and std of the window, 0 where it is flat."""
    window = values[-rows:]
    mean = _sum(window, rows) / rows
    deviation = window - mean
    # window_mean_std adds each squared deviation to zeros: 0.0 + d*d is d*d (a square is never -0.0).
    squares = _sum(deviation * deviation, rows)
    std = math.sqrt(squares / rows)
    flat = std <= 1e-12 * float(np.maximum(abs(mean), _TINY))
    if flat:  # (a NaN std is never flat: NaN compares false)
        return 0.0
    return _divide(float(window[-1]) - mean, std)
