"""The fill rule (decision at the bar's close, fill at the first later price after the latency) and sizing."""

from __future__ import annotations

import numpy as np
import pytest

from trading_assets.core.time import US_PER_MINUTE, US_PER_SECOND
from trading_assets.trading.fills import (
    bar_fill_index,
    bars_filling_later,
    decision_time_us,
    fill_index,
    fills_on_trade,
    target_quantity,
)

M = US_PER_MINUTE


def test_decision_is_known_at_the_bar_close() -> None:
    assert decision_time_us(10 * M) == 11 * M


def test_without_latency_a_decision_fills_at_the_next_bar_never_its_own() -> None:
    minute_us = np.arange(5, dtype=np.int64) * M

    index = bar_fill_index(minute_us, 0)

    assert index.tolist() == [1, 2, 3, 4, 5]  # 5 = len: the last bar's decision does not fill
    assert np.all(index > np.arange(5))


def test_latency_pushes_the_fill_to_a_later_bar() -> None:
    minute_us = np.arange(6, dtype=np.int64) * M

    assert bar_fill_index(minute_us, 1).tolist() == [2, 3, 4, 5, 6, 6]  # 1 µs past the next bar's start
    assert bar_fill_index(minute_us, M).tolist() == [2, 3, 4, 5, 6, 6]  # exactly one bar later
    assert bar_fill_index(minute_us, M + 1).tolist() == [3, 4, 5, 6, 6, 6]


def test_a_gap_in_the_minutes_moves_the_fill_to_the_next_bar_that_exists() -> None:
    minute_us = np.array([0, 1, 7, 8], dtype=np.int64) * M

    assert bar_fill_index(minute_us, 0).tolist() == [1, 2, 3, 4]
    # Decisions at 2 min + 3 min latency = 5 min: minute 5 has no bar, so minute 7's open.
    assert bar_fill_index(minute_us, 3 * M).tolist() == [2, 2, 4, 4]


def test_bar_fill_index_agrees_with_fill_index_on_random_bars_and_latencies() -> None:
    rng = np.random.default_rng(11)
    minute_us = np.cumsum(rng.integers(1, 5, 3_000)).astype(np.int64) * M
    for latency_us in (0, 1, 30 * US_PER_SECOND, M, 150 * US_PER_SECOND, 10 * M):
        expected = fill_index(minute_us, decision_time_us(minute_us), latency_us)

        assert np.array_equal(bar_fill_index(minute_us, latency_us), expected)
        late = bars_filling_later(minute_us, latency_us)
        assert np.array_equal(late, np.flatnonzero(expected != np.arange(1, 3_001)))


def test_fill_index_on_trade_times_picks_the_first_trade_at_or_after_decision_plus_latency() -> None:
    trade_time_us = np.array([100, 150, 150, 200, 260], dtype=np.int64)

    assert fill_index(trade_time_us, 120, 30) == 1  # 150 is at 120 + 30
    assert fill_index(trade_time_us, 120, 31) == 3
    assert fill_index(trade_time_us, 300, 0) == 5  # none: does not fill
    assert fill_index(trade_time_us, np.array([90, 199]), 1).tolist() == [0, 3]


def test_fills_on_trade_is_at_or_after_decision_plus_latency() -> None:
    assert fills_on_trade(150, 120, 30)
    assert not fills_on_trade(149, 120, 30)


def test_negative_latency_is_refused() -> None:
    with pytest.raises(ValueError, match="latency"):
        fill_index(np.arange(3, dtype=np.int64), 1, -1)


def test_target_quantity_is_signal_times_capital_over_the_reference_price() -> None:
    assert target_quantity(1, 10_000.0, 250.0) == 40.0
    assert target_quantity(-1, 10_000.0, 250.0) == -40.0
    assert target_quantity(0, 10_000.0, 250.0) == 0.0
    assert target_quantity(np.array([1, -1]), 100.0, np.array([4.0, 5.0])).tolist() == [25.0, -20.0]
