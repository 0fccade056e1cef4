"""The paper broker: the first trade at or after decision + latency, the shared costs and sizing, fills
final only once their minute closed, and orders landing on one trade netted like the backtest's."""

from __future__ import annotations

import numpy as np
import pytest

from trading_assets.backtest.engine import run_backtest
from trading_assets.core.time import US_PER_MINUTE, US_PER_SECOND
from trading_assets.trading.costs import CostModel
from trading_assets.trading.orders import SIGNAL, Order, order_id
from trading_assets.trading.paper_broker import PaperBroker, PendingOrder

SYMBOL = "BTCUSDT"
M = 100 * US_PER_MINUTE
CAPITAL = 10_000.0


def pending(
    decided_minute_us: int, signal: int, previous: int = 0, *, latency_us: int = 0, version: str = "1"
) -> PendingOrder:
    order = Order(
        order_id=order_id(SYMBOL, decided_minute_us, version, SIGNAL),
        symbol=SYMBOL,
        side=1 if signal > previous else -1,
        quantity=1.0,
        decision_us=decided_minute_us + US_PER_MINUTE,
        bar_minute_us=decided_minute_us,
        model_name="m",
        model_version=version,
        run_id="r",
    )
    return PendingOrder(
        order=order, target_signal=signal, capital=CAPITAL, costs=CostModel(latency_us=latency_us)
    )


def trades(broker: PaperBroker, *rows: tuple[int, int, float]) -> None:
    times, ids, prices = zip(*rows, strict=True)
    broker.on_trades(SYMBOL, np.array(times, np.int64), np.array(ids, np.int64), np.array(prices, np.float64))


def test_an_order_fills_at_the_first_trade_after_decision_plus_latency_at_the_cost_models_price() -> None:
    broker = PaperBroker()
    order = pending(M, 1, latency_us=5 * US_PER_SECOND)
    decision = M + US_PER_MINUTE
    broker.submit(order)
    trades(
        broker,
        (decision + 1, 1, 100.0),
        (decision + 4_999_999, 2, 101.0),
        (decision + 5 * US_PER_SECOND, 3, 102.0),
    )
    trades(broker, (decision + 9 * US_PER_SECOND, 4, 103.0))

    events = broker.resolve(SYMBOL, decision + US_PER_MINUTE)

    (fill,) = events.fills
    costs = CostModel()
    assert fill.time_us == decision + 5 * US_PER_SECOND
    assert fill.reference_price == 102.0
    assert fill.price == costs.fill_price(102.0, 1)
    assert fill.quantity == CAPITAL / 102.0
    assert fill.fee == costs.fee(fill.quantity * fill.price)
    assert (fill.side, fill.fill_id, fill.model_version) == (1, order.order.order_id, "1")
    assert broker.position(SYMBOL) == CAPITAL / 102.0 and broker.signal(SYMBOL) == 1


def test_a_fill_waits_until_its_minute_closes_and_takes_an_earlier_trade_that_arrives_out_of_order() -> None:
    broker = PaperBroker()
    decision = M + US_PER_MINUTE
    broker.submit(pending(M, 1))
    trades(broker, (decision + 3 * US_PER_SECOND, 11, 101.0))

    before = broker.resolve(SYMBOL, decision)  # the minute of the candidate has not closed
    trades(broker, (decision + US_PER_SECOND, 10, 100.0))  # earlier trade, arriving later
    after = broker.resolve(SYMBOL, decision + US_PER_MINUTE)

    assert before.fills == ()
    assert [f.reference_price for f in after.fills] == [100.0]


def test_trades_of_one_time_fill_in_trade_id_order() -> None:
    broker = PaperBroker()
    decision = M + US_PER_MINUTE
    broker.submit(pending(M, 1))
    trades(broker, (decision, 8, 101.0), (decision, 7, 100.0))

    (fill,) = broker.resolve(SYMBOL, decision + US_PER_MINUTE).fills

    assert fill.reference_price == 100.0


def test_a_flip_trades_both_positions_in_one_fill_and_flat_sells_what_is_held() -> None:
    broker = PaperBroker()
    broker.submit(pending(M, 1))
    broker.submit(pending(M + US_PER_MINUTE, -1, 1))
    broker.submit(pending(M + 2 * US_PER_MINUTE, 0, -1))
    trades(broker, *((M + (k + 1) * US_PER_MINUTE + 1, k, 100.0 + k) for k in range(4)))

    fills = broker.resolve(SYMBOL, M + 5 * US_PER_MINUTE).fills

    assert [f.side for f in fills] == [1, -1, 1]
    assert fills[0].quantity == CAPITAL / 100.0
    assert fills[1].quantity == CAPITAL / 100.0 + CAPITAL / 101.0
    assert fills[2].quantity == CAPITAL / 101.0
    assert broker.position(SYMBOL) == 0.0


