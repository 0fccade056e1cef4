"""Scores of a backtest: returns, risk-adjusted returns, drawdown, hit rate, turnover, exposure, trades.

Annualised for 1-minute bars of a market that trades all year (crypto): :data:`BARS_PER_YEAR` =
525,600. Returns are per bar, ``equity[t] / equity[t-1] - 1`` with ``equity[-1] = capital``; minutes
without a bar simply have no return (the annualisation assumes one bar per minute, which the symbols
this platform trades come close to).

Written here with numpy rather than taken from empyrical-reloaded or quantstats: both work on pandas
Series indexed by time and assume daily periods unless told otherwise, convert 10M-element arrays
(about 1 s each, a budget the backtest's 5M bars/s cannot spend), and the few formulas below are the
standard ones (Sharpe and Sortino with a zero target as empyrical computes them, drawdown from the
running peak, Calmar as CAGR over maximum drawdown). Undefined values (no variation, no drawdown, no
closed trade) are NaN, not 0 or infinity, so that no gate mistakes them for a score.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

BARS_PER_YEAR = 525_600
"""One bar per minute, every minute of a 365-day year."""

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True, kw_only=True)
class BacktestMetrics:
    """The scores of one backtest."""

    total_return: float
    """Final equity / capital - 1."""
    annual_return: float
    """Compound annual growth rate: (final equity / capital) ** (bars_per_year / bars) - 1 (-1 if ruined)."""
    sharpe: float
    """Mean over standard deviation (ddof 1) of the per-bar returns × sqrt(bars_per_year); NaN if constant."""
    sortino: float
    """Mean per-bar return over its downside deviation (root mean square of the negative returns, target 0) × sqrt(bars_per_year); NaN without a losing bar."""
    max_drawdown: float
    """Largest fall from the running equity peak (capital included), as a positive fraction of that peak."""
    calmar: float
    """annual_return / max_drawdown; NaN without a drawdown."""
    hit_rate: float
    """Share of closed round trips (entry fill to the fill that closes or flips it) with positive PnL net of both fills' fees; NaN if none closed."""
    turnover: float
    """Traded notional (sum of quantity × fill price over fills) / capital."""
    exposure: float
    """Share of bars with a nonzero position."""
    trades: int
    """Number of fills (a flip is one fill)."""
    round_trips: int
    """Number of closed round trips, the denominator of hit_rate."""
    bars: int
    """Number of bars scored."""

    def as_dict(self) -> dict[str, float]:
        """The metrics by name, as floats (ready for MLflow's ``log_metrics``)."""
        return {name: float(value) for name, value in asdict(self).items()}


def round_trip_pnl(
    *, fill_quantity: FloatArray, fill_price: FloatArray, fill_fee: FloatArray, fill_position: FloatArray
) -> FloatArray:
    """Net PnL of each closed round trip, in the order they close.

    The position is set by one fill and held until the next, so the position before fill ``k`` was
    opened by fill ``k - 1`` at ``fill_price[k - 1]``. Each fill's fee is split between the part that
    closes the old position and the part that opens the new one, in proportion to the units.
    """
    if len(fill_position) < 2:
        return np.empty(0, dtype=np.float64)
    # Computed for every pair of consecutive fills with slices (no gathers: at millions of fills each
    # gather costs more than the arithmetic), then the pairs that close nothing are dropped.
    held = fill_position[:-1]
    size = np.abs(held)
    fee_per_unit = fill_fee / fill_quantity
    pnl = np.subtract(fill_price[1:], fill_price[:-1])
    pnl *= held
    costs = fee_per_unit[:-1] + fee_per_unit[1:]
    costs *= size
    pnl -= costs
    return pnl[held != 0.0]


