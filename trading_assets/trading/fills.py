"""When a decision fills, at which price, and for how many units: the rules the backtest and the executor share.

Fill rule. A decision is made at a bar's close; a bar's ``minute_us`` is its start, so the decision is
known at ``minute_us + 60 s`` (:func:`decision_time_us`). Its order reaches the market ``latency_us``
later (:func:`earliest_fill_us`) and fills at the first price at or after that moment:

- on bars (the backtest): the open of the first bar with ``minute_us >= decision_us + latency_us``
  (:func:`fill_index`); since ``decision_us`` is after the bar's start, it is never the bar the decision
  came from. Minutes without trades have no bar, so a gap pushes the fill to the next bar that exists.
  A decision with no such bar does not fill.
- on trades (the executor): the first trade with ``trade_time_us >= decision_us + latency_us``
  (:func:`fills_on_trade`, or :func:`fill_index` over a sorted array of trade times).

Decisions whose fills land on the same bar (or trade) are netted: the position moves once, to the target
of the latest of them, with one fill and one fee. Without latency this happens only where decisions
could not fill at all in between (it cannot, bars being at least a minute apart); with latency it does.

Position sizing. A signal in {-1, 0, +1} is a target exposure of ``signal × capital`` notional. The
quantity is set when the target changes, ``signal × capital / reference_price`` at the fill (the market
price before costs, e.g. the bar's open), and held until the target changes again: no rebalancing as
the price drifts, so a position's size is known from its entry fill alone (:func:`target_quantity`).
"""

from __future__ import annotations

from typing import Any, TypeVar, overload

import numpy as np
import numpy.typing as npt

from trading_assets.core.time import US_PER_MINUTE

BAR_US = US_PER_MINUTE
"""Length of a bar: a decision on bar ``minute_us`` is known at its close, ``minute_us + BAR_US``."""

IntOrArray = TypeVar("IntOrArray", int, npt.NDArray[np.int64])


def decision_time_us(minute_us: IntOrArray) -> IntOrArray:
    """When a decision computed from the bar starting at ``minute_us`` is known: the bar's close."""
    return minute_us + BAR_US


def earliest_fill_us(decision_us: IntOrArray, latency_us: int) -> IntOrArray:
    """The earliest time a price can fill an order decided at ``decision_us``: decision plus latency."""
    if latency_us < 0:
        raise ValueError(f"latency_us must be >= 0, got {latency_us}")
    return decision_us + latency_us


def fill_index(
    times_us: npt.NDArray[np.int64], decision_us: IntOrArray, latency_us: int
) -> npt.NDArray[np.intp] | np.intp:
    """Index of the first element of ``times_us`` at or after ``decision_us + latency_us``.

    ``times_us`` are ascending bar starts (``minute_us``: the fill is that bar's open) or trade times
    (the fill is that trade). ``decision_us`` may be one time or an array of them; where no element is
    late enough the index is ``len(times_us)``: the decision does not fill.
    """
    return np.searchsorted(times_us, earliest_fill_us(decision_us, latency_us), side="left")


def fills_on_trade(trade_time_us: int, decision_us: int, latency_us: int) -> bool:
    """Whether a trade at ``trade_time_us`` may fill an order decided at ``decision_us``.

    The executor sees trades one by one in time order: the first trade for which this is true fills the
    pending order, at that trade's price as the reference price.
    """
    return trade_time_us >= earliest_fill_us(decision_us, latency_us)


@overload
def target_quantity(signal: int | float, capital: float, reference_price: float) -> float: ...
@overload
def target_quantity(
    signal: int | float | npt.NDArray[Any], capital: float, reference_price: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]: ...
def target_quantity(
    signal: int | float | npt.NDArray[Any], capital: float, reference_price: float | npt.NDArray[np.float64]
) -> float | npt.NDArray[np.float64]:
    """Units held for ``signal`` (-1, 0, +1) when it is filled at ``reference_price``: signal × capital / price.

    Signed (negative is short). Called once per change of target, at the fill; the quantity is then
    held unchanged until the next change.
    """
    return signal * capital / reference_price


def bar_fill_index(minute_us: npt.NDArray[np.int64], latency_us: int) -> npt.NDArray[np.intp]:
    """For each bar, the index of the bar whose open fills the decision made at its close.

    The same rule as :func:`fill_index` with ``decision_time_us(minute_us)`` (``len(minute_us)`` where
    no bar is late enough), computed in one pass where the next bar is late enough, which it always is
    without latency (bars start at least a minute apart): a full binary search over 10M bars costs about
    0.5 s, a quarter of the backtest's time budget. Only the bars whose next bar comes too early (the
    latency reaches past it) are searched. ``minute_us`` must be strictly ascending.
    """
    n = len(minute_us)
    index = np.arange(1, n + 1, dtype=np.intp)
    if n < 2:
        return index
    threshold = earliest_fill_us(decision_time_us(minute_us[:-1]), latency_us)
    too_early = np.flatnonzero(minute_us[1:] < threshold)
    if too_early.size:
        index[too_early] = np.searchsorted(minute_us, threshold[too_early], side="left")
    return index


def bars_filling_later(minute_us: npt.NDArray[np.int64], latency_us: int) -> npt.NDArray[np.intp]:
    """Indices of the bars whose decision does not fill at the very next bar's open (latency reaches past it).

    Empty without latency. Lets a caller take the common case (every decision fills at the next bar)
    without building :func:`bar_fill_index`'s array of 10M indices.
    """
    if len(minute_us) < 2:
        return np.empty(0, dtype=np.intp)
    gaps = np.diff(minute_us)
    return np.flatnonzero(gaps < BAR_US + latency_us)
