"""The feature row of one symbol's latest bar, computed alone: bit for bit compute_features' last row.

The executor needs, per closed bar, only the features of that bar. :func:`compute_features` over the
kept :data:`~trading_assets.models.features.WARMUP_BARS` bars computes every row of the window (about
2-5 ms a bar, mostly table building and whole-window passes); :func:`latest_feature_row` computes the last
row only (tens of µs), with the same arithmetic in the same order:

- every window is summed oldest row first with one add per row, as
  :func:`~trading_assets.models.windows.window_sum` does column-wise (here on Python floats, which are
  the same IEEE doubles with the same round-to-nearest adds, multiplies and divides; no fused operations);
- the two-pass standard deviation, the flat-window rule, the ratios and the masks are those of
  :mod:`trading_assets.models.features`;
- logarithms, sines and cosines go through the same numpy ufuncs as there (never ``math``), so the same
  implementation rounds them.

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
    close = np.asarray(bars["close"], dtype=np.float64)
    log_close = np.log(close).tolist()
    last_close = float(close[-1])
    for horizon in RETURN_HORIZONS:
        out[f"ret_{horizon}"] = log_close[-1] - log_close[-1 - horizon] if n > horizon else _NAN
    returns = [log_close[i] - log_close[i - 1] for i in range(max(1, n - max(VOLATILITY_WINDOWS)), n)]
    squared = [r * r for r in returns]
    for rows in VOLATILITY_WINDOWS:
        # rvol needs rows + 1 bars: the `rows` squared returns are all defined then.
        out[f"rvol_{rows}"] = float(np.sqrt(_sum(squared, rows))) if n > rows else _NAN
    high = np.asarray(bars["high"], dtype=np.float64)[-max(RANGE_WINDOWS) :]
    low = np.asarray(bars["low"], dtype=np.float64)[-max(RANGE_WINDOWS) :]
    log_range = np.log(high / low).tolist()
    for rows in RANGE_WINDOWS:
        out[f"range_{rows}"] = _sum(log_range, rows) / rows if n >= rows else _NAN
    volume = _floats(bars["volume"])
    out[f"volume_z_{ZSCORE_WINDOW}"] = _zscore(volume, ZSCORE_WINDOW) if n >= ZSCORE_WINDOW else _NAN
    trades = _floats(bars["trades"])
    out[f"trades_z_{ZSCORE_WINDOW}"] = _zscore(trades, ZSCORE_WINDOW) if n >= ZSCORE_WINDOW else _NAN
    buy, sell = _floats(bars["buy_volume"]), _floats(bars["sell_volume"])
    for rows in IMBALANCE_WINDOWS:
        if n < rows:
            out[f"ofi_{rows}"] = _NAN
            continue
        buys, sells = _sum(buy, rows), _sum(sell, rows)
        denominator = buys + sells
        # features._ratio: 0 where the denominator is 0; a NaN one stays NaN.
        out[f"ofi_{rows}"] = 0.0 if denominator == 0 else _divide(buys - sells, denominator)
    quote = _floats(bars["quote_volume"])
    for rows in VWAP_WINDOWS:
        if n < rows:
            out[f"vwap_dist_{rows}"] = _NAN
            continue
        window_volume = _sum(volume, rows)
        vwap = _divide(_sum(quote, rows), window_volume) if window_volume > 0 else _NAN
        with np.errstate(divide="ignore", invalid="ignore"):
            out[f"vwap_dist_{rows}"] = float(np.log(np.array([_divide(last_close, vwap)]))[0])
    minute_us = np.asarray(bars["minute_us"], dtype=np.int64)
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


def _floats(values: npt.NDArray) -> list[float]:
    """The last WARMUP_BARS values as Python floats (int columns converted as ``astype(float64)``)."""
    return np.asarray(values[-_features.WARMUP_BARS :], dtype=np.float64).tolist()


def _sum(values: list[float], rows: int) -> float:
    """The sum of the last ``rows`` values, oldest first, one add at a time (as ``window_sum``)."""
    window = values[-rows:]
    total = window[0]
    for value in window[1:]:
        total += value
    return total


def _divide(numerator: float, denominator: float) -> float:
    """``numerator / denominator`` as numpy divides float64: ±inf or NaN for a zero denominator."""
    if denominator == 0:
        with np.errstate(divide="ignore", invalid="ignore"):
            return float(np.float64(numerator) / np.float64(denominator))
    # A Python float division is the same IEEE double division numpy's elementwise divide makes.
    return numerator / denominator


def _zscore(values: list[float], rows: int) -> float:
    """features._zscore of the last value: two-pass mean and std of the window, 0 where it is flat."""
    window = values[-rows:]
    mean = _sum(window, rows) / rows
    squares = 0.0
    for value in window:
        deviation = value - mean
        squares += deviation * deviation
    std = float(np.sqrt(squares / rows))
    flat = std <= 1e-12 * float(np.maximum(abs(mean), _TINY))
    if flat:  # (a NaN std is never flat: NaN compares false)
        return 0.0
    return _divide(values[-1] - mean, std)