CHUNK = 1 << 20
"""Elements per chunk of the passes over bars and fills (see _return_sums)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class _ReturnSums:
    total: float
    squares: float
    downside_squares: float
    max_drawdown: float


def _return_sums(equity: FloatArray, capital: float) -> _ReturnSums:
    """Sums of the per-bar returns, their squares and their negative parts' squares; max drawdown.

    In chunks with one reused buffer: on this VM fresh memory for 10M-element temporaries (page faults,
    zeroing by the kernel) cost more than the arithmetic.
    """
    total = squares = downside_squares = 0.0
    worst = 1.0  # lowest equity / running peak
    peak = float(capital)
    previous = float(capital)
    buffer = np.empty(min(CHUNK, len(equity)), dtype=np.float64)
    for start in range(0, len(equity), CHUNK):
        chunk = equity[start : start + CHUNK]
        returns = buffer[: len(chunk)]
        returns[0] = chunk[0] / previous
        np.divide(chunk[1:], chunk[:-1], out=returns[1:])
        returns -= 1.0
        total += float(returns.sum())
        squares += float(np.dot(returns, returns))
        np.minimum(returns, 0.0, out=returns)
        downside_squares += float(np.dot(returns, returns))
        running = returns  # reused: the returns are summed
        np.maximum.accumulate(chunk, out=running)
        np.maximum(running, peak, out=running)
        peak = float(running[-1])
        np.divide(chunk, running, out=running)
        worst = min(worst, float(running.min()))
        previous = float(chunk[-1])
    return _ReturnSums(
        total=total, squares=squares, downside_squares=downside_squares, max_drawdown=1.0 - worst
    )


def _round_trip_counts(
    quantity: FloatArray, price: FloatArray, fee: FloatArray, position: FloatArray
) -> tuple[int, int]:
    """Closed round trips and those with a positive net PnL, in chunks of fills (overlapping by one)."""
    closed = wins = 0
    for start in range(0, max(len(position) - 1, 0), CHUNK):
        part = slice(start, min(start + CHUNK + 1, len(position)))
        pnl = round_trip_pnl(
            fill_quantity=quantity[part],
            fill_price=price[part],
            fill_fee=fee[part],
            fill_position=position[part],
        )
        closed += len(pnl)
        wins += int(np.count_nonzero(pnl > 0.0))
    return closed, wins


def compute_metrics(
    *,
    equity: FloatArray,
    position: FloatArray,
    fill_quantity: FloatArray,
    fill_price: FloatArray,
    fill_fee: FloatArray,
    fill_position: FloatArray,
    capital: float,
    bars_per_year: int = BARS_PER_YEAR,
) -> BacktestMetrics:
    """The metrics of an equity curve marked per bar and of its fills (see :class:`BacktestMetrics`)."""
    n = len(equity)
    nan = math.nan
    round_trips, wins = _round_trip_counts(fill_quantity, fill_price, fill_fee, fill_position)
    counts: dict[str, Any] = {
        "trades": len(fill_quantity),
        "round_trips": round_trips,
        "bars": n,
        "turnover": float(np.dot(fill_quantity, fill_price)) / capital,
        "hit_rate": wins / round_trips if round_trips else nan,
    }
    if n == 0:
        return BacktestMetrics(
            total_return=0.0,
            annual_return=0.0,
            sharpe=nan,
            sortino=nan,
            max_drawdown=0.0,
            calmar=nan,
            exposure=0.0,
            **counts,
        )
    sums = _return_sums(equity, capital)
    scale = math.sqrt(bars_per_year)
    mean = sums.total / n
    # Variance from the sum of squares: returns are small and their mean far smaller, so no cancellation.
    std = math.sqrt(max(sums.squares - n * mean * mean, 0.0) / (n - 1)) if n > 1 else 0.0
    downside = math.sqrt(sums.downside_squares / n)
    max_drawdown = sums.max_drawdown

    growth = float(equity[-1]) / capital
    with np.errstate(over="ignore"):  # a short history compounds to infinity: inf, not an error
        annual_return = float(np.float64(growth) ** (bars_per_year / n)) - 1.0 if growth > 0 else -1.0
    return BacktestMetrics(
        total_return=growth - 1.0,
        annual_return=annual_return,
        sharpe=mean / std * scale if std > 0 else nan,
        sortino=mean / downside * scale if downside > 0 else nan,
        max_drawdown=max_drawdown,
        calmar=annual_return / max_drawdown if max_drawdown > 0 else nan,
        exposure=float(np.count_nonzero(position)) / n,
        **counts,
    )