def test_orders_landing_on_the_same_trade_net_into_the_latest_one() -> None:
    broker = PaperBroker()
    latency = 90 * US_PER_SECOND  # decisions a minute apart reach the market together
    first, second = pending(M, 1, latency_us=latency), pending(M + US_PER_MINUTE, -1, 1, latency_us=latency)
    broker.submit(first)
    broker.submit(second)
    trades(broker, (M + 4 * US_PER_MINUTE + 1, 1, 100.0))

    events = broker.resolve(SYMBOL, M + 5 * US_PER_MINUTE)

    (fill,) = events.fills
    assert events.netted == (first.order,)
    assert (fill.fill_id, fill.side, fill.quantity) == (second.order.order_id, -1, CAPITAL / 100.0)


def test_orders_netting_back_to_the_held_target_fill_nothing() -> None:
    broker = PaperBroker()
    latency = 90 * US_PER_SECOND
    there, back = pending(M, 1, latency_us=latency), pending(M + US_PER_MINUTE, 0, 1, latency_us=latency)
    broker.submit(there)
    broker.submit(back)
    trades(broker, (M + 4 * US_PER_MINUTE + 1, 1, 100.0))

    events = broker.resolve(SYMBOL, M + 5 * US_PER_MINUTE)

    assert events.fills == ()
    assert events.netted == (there.order, back.order)
    assert broker.position(SYMBOL) == 0.0


def test_an_order_without_a_later_trade_does_not_fill_and_closed_minutes_are_forgotten() -> None:
    broker = PaperBroker()
    trades(broker, (M + 10, 1, 100.0))
    broker.resolve(SYMBOL, M + US_PER_MINUTE)
    broker.submit(pending(M, 1))

    assert broker.resolve(SYMBOL, None).fills == ()
    assert len(broker.pending(SYMBOL)) == 1


def test_orders_must_come_in_decision_order() -> None:
    broker = PaperBroker()
    broker.submit(pending(M + US_PER_MINUTE, 1))

    with pytest.raises(ValueError, match="before the pending"):
        broker.submit(pending(M, 1))


@pytest.mark.parametrize("latency_us", [0, 75 * US_PER_SECOND, 150 * US_PER_SECOND])
def test_on_one_trade_per_bar_the_broker_makes_the_backtests_fills_netting_included(latency_us: int) -> None:
    rng = np.random.default_rng(latency_us)
    n = 400
    # Bars with gaps; each bar is one trade at its start, so a bar's open is that trade.
    minute_us = M + np.cumsum(rng.choice([1, 1, 1, 2, 3], size=n)) * US_PER_MINUTE
    open_ = np.round(100.0 + np.cumsum(rng.normal(0, 0.5, size=n)), 2)
    signal = rng.choice([-1, 0, 1], size=n).astype(np.int8)
    broker = PaperBroker()
    target = 0
    fills = []
    netted = 0
    trades(broker, *((int(t), k, float(p)) for k, (t, p) in enumerate(zip(minute_us, open_, strict=True))))
    for k in range(n):
        events = broker.resolve(SYMBOL, int(minute_us[k]) + US_PER_MINUTE)
        fills.extend(events.fills)
        netted += len(events.netted)
        if signal[k] != target:
            broker.submit(pending(int(minute_us[k]), int(signal[k]), target, latency_us=latency_us))
            target = int(signal[k])
    final = broker.resolve(SYMBOL, None)
    fills.extend(final.fills)

    expected = run_backtest(
        minute_us,
        open_,
        open_,
        signal,
        costs=CostModel(latency_us=latency_us),
        capital=CAPITAL,
        allow_short=True,
    ).fills
    assert len(fills) == len(expected) > 50
    assert [f.time_us for f in fills] == expected.time_us.tolist()
    assert [f.side for f in fills] == expected.side.tolist()
    assert [f.quantity for f in fills] == expected.quantity.tolist()
    assert [f.price for f in fills] == expected.price.tolist()
    assert [f.fee for f in fills] == expected.fee.tolist()
    assert (netted > 0) == (latency_us > 0)
