"""The engine applies the shared fill rule: never at the decision bar, latency later, nothing after the end."""

from __future__ import annotations

import numpy as np
import pytest

from trading_assets.backtest.engine import run_backtest
from trading_assets.trading.costs import CostModel

MINUTE_US = 60_000_000
NO_COSTS = CostModel(fee_bps=0.0, half_spread_bps=0.0, slippage_bps=0.0)


def _flat_bars(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    minute_us = np.arange(n, dtype=np.int64) * MINUTE_US
    open_ = 100.0 + np.arange(n, dtype=np.float64)  # distinct opens show which bar filled
    return minute_us, open_, open_ + 0.5


def test_a_signal_fills_at_the_next_bars_open_never_its_own_bar() -> None:
    minute_us, open_, close = _flat_bars(5)
    signal = np.array([0, 1, 1, 1, 1], dtype=np.int8)

    result = run_backtest(minute_us, open_, close, signal, costs=NO_COSTS, capital=1_000.0)

    assert result.fills.bar_index.tolist() == [2]
    assert result.fills.reference_price.tolist() == [102.0]
    assert result.position[1] == 0.0 and result.position[2] == pytest.approx(1_000.0 / 102.0)


def test_latency_pushes_the_fill_to_a_later_bar() -> None:
    minute_us, open_, close = _flat_bars(6)
    signal = np.array([0, 1, 1, 1, 1, 1], dtype=np.int8)

    result = run_backtest(
        minute_us, open_, close, signal, costs=CostModel(latency_us=61_000_000), capital=1_000.0
    )

    assert result.fills.bar_index.tolist() == [4]  # decided at 2 min, order at 3:01, first open after: 4


def test_the_last_bars_signal_does_not_fill() -> None:
    minute_us, open_, close = _flat_bars(4)
    signal = np.array([0, 0, 0, 1], dtype=np.int8)

    result = run_backtest(minute_us, open_, close, signal, costs=NO_COSTS, capital=1_000.0)

    assert len(result.fills) == 0
    assert result.equity.tolist() == [1_000.0] * 4


def test_long_only_reads_a_short_signal_as_flat() -> None:
    minute_us, open_, close = _flat_bars(4)
    signal = np.array([1, -1, -1, 0], dtype=np.int8)

    result = run_backtest(minute_us, open_, close, signal, costs=NO_COSTS, capital=1_000.0)

    assert result.fills.side.tolist() == [1, -1]
    assert result.fills.position.tolist() == [pytest.approx(1_000.0 / 101.0), 0.0]


def test_a_flip_is_one_fill_of_both_positions() -> None:
    minute_us, open_, close = _flat_bars(4)
    signal = np.array([1, -1, -1, 0], dtype=np.int8)

    result = run_backtest(minute_us, open_, close, signal, costs=NO_COSTS, capital=1_000.0, allow_short=True)

    assert result.fills.bar_index.tolist() == [1, 2]
    assert result.fills.side.tolist() == [1, -1]
    assert result.fills.quantity[1] == pytest.approx(1_000.0 / 101.0 + 1_000.0 / 102.0)


@pytest.mark.parametrize(
    "minute_us, signal, error",
    [
        (np.array([0, 0, MINUTE_US]), np.array([0, 1, 0], dtype=np.int8), "ascending"),
        (np.array([0, MINUTE_US, 2 * MINUTE_US]), np.array([0, 2, 0], dtype=np.int8), "signal"),
        (np.array([0, MINUTE_US, 2 * MINUTE_US]), np.array([0.0, 1.0, 0.0]), "integer"),
        (np.array([0, MINUTE_US]), np.array([0, 1, 0], dtype=np.int8), "1-D"),
    ],
)
def test_invalid_inputs_are_refused(minute_us: np.ndarray, signal: np.ndarray, error: str) -> None:
    with pytest.raises((ValueError, TypeError), match=error):
        run_backtest(
            minute_us, np.ones(len(minute_us)), np.ones(len(minute_us)), signal, costs=NO_COSTS, capital=1.0
        )


def test_no_bars_gives_an_empty_result() -> None:
    empty = np.empty(0)
    result = run_backtest(
        empty.astype(np.int64), empty, empty, empty.astype(np.int8), costs=NO_COSTS, capital=1.0
    )

    assert len(result.equity) == 0 and len(result.fills) == 0 and result.metrics.trades == 0
