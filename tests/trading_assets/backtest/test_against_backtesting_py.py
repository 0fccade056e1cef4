"""The engine against an independent backtesting library, backtesting.py 0.6.6, on the same signals.

backtesting.py fills market orders at the next bar's open (``trade_on_close=False``, its default),
charges ``commission`` as a fraction of each order's value at entry and at exit, and marks equity at
each bar's close, like our engine without latency. Mapping:

- our quantity rule (``signal × capital / open`` at the fill) is given to it as whole units: the opens
  are ``capital / q`` for integer ``q``, so our quantity is ``q`` to the last bit or so;
- our fee is its ``commission``;
- our spread and slippage are its ``spread``, which it charges only on the order that opens a trade
  (a closing order fills at the raw open, "the adjustment was already made when buying"): we charge
  both sides. The test with spread computes that known difference from its own trade list.

Its cash is made large so that its margin check never cancels an order; our capital is the notional.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from backtesting import Backtest, Strategy

from trading_assets.backtest.engine import run_backtest
from trading_assets.trading.costs import CostModel

CAPITAL = 1_000_000.0
BROKER_CASH = 1_000_000_000.0  # far above any order: backtesting.py cancels orders it cannot margin
MINUTE_US = 60_000_000


def _market(seed: int, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    units = np.round(10_000 * np.exp(np.cumsum(rng.normal(0.0, 0.01, n)))).astype(np.int64)
    open_ = CAPITAL / units
    close = open_ * np.exp(rng.normal(0.0, 0.005, n))
    steps = np.where(rng.random(n) < 0.1, 3, 1)  # some minutes missing: both fill at the next bar
    minute_us = (28_000_000 + np.cumsum(steps)).astype(np.int64) * MINUTE_US
    return minute_us, open_, close, units


def _signals(seed: int, n: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    signal = np.repeat(rng.integers(-1, 2, n // 5 + 1), 5)[:n].astype(np.int8)
    signal[0] = 0  # backtesting.py calls next() from the second bar on
    signal[-4:] = 0  # everything closed before the end, so its trade list holds every fill
    return signal


def _run_backtesting_py(
    minute_us: np.ndarray,
    open_: np.ndarray,
    close: np.ndarray,
    units: np.ndarray,
    signal: np.ndarray,
    *,
    commission: float,
    spread: float,
):
    frame = pd.DataFrame(
        {
            "Open": open_,
            "High": np.maximum(open_, close),
            "Low": np.minimum(open_, close),
            "Close": close,
            "Volume": np.ones(len(open_)),
        },
        index=pd.to_datetime(minute_us, unit="us"),
    )

    class Replay(Strategy):
        def init(self) -> None:
            self.target = 0

        def next(self) -> None:
            bar = len(self.data) - 1
            wanted = int(signal[bar])
            if wanted == self.target or bar + 1 >= len(units):
                return
            # The sizing rule at the fill: signal × capital / next open, in whole units by construction.
            delta = wanted * int(units[bar + 1]) - self.position.size
            if delta > 0:
                self.buy(size=delta)
            else:
                self.sell(size=-delta)
            self.target = wanted

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        test = Backtest(frame, Replay, cash=BROKER_CASH, commission=commission, spread=spread, margin=1.0)
        return test.run()


def _fills_by_bar(trades: pd.DataFrame) -> dict[int, float]:
    """Signed units traded per bar, from backtesting.py's closed trades (entries and exits)."""
    traded: dict[int, float] = {}
    for trade in trades.itertuples():
        traded[trade.EntryBar] = traded.get(trade.EntryBar, 0.0) + trade.Size
        traded[trade.ExitBar] = traded.get(trade.ExitBar, 0.0) - trade.Size
    return {bar: units for bar, units in sorted(traded.items()) if units != 0}


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_fees_only_equity_fills_and_prices_match_backtesting_py(seed: int) -> None:
    # Arrange
    n = 600
    minute_us, open_, close, units = _market(seed, n)
    signal = _signals(seed + 10, n)
    costs = CostModel(fee_bps=10.0, half_spread_bps=0.0, slippage_bps=0.0)

    # Act
    ours = run_backtest(minute_us, open_, close, signal, costs=costs, capital=CAPITAL, allow_short=True)
    theirs = _run_backtesting_py(minute_us, open_, close, units, signal, commission=0.001, spread=0.0)

    # Assert: the equity curve bar by bar, the final equity, the fills (bar, signed units) and prices.
    their_equity = theirs._equity_curve["Equity"].to_numpy() - (BROKER_CASH - CAPITAL)
    np.testing.assert_allclose(ours.equity, their_equity, rtol=1e-9)
    assert ours.equity[-1] == pytest.approx(theirs["Equity Final [$]"] - (BROKER_CASH - CAPITAL), rel=1e-9)
    their_fills = _fills_by_bar(theirs._trades)
    assert ours.fills.bar_index.tolist() == list(their_fills)
    np.testing.assert_allclose(ours.fills.side * ours.fills.quantity, list(their_fills.values()), rtol=1e-9)
    trades = theirs._trades
    np.testing.assert_allclose(
        trades.EntryPrice,
        ours.fills.price[np.searchsorted(ours.fills.bar_index, trades.EntryBar)],
        rtol=1e-12,
    )
    np.testing.assert_allclose(trades.Commission.sum(), ours.fills.fee.sum(), rtol=1e-9)
    assert len(ours.fills) > 20


@pytest.mark.parametrize("seed", [4, 5])
def test_with_spread_entries_match_and_the_difference_is_its_one_sided_spread(seed: int) -> None:
    # Arrange: 10 bps fee, 3 bps adverse (spread + slippage).
    n = 600
    minute_us, open_, close, units = _market(seed, n)
    signal = _signals(seed + 10, n)
    costs = CostModel(fee_bps=10.0, half_spread_bps=2.0, slippage_bps=1.0)
    adverse, fee = 0.0003, 0.001

    # Act
    ours = run_backtest(minute_us, open_, close, signal, costs=costs, capital=CAPITAL, allow_short=True)
    theirs = _run_backtesting_py(minute_us, open_, close, units, signal, commission=fee, spread=adverse)

    # Assert: trades open at the same adverse price as ours.
    trades = theirs._trades
    at_entry = np.searchsorted(ours.fills.bar_index, trades.EntryBar)
    np.testing.assert_allclose(trades.EntryPrice, ours.fills.price[at_entry], rtol=1e-12)
    # Their exits fill at the raw open; ours pay the adverse spread there too, and the fee on the
    # lower (sell) or higher (buy) price: per exit |size| × exit price × adverse × (1 - sign × fee).
    exit_cost = np.abs(trades.Size) * trades.ExitPrice * adverse * (1.0 - np.sign(trades.Size) * fee)
    extra = np.zeros(n)
    np.add.at(extra, trades.ExitBar.to_numpy(), exit_cost.to_numpy())
    their_equity = theirs._equity_curve["Equity"].to_numpy() - (BROKER_CASH - CAPITAL)
    np.testing.assert_allclose(ours.equity, their_equity - np.cumsum(extra), rtol=1e-9)
    assert ours.fills.bar_index.tolist() == list(_fills_by_bar(trades))
