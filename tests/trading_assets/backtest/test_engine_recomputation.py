"""The engine against the independent loop of reference.py: every bar's position, cash and equity, and
every fill's bar, time, side, quantity, price and fee agree to 1e-9 relative."""

from __future__ import annotations

import numpy as np
import pytest

from tests.trading_assets.backtest.reference import MINUTE_US, reference_backtest
from trading_assets.backtest import engine, metrics
from trading_assets.backtest.engine import run_backtest
from trading_assets.trading.costs import CostModel

REL = 1e-9


def _bars(seed: int, n: int, gap_share: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Random walk bars with some minutes missing (gaps of 1 to 5 minutes)."""
    rng = np.random.default_rng(seed)
    steps = np.where(rng.random(n) < gap_share, rng.integers(2, 7, n), 1)
    minute_us = (28_000_000 + np.cumsum(steps)).astype(np.int64) * MINUTE_US
    open_ = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.002, n)))
    close = open_ * np.exp(rng.normal(0.0, 0.002, n))
    return minute_us, open_, close


def _assert_same(result: engine.BacktestResult, expected, capital: float) -> None:
    np.testing.assert_allclose(result.position, expected.position, rtol=REL, atol=0.0)
    np.testing.assert_allclose(result.cash, expected.cash, rtol=REL, atol=0.0)
    np.testing.assert_allclose(result.equity, expected.equity, rtol=REL, atol=0.0)
    fills = result.fills
    assert len(fills) == len(expected.fills)
    if expected.fills:
        bar, time_us, side, quantity, price, fee = map(np.array, zip(*expected.fills, strict=True))
        assert fills.bar_index.tolist() == bar.tolist()
        assert fills.time_us.tolist() == time_us.tolist()
        assert fills.side.tolist() == side.tolist()
        np.testing.assert_allclose(fills.quantity, quantity, rtol=REL, atol=0.0)
        np.testing.assert_allclose(fills.price, price, rtol=REL, atol=0.0)
        np.testing.assert_allclose(fills.fee, fee, rtol=REL, atol=0.0)


CASES = [
    # (seed, bars, gap share, latency µs, allow_short, fee, half spread, slippage)
    (1, 400, 0.0, 0, True, 10.0, 1.0, 1.0),
    (2, 400, 0.2, 0, True, 10.0, 1.0, 1.0),
    (3, 400, 0.2, 1, True, 5.0, 2.0, 0.5),  # 1 µs: every fill one bar later than without latency
    (4, 400, 0.3, 45 * 1_000_000, True, 10.0, 1.0, 1.0),  # within a minute: only gaps absorb it
    (5, 400, 0.3, 150 * 1_000_000, True, 10.0, 1.0, 1.0),  # over two bars: decisions net on a bar
    (6, 400, 0.1, 7 * MINUTE_US, True, 10.0, 0.0, 3.0),
    (7, 400, 0.2, 0, False, 10.0, 1.0, 1.0),  # long only: -1 means flat
    (8, 400, 0.2, 90 * 1_000_000, False, 0.0, 0.0, 0.0),  # no costs at all
]


@pytest.mark.parametrize("seed, n, gap_share, latency_us, allow_short, fee, half_spread, slippage", CASES)
@pytest.mark.parametrize("persistence", [1, 7])
def test_engine_matches_the_independent_loop_on_random_signals(
    seed: int,
    n: int,
    gap_share: float,
    latency_us: int,
    allow_short: bool,
    fee: float,
    half_spread: float,
    slippage: float,
    persistence: int,
) -> None:
    # Arrange: signals held for `persistence` bars (1: a new random signal every bar, many flips).
    minute_us, open_, close = _bars(seed, n, gap_share)
    rng = np.random.default_rng(seed + 100)
    signal = np.repeat(rng.integers(-1, 2, n // persistence + 1), persistence)[:n].astype(np.int8)
    signal[-1] = -signal[-2] if signal[-2] else 1  # the last bar asks for a change: it must not fill
    costs = CostModel(fee_bps=fee, half_spread_bps=half_spread, slippage_bps=slippage, latency_us=latency_us)
    capital = 25_000.0

    # Act
    result = run_backtest(
        minute_us, open_, close, signal, costs=costs, capital=capital, allow_short=allow_short
    )
    expected = reference_backtest(
        minute_us.tolist(),
        open_.tolist(),
        close.tolist(),
        signal.tolist(),
        fee_bps=fee,
        half_spread_bps=half_spread,
        slippage_bps=slippage,
        latency_us=latency_us,
        capital=capital,
        allow_short=allow_short,
    )

    # Assert
    assert len(expected.fills) > 10  # the scenario trades
    _assert_same(result, expected, capital)
    if allow_short:
        assert (result.position < 0).any() and (result.position > 0).any()
        # Some fill goes from long to short (or back) in one fill.
        before = np.concatenate(([0.0], result.fills.position[:-1]))
        assert (before * result.fills.position < 0).any()
    else:
        assert (result.position >= 0).all()
    assert result.metrics.trades == len(expected.fills)


def test_chunked_per_bar_pass_matches_the_loop_across_chunk_boundaries(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Chunks of 7 bars (and 5 fills) instead of 1M: every boundary case is crossed many times.
    monkeypatch.setattr(engine, "CHUNK", 7)
    monkeypatch.setattr(metrics, "CHUNK", 5)
    minute_us, open_, close = _bars(21, 300, 0.1)
    signal = np.random.default_rng(22).integers(-1, 2, 300).astype(np.int8)
    costs = CostModel(latency_us=30_000_000)

    result = run_backtest(minute_us, open_, close, signal, costs=costs, capital=1_000.0, allow_short=True)
    expected = reference_backtest(
        minute_us.tolist(),
        open_.tolist(),
        close.tolist(),
        signal.tolist(),
        fee_bps=costs.fee_bps,
        half_spread_bps=costs.half_spread_bps,
        slippage_bps=costs.slippage_bps,
        latency_us=costs.latency_us,
        capital=1_000.0,
        allow_short=True,
    )

    _assert_same(result, expected, 1_000.0)
    monkeypatch.setattr(metrics, "CHUNK", 1 << 20)
    unchunked = metrics.compute_metrics(
        equity=result.equity,
        position=result.position,
        fill_quantity=result.fills.quantity,
        fill_price=result.fills.price,
        fill_fee=result.fills.fee,
        fill_position=result.fills.position,
        capital=1_000.0,
    )
    for name, value in unchunked.as_dict().items():
        assert result.metrics.as_dict()[name] == pytest.approx(value, rel=1e-9, nan_ok=True), name


def test_hand_computed_long_then_short_then_flat() -> None:
    # Four bars a minute apart; signals +1, -1, 0, +1 (the last cannot fill). Fee 10 bps, 2 bps adverse.
    minute_us = np.arange(4, dtype=np.int64) * MINUTE_US
    open_ = np.array([100.0, 100.0, 125.0, 80.0])
    close = np.array([100.0, 110.0, 120.0, 90.0])
    signal = np.array([1, -1, 0, 1], dtype=np.int8)
    costs = CostModel(fee_bps=10.0, half_spread_bps=1.0, slippage_bps=1.0)

    result = run_backtest(minute_us, open_, close, signal, costs=costs, capital=1_000.0, allow_short=True)

    # Bar 1: buy 10 at 100.02, fee 1.0002. Bar 2: sell 10 + 8 at 124.975, fee 2.24955.
    # Bar 3: buy back 8 at 80.016, fee 0.640128.
    assert result.fills.bar_index.tolist() == [1, 2, 3]
    assert result.fills.side.tolist() == [1, -1, 1]
    np.testing.assert_allclose(result.fills.quantity, [10.0, 18.0, 8.0], rtol=1e-12)
    np.testing.assert_allclose(result.fills.price, [100.02, 124.975, 80.016], rtol=1e-12)
    np.testing.assert_allclose(result.fills.fee, [1.0002, 2.24955, 0.640128], rtol=1e-12)
    np.testing.assert_allclose(result.position, [0.0, 10.0, -8.0, 0.0], rtol=1e-12)
    cash = [1_000.0, 1_000.0 - 1000.2 - 1.0002]
    cash.append(cash[-1] + 18 * 124.975 - 2.24955)
    cash.append(cash[-1] - 8 * 80.016 - 0.640128)
    np.testing.assert_allclose(result.cash, cash, rtol=1e-12)
    np.testing.assert_allclose(
        result.equity, [1_000.0, cash[1] + 1100.0, cash[2] - 960.0, cash[3]], rtol=1e-12
    )
