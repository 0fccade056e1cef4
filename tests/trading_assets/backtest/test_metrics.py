"""Metrics on hand-made equity curves and fills, computed by hand here."""

from __future__ import annotations

import math
import statistics

import numpy as np
import pytest

from trading_assets.backtest.metrics import BacktestMetrics, compute_metrics, round_trip_pnl

NO_FILLS = {
    "fill_quantity": np.empty(0),
    "fill_price": np.empty(0),
    "fill_fee": np.empty(0),
    "fill_position": np.empty(0),
}


def test_returns_drawdown_sharpe_sortino_and_calmar_of_a_three_bar_curve() -> None:
    equity = np.array([110.0, 99.0, 121.0])
    returns = [0.1, -0.1, 121.0 / 99.0 - 1.0]

    metrics = compute_metrics(
        equity=equity, position=np.array([1.0, 0.0, 2.0]), capital=100.0, bars_per_year=3, **NO_FILLS
    )

    assert metrics.total_return == pytest.approx(0.21, rel=1e-12)
    assert metrics.annual_return == pytest.approx(0.21, rel=1e-12)  # one "year" of 3 bars
    assert metrics.max_drawdown == pytest.approx(0.1, rel=1e-12)  # 110 -> 99
    assert metrics.calmar == pytest.approx(2.1, rel=1e-12)
    mean = statistics.fmean(returns)
    assert metrics.sharpe == pytest.approx(mean / statistics.stdev(returns) * math.sqrt(3), rel=1e-12)
    assert metrics.sortino == pytest.approx(mean / math.sqrt(0.01 / 3) * math.sqrt(3), rel=1e-12)
    assert metrics.exposure == pytest.approx(2 / 3, rel=1e-12)
    assert metrics.bars == 3


def test_drawdown_counts_a_loss_from_the_starting_capital() -> None:
    metrics = compute_metrics(
        equity=np.array([90.0, 95.0, 80.0, 100.0]), position=np.ones(4), capital=100.0, **NO_FILLS
    )

    assert metrics.max_drawdown == pytest.approx(0.2, rel=1e-12)
    assert metrics.total_return == 0.0


def test_a_flat_curve_has_undefined_ratios_as_nan_not_zero() -> None:
    metrics = compute_metrics(equity=np.full(10, 100.0), position=np.zeros(10), capital=100.0, **NO_FILLS)

    assert metrics.total_return == 0.0
    assert metrics.max_drawdown == 0.0
    assert math.isnan(metrics.sharpe) and math.isnan(metrics.sortino) and math.isnan(metrics.calmar)
    assert math.isnan(metrics.hit_rate)
    assert metrics.trades == 0 and metrics.round_trips == 0 and metrics.exposure == 0.0


def test_round_trips_split_a_flips_fee_and_count_wins() -> None:
    # Long 10 @100, close @101; short 5 @102, flip to long 5 @103 (10 units); close @110.
    fills = {
        "fill_quantity": np.array([10.0, 10.0, 5.0, 10.0, 5.0]),
        "fill_price": np.array([100.0, 101.0, 102.0, 103.0, 110.0]),
        "fill_fee": np.array([1.0, 1.01, 0.51, 1.03, 0.55]),
        "fill_position": np.array([10.0, 0.0, -5.0, 5.0, 0.0]),
    }

    pnl = round_trip_pnl(**fills)
    metrics = compute_metrics(equity=np.full(5, 100.0), position=np.ones(5), capital=1_000.0, **fills)

    np.testing.assert_allclose(pnl, [10.0 - 1.0 - 1.01, -5.0 - 0.51 - 0.515, 35.0 - 0.515 - 0.55], rtol=1e-12)
    assert metrics.round_trips == 3
    assert metrics.hit_rate == pytest.approx(2 / 3, rel=1e-12)
    assert metrics.trades == 5
    assert metrics.turnover == pytest.approx((1000 + 1010 + 510 + 1030 + 550) / 1_000.0, rel=1e-12)


def test_an_open_position_at_the_end_is_not_a_round_trip() -> None:
    pnl = round_trip_pnl(
        fill_quantity=np.array([1.0]),
        fill_price=np.array([10.0]),
        fill_fee=np.array([0.0]),
        fill_position=np.array([1.0]),
    )

    assert pnl.size == 0


def test_ruin_gives_an_annual_return_of_minus_one_and_a_short_history_no_overflow() -> None:
    ruined = compute_metrics(equity=np.array([50.0, -10.0]), position=np.ones(2), capital=100.0, **NO_FILLS)
    doubled = compute_metrics(equity=np.array([150.0, 200.0]), position=np.ones(2), capital=100.0, **NO_FILLS)

    assert ruined.annual_return == -1.0
    assert doubled.annual_return == math.inf


def test_as_dict_gives_every_field_as_a_float() -> None:
    metrics = compute_metrics(equity=np.array([101.0]), position=np.ones(1), capital=100.0, **NO_FILLS)

    values = metrics.as_dict()

    assert set(values) == set(BacktestMetrics.__dataclass_fields__)
    assert all(type(value) is float for value in values.values())
    assert values["trades"] == 0.0


def test_no_bars_gives_zero_return_and_nan_ratios() -> None:
    metrics = compute_metrics(equity=np.empty(0), position=np.empty(0), capital=100.0, **NO_FILLS)

    assert metrics.bars == 0 and metrics.total_return == 0.0 and math.isnan(metrics.sharpe)
