"""The naive strategies a model must beat: stay flat, or buy at the first fill and hold.

Both are signals for :func:`trading_assets.backtest.engine.run_backtest` over the same bars and costs
as the model's, so the comparison includes the baseline's own entry cost.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

BASELINES = ("flat", "buy_and_hold")
"""Names of the baselines, as :func:`baseline_signal` takes them."""


def flat_signal(n_bars: int) -> npt.NDArray[np.int8]:
    """Never in the market: equity stays at the capital, no fill, no cost."""
    return np.zeros(n_bars, dtype=np.int8)


def buy_and_hold_signal(n_bars: int) -> npt.NDArray[np.int8]:
    """Long from the first bar's decision on: bought at the second bar's open and never sold."""
    return np.ones(n_bars, dtype=np.int8)


def baseline_signal(name: str, n_bars: int) -> npt.NDArray[np.int8]:
    """The signal of the baseline called ``name`` (one of :data:`BASELINES`)."""
    if name == "flat":
        return flat_signal(n_bars)
    if name == "buy_and_hold":
        return buy_and_hold_signal(n_bars)
    raise ValueError(f"unknown baseline {name!r}; expected one of {BASELINES}")
