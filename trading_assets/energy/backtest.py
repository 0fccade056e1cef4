"""The spread strategy's backtest: per delivery hour, buy (or sell) day-ahead, close it intraday.

A position of ``+size`` MW in an hour buys ``size`` MWh in the day-ahead auction and sells it back in the
intraday market at the hour's VWAP; ``-size`` does the reverse. So an hour earns
``position × (intraday VWAP − day-ahead price) − fee × |position|``. The position is the sign of the
predicted spread, or flat when its size does not exceed the threshold (the fee by default).

Scored with the project's metrics (:func:`trading_assets.backtest.metrics.compute_metrics`) on hourly
bars (8,760 a year): each traded hour is two fills, the day-ahead one opening the position and the
intraday one closing it, each charged half the fee, so a round trip's PnL is exactly the hour's PnL and
the hit rate is the share of traded hours that made money after fees. The result is a
:class:`~trading_assets.backtest.engine.BacktestResult`, so the project's equity-curve plot draws it.
"""

from __future__ import annotations

import numpy as np

from trading_assets.backtest.engine import BacktestResult, Fills
from trading_assets.backtest.metrics import compute_metrics
from trading_assets.trading.costs import CostModel

HOURS_PER_YEAR = 8_760
"""Hourly bars, every hour of a 365-day year."""
BASELINES = ("flat", "always_long")
"""The strategies a model must beat: never trade; always long the spread (buy day-ahead, sell intraday)."""
NO_BPS_COSTS = CostModel(fee_bps=0.0, half_spread_bps=0.0, slippage_bps=0.0)
"""The costs in bps a BacktestResult records: none, the fee per MWh is charged on the fills."""


def positions(predicted_spread: np.ndarray, *, threshold: float, size_mw: float) -> np.ndarray:
    """``size_mw`` times the sign of the prediction, 0 where ``|prediction| <= threshold`` or unknown."""
    predicted = np.asarray(predicted_spread, dtype=np.float64)
    sign = np.where(np.abs(predicted) > threshold, np.sign(predicted), 0.0)
    return np.where(np.isnan(predicted), 0.0, sign) * size_mw


def hourly_pnl(
    position: np.ndarray, *, da_price: np.ndarray, vwap: np.ndarray, fee_per_mwh: float
) -> np.ndarray:
    """Each hour's PnL: ``position × (vwap − da_price) − fee × |position|`` (0 without a position)."""
    held = np.asarray(position, dtype=np.float64)
    spread = np.where(held != 0.0, np.asarray(vwap) - np.asarray(da_price), 0.0)
    return held * spread - fee_per_mwh * np.abs(held)


def spread_backtest(
    delivery_us: np.ndarray,
    position: np.ndarray,
    *,
    da_price: np.ndarray,
    vwap: np.ndarray,
    fee_per_mwh: float,
    capital: float,
) -> BacktestResult:
    """The strategy's hours as a backtest: equity ``capital + cumulative PnL`` and its metrics.

    Hours with a position need both prices (ValueError otherwise: drop such hours before, they cannot
    be traded or settled).
    """
    held = np.asarray(position, dtype=np.float64)
    da = np.asarray(da_price, dtype=np.float64)
    intraday = np.asarray(vwap, dtype=np.float64)
    traded = np.flatnonzero(held != 0.0)
    if np.isnan(da[traded]).any() or np.isnan(intraday[traded]).any():
        raise ValueError("an hour with a position lacks its day-ahead price or intraday VWAP")
    pnl = hourly_pnl(held, da_price=da, vwap=intraday, fee_per_mwh=fee_per_mwh)
    equity = capital + np.cumsum(pnl)
    size = np.abs(held[traded])
    # Two fills per traded hour, in time order: open at the day-ahead price, close at the intraday VWAP.
    order = np.repeat(traded, 2)
    opening = np.tile([True, False], traded.size)
    fill_price = np.where(opening, da[order], intraday[order])
    fill_quantity = np.repeat(size, 2)
    fill_position = np.where(opening, held[order], 0.0)
    fills = Fills(
        time_us=np.asarray(delivery_us, dtype=np.int64)[order],
        bar_index=order.astype(np.intp),
        side=np.where(opening, np.sign(held[order]), -np.sign(held[order])).astype(np.int8),
        quantity=fill_quantity,
        reference_price=fill_price,
        price=fill_price,
        fee=fill_quantity * fee_per_mwh / 2.0,
        position=fill_position,
    )
    metrics = compute_metrics(
        equity=equity,
        position=held,
        fill_quantity=fills.quantity,
        fill_price=fills.price,
        fill_fee=fills.fee,
        fill_position=fills.position,
        capital=capital,
        bars_per_year=HOURS_PER_YEAR,
    )
    return BacktestResult(
        minute_us=np.asarray(delivery_us, dtype=np.int64),
        position=held,
        cash=equity,
        equity=equity,
        fills=fills,
        metrics=metrics,
        capital=float(capital),
        costs=NO_BPS_COSTS,
    )


def baseline_positions(name: str, hours: int, *, size_mw: float) -> np.ndarray:
    """The positions of the baseline ``name`` (one of :data:`BASELINES`) over ``hours`` hours."""
    if name == "flat":
        return np.zeros(hours)
    if name == "always_long":
        return np.full(hours, size_mw)
    raise ValueError(f"unknown energy baseline {name!r}; expected one of {BASELINES}")


def summary(result: BacktestResult) -> dict[str, float]:
    """The metrics of ``result`` plus its PnL in EUR and the hours it held a position."""
    return {
        **result.metrics.as_dict(),
        "pnl_eur": float(result.equity[-1] - result.capital) if len(result.equity) else 0.0,
        "traded_hours": float(np.count_nonzero(result.position)),
    }
