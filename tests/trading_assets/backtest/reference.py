"""An independent re-implementation of the backtest, for the tests: a plain Python loop over bars.

Written from the rules in the issue (decision at the bar's close, fill at the open of the first bar at
or after decision + latency, one fill per change of target, quantity = signal × capital / open, adverse
spread and slippage, fee on the fill's notional, equity marked at the close), not from the engine's
code: it keeps a queue of pending decisions like a live executor would, and imports nothing from
trading_assets.
"""

from __future__ import annotations

from dataclasses import dataclass, field

MINUTE_US = 60_000_000


@dataclass
class ReferenceRun:
    position: list[float] = field(default_factory=list)
    cash: list[float] = field(default_factory=list)
    equity: list[float] = field(default_factory=list)
    # One tuple per fill: (bar index, time_us, side, quantity, price, fee)
    fills: list[tuple[int, int, int, float, float, float]] = field(default_factory=list)


def reference_backtest(
    minute_us: list[int],
    open_: list[float],
    close: list[float],
    signal: list[int],
    *,
    fee_bps: float,
    half_spread_bps: float,
    slippage_bps: float,
    latency_us: int,
    capital: float,
    allow_short: bool,
) -> ReferenceRun:
    run = ReferenceRun()
    position = 0.0
    cash = capital
    target = 0
    pending: list[tuple[int, int]] = []  # (earliest fill time, wanted target), in decision order
    adverse = (half_spread_bps + slippage_bps) / 10_000.0
    for bar in range(len(minute_us)):
        # At the bar's open: every pending decision whose time has come reaches the market now; they
        # all fill at this open, so only the latest one's target matters.
        due = [order for order in pending if order[0] <= minute_us[bar]]
        pending = [order for order in pending if order[0] > minute_us[bar]]
        if due and due[-1][1] != target:
            target = due[-1][1]
            new_position = target * capital / open_[bar]
            traded = new_position - position
            side = 1 if traded > 0 else -1
            price = open_[bar] * (1.0 + adverse) if side == 1 else open_[bar] * (1.0 - adverse)
            fee = abs(traded) * price * fee_bps / 10_000.0
            cash = cash - traded * price - fee
            position = new_position
            run.fills.append((bar, minute_us[bar], side, abs(traded), price, fee))
        run.position.append(position)
        run.cash.append(cash)
        run.equity.append(cash + position * close[bar])
        # At the bar's close: the decision, known at minute_us + 1 minute, reaches the market later.
        wanted = signal[bar] if allow_short or signal[bar] >= 0 else 0
        pending.append((minute_us[bar] + MINUTE_US + latency_us, wanted))
    return run
