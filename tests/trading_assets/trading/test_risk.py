"""The risk engine: each rule firing with its name and not just inside its limit, the trading states,
the daily loss limit, and the latched drawdown kill switch across save and restore."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import random

import pytest

from trading_assets.core.time import US_PER_DAY, US_PER_SECOND, day_start_us
from trading_assets.trading.orders import FLATTEN, SIGNAL, Fill, Order
from trading_assets.trading.portfolio import EquitySnapshot, Portfolio
from trading_assets.trading.risk import RiskEngine
from trading_assets.trading.risk_state import RiskLimits, RiskState, Rule, TradingState

S = US_PER_SECOND
T0 = day_start_us(dt.date(2026, 11, 30)) + 10 * 3600 * S
_ids = itertools.count()

NO_LIMITS = RiskLimits(
    max_position_notional=None,
    max_gross_exposure=None,
    max_net_exposure=None,
    max_order_notional=None,
    max_orders_per_window=None,
    daily_loss_limit=None,
    stale_data_seconds=None,
    stale_model_seconds=None,
    kill_switch_drawdown=None,
)


def only(**limits: object) -> RiskLimits:
    """Every limit off but the ones given: each test sees one rule at work."""
    return dataclasses.replace(NO_LIMITS, **limits)  # type: ignore[arg-type]


def order(symbol: str, signed_quantity: float, *, reason: str = SIGNAL) -> Order:
    return Order(
        order_id=f"o{next(_ids)}",
        symbol=symbol,
        side=1 if signed_quantity > 0 else -1,
        quantity=abs(signed_quantity),
        decision_us=T0,
        bar_minute_us=T0,
        model_name="m",
        model_version="1",
        run_id="r",
        reason=reason,
    )


def book(portfolio: Portfolio, o: Order, price: float, time_us: int = T0) -> None:
    portfolio.apply(Fill.of(o, time_us=time_us, reference_price=price, price=price, fee=0.0))


def portfolio_at(prices: dict[str, float], holdings: dict[str, float] | None = None) -> Portfolio:
    p = Portfolio(100_000.0)
    for symbol, quantity in (holdings or {}).items():
        book(p, order(symbol, quantity), prices[symbol])
    p.mark(prices, T0)
    return p


def check(
    engine: RiskEngine, o: Order, p: Portfolio, now_us: int = T0, **kw: int | None
) -> tuple[bool, str | None]:
    times: dict[str, int | None] = {"last_tick_us": now_us, "model_loaded_us": now_us}
    times.update(kw)
    decision = engine.check(o, p, now_us=now_us, **times)  # type: ignore[arg-type]
    assert decision.allowed == (decision.rule is None)
    assert decision.detail
    return decision.allowed, decision.rule


def snap(equity: float, time_us: int, positions: tuple[tuple[str, float], ...] = ()) -> EquitySnapshot:
    return EquitySnapshot(
        time_us=time_us,
        equity=equity,
        cash=equity,
        gross_exposure=0.0,
        net_exposure=0.0,
        unrealized_pnl=0.0,
        realized_pnl=0.0,
        fees=0.0,
        high_water_mark=equity,
        drawdown=0.0,
        positions=positions,
    )


# -- limits on every order -----------------------------------------------------------------------------


def test_position_limit_in_notional_fires_just_above_and_never_blocks_a_reduction() -> None:
    engine = RiskEngine(only(max_position_notional=1_000.0))
    p = portfolio_at({"BTC": 100.0})

    assert check(engine, order("BTC", 10.0), p) == (True, None)
    assert check(engine, order("BTC", -10.01), p) == (False, Rule.POSITION_LIMIT)
    assert check(engine, order("BTC", 10.01), p) == (False, "position_limit")

    above = portfolio_at({"BTC": 100.0}, {"BTC": 20.0})  # already above, e.g. after a rise
    assert check(engine, order("BTC", -5.0), above) == (True, None)
    assert check(engine, order("BTC", 1.0), above) == (False, Rule.POSITION_LIMIT)


def test_gross_exposure_limit_sums_all_symbols() -> None:
    engine = RiskEngine(only(max_gross_exposure=1_500.0))
    p = portfolio_at({"BTC": 100.0, "ETH": 100.0}, {"BTC": 10.0})

    assert check(engine, order("ETH", -5.0), p) == (True, None)
    assert check(engine, order("ETH", 5.01), p) == (False, Rule.GROSS_EXPOSURE)
    assert check(engine, order("BTC", -1.0), p) == (True, None)  # reduces gross


def test_net_exposure_limit_nets_longs_against_shorts() -> None:
    engine = RiskEngine(only(max_net_exposure=1_000.0))
    p = portfolio_at({"BTC": 100.0, "ETH": 100.0}, {"BTC": 10.0})

    assert check(engine, order("ETH", 0.01), p) == (False, Rule.NET_EXPOSURE)
    assert check(engine, order("ETH", -20.0), p) == (True, None)  # net -1000: at the limit
    assert check(engine, order("ETH", -20.01), p) == (False, Rule.NET_EXPOSURE)


def test_max_order_notional() -> None:
    engine = RiskEngine(only(max_order_notional=500.0))
    p = portfolio_at({"BTC": 100.0})

    assert check(engine, order("BTC", -5.0), p) == (True, None)
    assert check(engine, order("BTC", 5.01), p) == (False, Rule.ORDER_NOTIONAL)


def test_an_order_on_a_symbol_without_a_price_is_denied() -> None:
    engine = RiskEngine(only(max_order_notional=500.0))

    assert check(engine, order("SOL", 1.0), portfolio_at({"BTC": 100.0})) == (False, Rule.NO_PRICE)


def test_order_rate_throttle_counts_admitted_orders_in_a_rolling_window() -> None:
    engine = RiskEngine(only(max_orders_per_window=3, order_window_seconds=60.0, stale_data_seconds=10.0))
    p = portfolio_at({"BTC": 100.0})

    assert check(engine, order("BTC", 1.0), p, T0, last_tick_us=T0 - 11 * S)[1] == Rule.STALE_DATA
    for i in range(3):
        assert check(engine, order("BTC", 1.0), p, T0 + i * S) == (True, None)
    assert check(engine, order("BTC", 1.0), p, T0 + 59 * S) == (False, Rule.ORDER_RATE)
    assert check(engine, order("BTC", 1.0), p, T0 + 60 * S) == (True, None)  # the first left the window
    assert check(engine, order("BTC", 1.0), p, T0 + 60 * S) == (False, Rule.ORDER_RATE)


@pytest.mark.parametrize(
    ("field", "name"), [("last_tick_us", Rule.STALE_DATA), ("model_loaded_us", Rule.STALE_MODEL)]
)
def test_stale_data_and_stale_model_guards(field: str, name: Rule) -> None:
    engine = RiskEngine(only(stale_data_seconds=30.0, stale_model_seconds=30.0))
    p = portfolio_at({"BTC": 100.0})
    now = T0 + 100 * S

    assert check(engine, order("BTC", 1.0), p, now, **{field: now - 30 * S}) == (True, None)
    assert check(engine, order("BTC", 1.0), p, now, **{field: now - 30 * S - 1}) == (False, name)
    assert check(engine, order("BTC", 1.0), p, now, **{field: None}) == (False, name)  # no tick / no model


def test_default_limits_admit_a_model_sized_order_and_deny_an_oversized_one() -> None:
    engine = RiskEngine()
    p = portfolio_at({"BTC": 100.0})

    assert check(engine, order("BTC", 1_000.0), p) == (True, None)  # the default capital of 100,000
    assert check(engine, order("BTC", 3_000.0), p) == (False, Rule.ORDER_NOTIONAL)


# -- daily loss and REDUCING ---------------------------------------------------------------------------


def test_daily_loss_moves_to_reducing_and_a_new_utc_day_starts_active() -> None:
    engine = RiskEngine(only(daily_loss_limit=0.05))
    p = portfolio_at({"BTC": 100.0}, {"BTC": 10.0})
    engine.on_mark(snap(100_000.0, T0))

    engine.on_mark(snap(95_001.0, T0 + S))
    assert engine.state is TradingState.ACTIVE
    engine.on_mark(snap(95_000.0, T0 + 2 * S))
    assert engine.state is TradingState.REDUCING

    assert check(engine, order("BTC", 1.0), p) == (False, Rule.REDUCING_ONLY)
    assert check(engine, order("BTC", -11.0), p) == (False, Rule.REDUCING_ONLY)  # a flip
    assert check(engine, order("ETH", 1.0), p) == (False, Rule.REDUCING_ONLY)  # opening from flat
    assert check(engine, order("BTC", -4.0), p) == (True, None)
    assert check(engine, order("BTC", -10.0), p) == (True, None)

    tomorrow = day_start_us(dt.date(2026, 12, 1))
    engine.on_mark(snap(95_000.0, tomorrow))
    assert engine.state is TradingState.ACTIVE
    assert engine.save().day_start_equity == 95_000.0
    assert check(engine, order("BTC", 1.0), p, tomorrow + S) == (True, None)


def test_daily_loss_is_also_caught_by_an_order_between_marks() -> None:
    engine = RiskEngine(only(daily_loss_limit=0.05))
    p = portfolio_at({"BTC": 100.0}, {"BTC": 1_000.0})  # equity 100,000
    engine.on_mark(p.mark({"BTC": 100.0}, T0))

    p.mark({"BTC": 94.0}, T0 + S)  # -6,000: the portfolio knows, the engine saw no mark

    assert check(engine, order("BTC", 1.0), p, T0 + 2 * S) == (False, Rule.REDUCING_ONLY)
    assert engine.state is TradingState.REDUCING


def test_reducing_never_grows_or_flips_a_position_over_many_random_orders() -> None:
    rng = random.Random(11)
    engine = RiskEngine(only(daily_loss_limit=0.01))
    symbols = ["BTC", "ETH", "SOL"]
    p = portfolio_at(dict.fromkeys(symbols, 100.0), {"BTC": 50.0, "ETH": -30.0, "SOL": 5.0})
    engine.on_mark(snap(100_000.0, T0))
    engine.on_mark(snap(98_000.0, T0 + S))
    assert engine.state is TradingState.REDUCING
    admitted = denied = 0

    for _ in range(2_000):
        symbol = rng.choice(symbols)
        o = order(symbol, rng.choice([1, -1]) * rng.uniform(0.01, 60.0), reason=rng.choice([SIGNAL, FLATTEN]))
        before = p.quantity(symbol)
        allowed, rule = check(engine, o, p)
        if allowed:
            admitted += 1
            book(p, o, 100.0)
            after = p.quantity(symbol)
            assert abs(after) <= abs(before)
            assert after == 0.0 or (after > 0) == (before > 0)
        else:
            denied += 1
            assert rule == Rule.REDUCING_ONLY

    assert admitted > 10 and denied > 100  # both branches were exercised
    assert engine.state is TradingState.REDUCING


# -- the kill switch, HALTED and the latch -------------------------------------------------------------

KILL = only(kill_switch_drawdown=0.10, kill_switch_marks=3)


def test_kill_switch_trips_only_after_n_consecutive_breaching_marks() -> None:
    engine = RiskEngine(KILL)
    positions = (("BTC", 10.0), ("ETH", -2.5))
    engine.on_mark(snap(100_000.0, T0))

    marks = [89_000.0, 89_000.0, 95_000.0, 90_000.0, 89_999.0, 89_000.0]  # a recovery, then 90k is not above
    for i, equity in enumerate(marks, start=1):
        assert engine.on_mark(snap(equity, T0 + i * S, positions)) == ()
        assert engine.state is TradingState.ACTIVE
    assert engine.save().consecutive_breaches == 2

    intents = engine.on_mark(snap(88_000.0, T0 + 10 * S, positions))

    assert engine.state is TradingState.HALTED and engine.latched
    assert [(i.symbol, i.side, i.quantity, i.mark_us) for i in intents] == [
        ("BTC", -1, 10.0, T0 + 10 * S),
        ("ETH", 1, 2.5, T0 + 10 * S),
    ]
    assert engine.save().halted_us == T0 + 10 * S
    assert engine.on_mark(snap(80_000.0, T0 + 11 * S, positions)) == ()  # flattens once


def test_halted_denies_every_order_but_the_flatten_that_closes_a_position() -> None:
    rng = random.Random(5)
    # Default limits, and a throttle that admits nothing: the flatten orders pass past every rule.
    engine = RiskEngine(dataclasses.replace(RiskLimits(), max_orders_per_window=0))
    p = portfolio_at({"BTC": 100.0, "ETH": 50.0}, {"BTC": 10.0, "ETH": -4.0})
    engine.on_mark(snap(100_000.0, T0))
    positions = (("BTC", 10.0), ("ETH", -4.0))
    intents = [engine.on_mark(snap(80_000.0, T0 + i * S, positions)) for i in range(1, 4)][-1]
    assert engine.state is TradingState.HALTED

    for _ in range(1_000):
        symbol = rng.choice(["BTC", "ETH", "SOL"])
        signed = rng.choice([1, -1]) * rng.uniform(0.01, 20.0)
        reason = rng.choice([SIGNAL, FLATTEN])
        assert check(engine, order(symbol, signed, reason=reason), p) == (False, Rule.HALTED)
    assert check(engine, order("BTC", -10.0), p) == (False, Rule.HALTED)  # closing, but not a flatten

    for intent in intents:
        o = intent.order(model_name="m", model_version="1", run_id="r")
        assert check(engine, o, p, last_tick_us=None, model_loaded_us=None) == (True, None)
        book(p, o, 100.0)
    assert p.positions == {}
    assert engine.state is TradingState.HALTED


def test_the_latch_survives_restore_a_new_day_and_recovery_until_a_person_resets_it() -> None:
    engine = RiskEngine(KILL)
    p = portfolio_at({"BTC": 100.0})
    engine.on_mark(snap(100_000.0, T0))
    for i in range(1, 4):
        engine.on_mark(snap(85_000.0, T0 + i * S))
    assert engine.latched

    restored = RiskEngine.restore(engine.save(), KILL)
    assert restored.state is TradingState.HALTED and restored.latched
    assert restored.on_mark(snap(120_000.0, T0 + US_PER_DAY)) == ()  # recovered, and a new day
    assert restored.state is TradingState.HALTED
    assert check(restored, order("BTC", 1.0), p, T0 + US_PER_DAY) == (False, Rule.HALTED)

    with pytest.raises(ValueError, match="who and why"):
        restored.reset("", "because", T0 + US_PER_DAY)
    record = restored.reset("alice", "drawdown understood, model rolled back", T0 + US_PER_DAY + S)

    assert (record.who, record.why, record.time_us) == (
        "alice",
        "drawdown understood, model rolled back",
        T0 + US_PER_DAY + S,
    )
    assert restored.state is TradingState.ACTIVE and not restored.latched
    assert restored.save().resets == (record,)
    assert restored.save().high_water_mark == 120_000.0  # restarts at the latest equity
    assert check(restored, order("BTC", 1.0), p, T0 + US_PER_DAY + 2 * S) == (True, None)
    assert RiskEngine.restore(restored.save(), KILL).save().resets == (record,)


def test_a_reset_while_not_latched_is_recorded_and_changes_nothing_else() -> None:
    engine = RiskEngine(KILL)
    engine.on_mark(snap(100_000.0, T0))
    before = engine.save()

    record = engine.reset("bob", "checking", T0 + S)

    assert engine.save() == dataclasses.replace(before, resets=(record,))


def test_risk_state_round_trips_through_save_and_restore() -> None:
    limits = only(
        kill_switch_drawdown=0.1, kill_switch_marks=5, daily_loss_limit=0.05, max_orders_per_window=9
    )
    engine = RiskEngine(limits)
    p = portfolio_at({"BTC": 100.0}, {"BTC": 5.0})
    engine.on_mark(snap(100_000.0, T0))
    engine.on_mark(snap(85_000.0, T0 + S))
    assert check(engine, order("BTC", -1.0), p, T0 + 2 * S) == (True, None)

    state = engine.save()
    restored = RiskEngine.restore(state, limits)

    assert restored.save() == state
    assert state.state is TradingState.REDUCING and state.consecutive_breaches == 1
    assert len(state.recent_orders_us) == 1
    for i in range(3, 8):
        marked = snap(85_000.0 - i, T0 + i * S, (("BTC", 1.0),))
        assert engine.on_mark(marked) == restored.on_mark(marked)
    assert restored.save() == engine.save()
    assert restored.state is TradingState.HALTED


def test_risk_limits_refuse_nonsense() -> None:
    with pytest.raises(ValueError, match="kill_switch_marks"):
        RiskLimits(kill_switch_marks=0)
    with pytest.raises(ValueError, match="max_position_notional"):
        RiskLimits(max_position_notional=-1.0)
    assert RiskState().state is TradingState.ACTIVE


def test_a_restarted_engine_gives_the_same_flatten_orders_for_positions_still_open() -> None:
    engine = RiskEngine(KILL)
    p = portfolio_at({"BTC": 100.0, "ETH": 50.0}, {"BTC": 10.0, "ETH": -4.0})
    engine.on_mark(snap(100_000.0, T0))
    tripped = [engine.on_mark(snap(80_000.0, T0 + i * S, p.mark({}, T0).positions)) for i in (1, 2, 3)]
    assert tripped[:2] == [(), ()] and len(tripped[2]) == 2
    btc = next(i for i in tripped[2] if i.symbol == "BTC")
    book(p, btc.order(model_name="m", model_version="1", run_id="r"), 100.0)  # BTC flattened, then a crash

    restored = RiskEngine.restore(engine.save(), KILL)
    again = restored.flatten_intents((s, pos.quantity) for s, pos in p.positions.items())

    assert again == tuple(i for i in tripped[2] if i.symbol == "ETH")  # same id: placed at most once
    assert RiskEngine(KILL).flatten_intents([("BTC", 1.0)]) == ()  # not latched: nothing to flatten
