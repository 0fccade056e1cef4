"""Backtest a signal over several out-of-sample windows and chain the results into one.

The lead's walk-forward assembles the windows from the models' purged splits; this module only runs
the backtest on each window and concatenates. Each window starts flat with the full capital and ends
flat: the signal of the latest decision that still fills inside it (the second-to-last bar's without
latency) is forced to 0, so the position is closed at the window's last fill and pays its exit costs
there (later decisions cannot fill inside the window). The
chained equity adds each window's PnL to the PnL of the windows before it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from trading_assets.backtest.engine import BacktestResult, Fills, run_backtest
from trading_assets.backtest.metrics import compute_metrics
from trading_assets.trading.costs import CostModel
from trading_assets.trading.fills import bar_fill_index


def backtest_windows(
    minute_us: npt.NDArray[np.int64],
    open_: npt.NDArray[np.float64],
    close: npt.NDArray[np.float64],
    signal: npt.NDArray[np.integer],
    windows: Sequence[tuple[int, int]],
    *,
    costs: CostModel,
    capital: float,
    allow_short: bool = False,
) -> BacktestResult:
    """One result over ``windows`` (``(start, stop)`` row ranges of the arrays, ascending, disjoint).

    Per-bar arrays cover only the windows' bars, in order; fills keep ``bar_index`` into the full
    arrays. Metrics are computed over the chained equity and all fills.
    """
    previous_stop = 0
    parts: list[BacktestResult] = []
    offsets: list[int] = []
    for start, stop in windows:
        if not (previous_stop <= start < stop <= len(minute_us)):
            raise ValueError(f"windows must be ascending, disjoint, non-empty and inside the bars: {windows}")
        previous_stop = stop
        window_signal = np.array(signal[start:stop])
        # The latest decision that still fills inside the window is "flat": the window ends flat.
        fillable = np.flatnonzero(bar_fill_index(minute_us[start:stop], costs.latency_us) < stop - start)
        if fillable.size:
            window_signal[fillable[-1]] = 0
        parts.append(
            run_backtest(
                minute_us[start:stop],
                open_[start:stop],
                close[start:stop],
                window_signal,
                costs=costs,
                capital=capital,
                allow_short=allow_short,
            )
        )
        offsets.append(start)
    if not parts:
        raise ValueError("backtest_windows needs at least one window")

    pnl_before = np.cumsum([0.0] + [part.equity[-1] - capital for part in parts[:-1]])
    equity = np.concatenate([part.equity + before for part, before in zip(parts, pnl_before, strict=True)])
    cash = np.concatenate([part.cash + before for part, before in zip(parts, pnl_before, strict=True)])
    position = np.concatenate([part.position for part in parts])

    def joined(name: str) -> np.ndarray:
        return np.concatenate([getattr(part.fills, name) for part in parts])

    fills = Fills(
        time_us=joined("time_us"),
        bar_index=np.concatenate(
            [part.fills.bar_index + offset for part, offset in zip(parts, offsets, strict=True)]
        ),
        side=joined("side"),
        quantity=joined("quantity"),
        reference_price=joined("reference_price"),
        price=joined("price"),
        fee=joined("fee"),
        position=joined("position"),
    )
    metrics = compute_metrics(
        equity=equity,
        position=position,
        fill_quantity=fills.quantity,
        fill_price=fills.price,
        fill_fee=fills.fee,
        fill_position=fills.position,
        capital=capital,
    )
    return BacktestResult(
        minute_us=np.concatenate([part.minute_us for part in parts]),
        position=position,
        cash=cash,
        equity=equity,
        fills=fills,
        metrics=metrics,
        capital=float(capital),
        costs=costs,
    )
