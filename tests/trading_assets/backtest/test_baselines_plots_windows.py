"""Baselines, the equity-curve PNG, and backtests over several out-of-sample windows."""

from __future__ import annotations

import numpy as np
import pytest

from trading_assets.backtest.baselines import BASELINES, baseline_signal
from trading_assets.backtest.engine import run_backtest
from trading_assets.backtest.plots import equity_curve_png
from trading_assets.backtest.walk_forward import backtest_windows
from trading_assets.trading.costs import CostModel

MINUTE_US = 60_000_000
COSTS = CostModel()


def _bars(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    minute_us = (28_000_000 + np.arange(n, dtype=np.int64)) * MINUTE_US
    open_ = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.001, n)))
    return minute_us, open_, open_ * np.exp(rng.normal(0.0, 0.001, n))


def test_flat_never_trades_and_keeps_the_capital() -> None:
    minute_us, open_, close = _bars(50)

    result = run_backtest(minute_us, open_, close, baseline_signal("flat", 50), costs=COSTS, capital=1_000.0)

    assert len(result.fills) == 0
    assert (result.equity == 1_000.0).all()


def test_buy_and_hold_buys_once_at_the_second_bar_and_holds() -> None:
    minute_us, open_, close = _bars(50)

    result = run_backtest(
        minute_us, open_, close, baseline_signal("buy_and_hold", 50), costs=COSTS, capital=1_000.0
    )

    assert result.fills.bar_index.tolist() == [1]
    np.testing.assert_allclose(result.position[1:], 1_000.0 / open_[1], rtol=1e-12)


def test_unknown_baseline_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown baseline"):
        baseline_signal("random", 3)


def test_equity_curve_png_draws_the_strategy_beside_the_baselines() -> None:
    minute_us, open_, close = _bars(3_000)
    signal = np.random.default_rng(1).integers(-1, 2, 3_000).astype(np.int8)
    result = run_backtest(minute_us, open_, close, signal, costs=COSTS, capital=1_000.0, allow_short=True)
    baselines = {
        name: run_backtest(
            minute_us, open_, close, baseline_signal(name, 3_000), costs=COSTS, capital=1_000.0
        )
        for name in BASELINES
    }

    png = equity_curve_png(result, baselines=baselines, title="BTCUSDT backtest")

    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(png) > 10_000  # lines and text drawn, not an empty canvas


def test_equity_curve_png_refuses_a_baseline_over_other_bars() -> None:
    minute_us, open_, close = _bars(20)
    result = run_backtest(minute_us, open_, close, baseline_signal("flat", 20), costs=COSTS, capital=1.0)
    other = run_backtest(
        minute_us[:10], open_[:10], close[:10], baseline_signal("flat", 10), costs=COSTS, capital=1.0
    )

    with pytest.raises(ValueError, match="baseline"):
        equity_curve_png(result, baselines={"flat": other}, title="x")


def test_equity_curve_png_of_no_bars() -> None:
    empty = np.empty(0)
    result = run_backtest(
        empty.astype(np.int64), empty, empty, empty.astype(np.int8), costs=COSTS, capital=1.0
    )

    assert equity_curve_png(result, title="empty").startswith(b"\x89PNG")


@pytest.mark.parametrize("latency_us", [0, 150_000_000])
def test_windows_each_start_and_end_flat_and_chain_their_pnl(latency_us: int) -> None:
    # Arrange
    minute_us, open_, close = _bars(400, seed=5)
    signal = np.ones(400, dtype=np.int8)  # always long: only the windows' ends make it flat
    windows = [(0, 100), (150, 260), (300, 400)]
    costs = CostModel(latency_us=latency_us)

    # Act
    chained = backtest_windows(minute_us, open_, close, signal, windows, costs=costs, capital=1_000.0)

    # Assert: each window alone (with its forced exit) gives the same fills and PnL.
    pnl_before = 0.0
    offset = 0
    for start, stop in windows:
        size = stop - start
        alone = run_backtest(
            minute_us[start:stop],
            open_[start:stop],
            close[start:stop],
            chained_signal(signal, start, stop, costs),
            costs=costs,
            capital=1_000.0,
        )
        assert alone.position[0] == 0.0 and alone.position[-1] == 0.0
        np.testing.assert_allclose(
            chained.equity[offset : offset + size], alone.equity + pnl_before, rtol=1e-12
        )
        pnl_before += alone.equity[-1] - 1_000.0
        offset += size
    assert len(chained.equity) == 310
    assert chained.fills.bar_index[0] == (4 if latency_us else 1)  # 0:00 + 1 min + 2.5 min -> minute 4
    assert set(chained.fills.bar_index.tolist()) <= set(range(0, 100)) | set(range(150, 260)) | set(
        range(300, 400)
    )
    assert chained.metrics.trades == 6  # one entry and one exit per window
    assert chained.metrics.round_trips == 3


def chained_signal(signal: np.ndarray, start: int, stop: int, costs: CostModel) -> np.ndarray:
    """The window's signal with its last fillable decision made flat, written out for the test."""
    window = signal[start:stop].copy()
    last_fillable = (
        stop - start - 2 - costs.latency_us // MINUTE_US - (1 if costs.latency_us % MINUTE_US else 0)
    )
    window[last_fillable] = 0
    return window


def test_windows_must_be_ascending_and_disjoint() -> None:
    minute_us, open_, close = _bars(10)
    with pytest.raises(ValueError, match="windows"):
        backtest_windows(
            minute_us, open_, close, np.ones(10, dtype=np.int8), [(5, 8), (4, 6)], costs=COSTS, capital=1.0
        )
    with pytest.raises(ValueError, match="at least one"):
        backtest_windows(minute_us, open_, close, np.ones(10, dtype=np.int8), [], costs=COSTS, capital=1.0)
