"""The executor core: decisions only at bar close, deterministic order ids, a model swap mid-day, the
risk check between order and broker, fills handed to the portfolio as they happen."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from tests.trading_assets.execution.replay import (
    LATENESS_US,
    SYMBOLS,
    TRADING_DAY,
    Market,
    simulate_market,
    train,
)
from trading_assets.core.time import US_PER_MINUTE, day_start_us
from trading_assets.execution.core import ExecutionCore
from trading_assets.execution.decisions import Decision, LoadedModel
from trading_assets.execution.parity import arrival_order, chunks
from trading_assets.execution.predict import predict_row
from trading_assets.models.features import FEATURE_COLUMNS, compute_features
from trading_assets.models.training import predict
from trading_assets.trading.orders import SIGNAL, Fill, Order, order_id

HOURS = 6


@pytest.fixture(scope="module")
def recorded() -> tuple[Market, dict[str, LoadedModel], pa.Table]:
    market = simulate_market()
    models = {symbol: train(market, symbol) for symbol in SYMBOLS}
    end = day_start_us(TRADING_DAY) + HOURS * 60 * US_PER_MINUTE
    morning = market.ticks.filter(pc.less(market.ticks["trade_time_us"], end))
    return market, models, arrival_order(morning, jitter_us=LATENESS_US, repeats=20, seed=3)


def run(
    core: ExecutionCore, arrivals: pa.Table, size: int, swap: tuple[int, str, LoadedModel] | None = None
) -> tuple[list[Decision], list[Fill]]:
    decisions: list[Decision] = []
    fills: list[Fill] = []
    for index, chunk in enumerate(chunks(arrivals, size)):
        if swap is not None and index == swap[0]:
            core.set_model(swap[1], swap[2])
        step = core.on_ticks(chunk)
        decisions.extend(step.decisions)
        fills.extend(step.fills)
    step = core.finish()
    return [*decisions, *step.decisions], [*fills, *step.fills]


def new_core(market: Market, models: dict[str, LoadedModel], **kwargs: object) -> ExecutionCore:
    core = ExecutionCore(lateness_us=LATENESS_US, **kwargs)  # type: ignore[arg-type]
    core.warm_up(market.warm_up_bars)
    for symbol, model in models.items():
        core.set_model(symbol, model)
    return core


def test_decisions_come_only_when_a_bar_closes(
    recorded: tuple[Market, dict[str, LoadedModel], pa.Table],
) -> None:
    market, models, arrivals = recorded
    core = new_core(market, models)

    for chunk in chunks(arrivals, 50):
        step = core.on_ticks(chunk)
        closed = {(b["symbol"], b["minute_us"]) for b in step.bars.to_pylist()}
        assert {(d.symbol, d.bar_minute_us) for d in step.decisions} == closed
        for decision in step.decisions:
            assert decision.decision_us == decision.bar_minute_us + US_PER_MINUTE
            watermark = core.bars.watermark("sim", decision.symbol)
            assert watermark is not None and watermark >= decision.decision_us


def test_each_decision_is_stamped_by_the_clock_when_it_is_made_not_at_the_end_of_the_call(
    recorded: tuple[Market, dict[str, LoadedModel], pa.Table],
) -> None:
    # Arrange: a clock that counts its readings, and polls that close several bars each.
    market, models, arrivals = recorded
    readings: list[int] = []

    def clock() -> float:
        readings.append(len(readings))
        return float(len(readings))

    core = new_core(market, models, clock=clock)
    plain = new_core(market, models)

    # Act
    steps = [core.on_ticks(chunk) for chunk in chunks(arrivals, 2_000)]
    plain_steps = [plain.on_ticks(chunk) for chunk in chunks(arrivals, 2_000)]

    # Assert: one stamp per decision, read once each as it is made (so they increase within a call);
    # the same decisions as without a clock, which stamps nothing.
    several = [step for step in steps if len(step.decisions) >= 3]
    assert several
    for step in steps:
        assert len(step.decided_s) == len(step.decisions)
        assert list(step.decided_s) == sorted(set(step.decided_s))
    assert len(readings) == sum(len(step.decisions) for step in steps)
    assert [s.decisions for s in steps] == [s.decisions for s in plain_steps]
    assert all(s.decided_s == () for s in plain_steps)


def test_the_same_ticks_make_the_same_orders_and_ids_whatever_the_batching(
    recorded: tuple[Market, dict[str, LoadedModel], pa.Table],
) -> None:
    market, models, arrivals = recorded

    decisions_a, fills_a = run(new_core(market, models), arrivals, 1_000)
    decisions_b, fills_b = run(new_core(market, models), arrivals, 37)

    orders = [d.order for d in decisions_a if d.order is not None]
    assert len(orders) >= 5
    assert orders == [d.order for d in decisions_b if d.order is not None]
    assert fills_a == fills_b
    for order in orders:
        assert order.order_id == order_id(order.symbol, order.bar_minute_us, "1", SIGNAL)
    assert {f.fill_id for f in fills_a} <= {o.order_id for o in orders}
    assert len({o.order_id for o in orders}) == len(orders)


def test_after_a_model_swap_new_orders_and_their_fills_carry_the_new_version(
    recorded: tuple[Market, dict[str, LoadedModel], pa.Table],
) -> None:
    market, models, arrivals = recorded
    trained = train(market, "BTCUSDT", version="2", seed=99)
    swap_chunk = len(chunks(arrivals, 200)) // 2

    decisions, fills = run(new_core(market, models), arrivals, 200, swap=(swap_chunk, "BTCUSDT", trained))

    btc = [d for d in decisions if d.symbol == "BTCUSDT"]
    versions = [d.model_version for d in btc]
    switch = versions.index("2")
    assert set(versions[:switch]) == {"1"} and set(versions[switch:]) == {"2"}
    swapped_at = btc[switch].decision_us
    btc_fills = [f for f in fills if f.symbol == "BTCUSDT"]
    assert {f.model_version for f in btc_fills if f.decision_us >= swapped_at} == {"2"}
    assert {f.model_version for f in btc_fills if f.decision_us < swapped_at} == {"1"}
    assert {f.model_version for f in fills if f.symbol == "ADAUSDT"} <= {"1"}


@dataclass(frozen=True)
class Denied:
    allowed: bool
    rule: str


class DenyShorts:
    """A risk check that denies every sell and records what it saw."""

    def __init__(self) -> None:
        self.seen: list[tuple[Order, object, int, int | None, int | None]] = []

    def check(
        self,
        order: Order,
        portfolio: object,
        *,
        now_us: int,
        last_tick_us: int | None,
        model_loaded_us: int | None,
    ) -> Denied:
        self.seen.append((order, portfolio, now_us, last_tick_us, model_loaded_us))
        return Denied(allowed=order.side > 0, rule="ok" if order.side > 0 else "no_sells")


class Ledger:
    def __init__(self) -> None:
        self.applied: list[Fill] = []

    def apply(self, fill: Fill) -> None:
        self.applied.append(fill)


def test_the_risk_check_sees_every_order_and_a_denied_one_never_fills(
    recorded: tuple[Market, dict[str, LoadedModel], pa.Table],
) -> None:
    market, models, arrivals = recorded
    risk, portfolio = DenyShorts(), Ledger()
    loaded = {s: dataclasses.replace(m, loaded_us=123) for s, m in models.items()}

    decisions, fills = run(new_core(market, loaded, risk=risk, portfolio=portfolio), arrivals, 300)

    denied = [d for d in decisions if d.action == "denied"]
    sent = [d for d in decisions if d.action == "order"]
    assert denied and sent
    assert all(d.rule == "no_sells" and d.order is not None and d.order.side < 0 for d in denied)
    assert [seen[0] for seen in risk.seen] == [d.order for d in decisions if d.order is not None]
    assert all(
        seen[1] is portfolio and seen[2] == seen[0].decision_us and seen[4] == 123 for seen in risk.seen
    )
    assert all(f.side > 0 for f in fills)
    assert portfolio.applied == fills


def test_predicting_one_row_equals_the_batch_prediction(
    recorded: tuple[Market, dict[str, LoadedModel], pa.Table],
) -> None:
    market, models, _ = recorded
    features = compute_features(market.warm_up_bars)
    rows = features.filter(pc.equal(features["symbol"], "BTCUSDT")).select(list(FEATURE_COLUMNS)).to_pandas()
    model = models["BTCUSDT"].model

    batch = predict(model, rows)
    one_by_one = np.array([predict_row(model, rows.iloc[i].to_numpy()) for i in range(0, len(rows), 7)])

    np.testing.assert_array_equal(one_by_one, batch[::7])


def test_a_model_for_another_symbol_is_refused(
    recorded: tuple[Market, dict[str, LoadedModel], pa.Table],
) -> None:
    _, models, _ = recorded

    with pytest.raises(ValueError, match="is for BTCUSDT, not ADAUSDT"):
        ExecutionCore(lateness_us=0).set_model("ADAUSDT", models["BTCUSDT"])


class Constant:
    """A 'model' whose probability is always ``p``."""

    def __init__(self, p: float) -> None:
        self.p = p

    def predict_proba(self, x: object) -> np.ndarray:
        rows = len(np.asarray(x))
        return np.column_stack((np.full(rows, 1.0 - self.p), np.full(rows, self.p)))


def test_a_restored_position_is_what_the_first_order_moves_from(
    recorded: tuple[Market, dict[str, LoadedModel], pa.Table],
) -> None:
    market, models, arrivals = recorded
    short = dataclasses.replace(models["BTCUSDT"], model=Constant(0.0), version="9")
    core = new_core(market, {"BTCUSDT": short})
    core.restore("BTCUSDT", signal=1, position=2.0)

    decisions, fills = run(core, arrivals.slice(0, 3_000), 500)

    orders = [d.order for d in decisions if d.order is not None]
    assert len(orders) == 1 and orders[0].side == -1
    (fill,) = fills
    assert fill.side == -1
    assert fill.quantity == 2.0 + short.spec.capital / fill.reference_price
    assert core.broker.position("BTCUSDT") == -short.spec.capital / fill.reference_price
