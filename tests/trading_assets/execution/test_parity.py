"""Parity: the executor replaying a recorded day of ticks, out of order and with repeats, makes the
backtest's fills (time, side, quantity, price, fee, model version) with the same model and costs; a tick
later than the lateness is reported and makes the two differ only from its bar on; and trades in
data.binance.vision's file format (tests/data: a seeded sample shaped like the 2020-03-12 file, not a
download of it) replay to the batch bars and to the backtest's fills."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from testkit.parity_models import flow_model
from testkit.recorded_trades import read_binance
from tests.trading_assets.execution.replay import (
    LATENESS_US,
    SYMBOLS,
    Market,
    simulate_market,
    train,
)
from tests.trading_assets.execution.test_online import assert_same_bars
from trading_assets.backtest.engine import Fills
from trading_assets.core.time import US_PER_MINUTE, US_PER_SECOND
from trading_assets.execution import parity
from trading_assets.execution.core import ExecutionCore
from trading_assets.execution.decisions import LoadedModel
from trading_assets.execution.online import OnlineBars
from trading_assets.execution.parity import arrival_order, backtest, chunks, first_copies
from trading_assets.market.bars import compute_bars_1m
from trading_assets.trading.costs import CostModel
from trading_assets.trading.orders import Fill

CSV = Path(__file__).resolve().parents[2] / "data" / "BTCUSDT-trades-2020-03-12-sample.csv"


@pytest.fixture(scope="module")
def recorded() -> tuple[Market, dict[str, LoadedModel]]:
    market = simulate_market()
    return market, {symbol: train(market, symbol) for symbol in SYMBOLS}


def replay(
    arrivals: pa.Table, models: dict[str, LoadedModel], warm_up: pa.Table | None, size: int = 300
) -> tuple[list[Fill], list[pa.Table], ExecutionCore]:
    run = parity.replay(arrivals, models, warm_up, lateness_us=LATENESS_US, chunk_rows=size)
    return run.fills, run.bars, run.core


def assert_same_fills(executor: list[Fill], expected: Fills, version: str) -> None:
    """Bit for bit (parity.fill_differences): every field, the time at the bar's minute."""
    assert parity.fill_differences(executor, expected, version) == []


@pytest.mark.slow
@pytest.mark.parametrize("latency_us", [0, 60 * US_PER_SECOND])
def test_the_executor_replaying_a_shuffled_day_makes_the_backtests_fills(
    recorded: tuple[Market, dict[str, LoadedModel]], latency_us: int
) -> None:
    """Without latency, and with a whole bar of it (a latency that is not a whole number of minutes
    fills at a trade on the executor and at a later bar's open in the backtest: fills.py's two rules)."""
    market, trained = recorded
    models = {
        symbol: dataclasses.replace(
            model, spec=dataclasses.replace(model.spec, costs=CostModel(latency_us=latency_us))
        )
        for symbol, model in trained.items()
    }
    arrivals = arrival_order(market.ticks, jitter_us=LATENESS_US, repeats=200, seed=5)
    times = arrivals["trade_time_us"].to_numpy()
    assert int((np.diff(times) < 0).sum()) > 1_000, "ticks must arrive out of order"

    fills, bars, core = replay(arrivals, models, market.warm_up_bars)
    expected = backtest(first_copies(arrivals), models, market.warm_up_bars)

    assert core.bars.late_ticks == 0 and core.bars.duplicate_ticks == 200
    for symbol in SYMBOLS:
        assert_same_fills([f for f in fills if f.symbol == symbol], expected[symbol], "1")
    assert sum(len(f) for f in expected.values()) >= 20
    # Each fill is the opening trade of the bar after the decision: the first trade of its minute.
    online_bars = pa.concat_tables(bars)
    opens = {(b["symbol"], b["minute_us"]): b["open"] for b in online_bars.to_pylist()}
    assert all(opens[(f.symbol, f.time_us - f.time_us % US_PER_MINUTE)] == f.reference_price for f in fills)
    assert all(f.time_us >= f.decision_us + latency_us for f in fills)


@pytest.mark.slow
def test_a_tick_beyond_the_lateness_is_reported_and_only_its_bar_and_later_fills_can_differ(
    recorded: tuple[Market, dict[str, LoadedModel]],
) -> None:
    market, models = recorded
    arrivals = arrival_order(market.ticks, jitter_us=LATENESS_US, repeats=0, seed=6)
    expected_all = backtest(arrivals, models, market.warm_up_bars)
    # The opening trade of the bar of a fill in the middle of the day arrives three minutes late.
    fill_minute = int(expected_all["BTCUSDT"].time_us[len(expected_all["BTCUSDT"]) // 2])
    is_btc = pc.equal(arrivals["symbol"], "BTCUSDT").to_numpy(zero_copy_only=False)
    times = arrivals["trade_time_us"].to_numpy()
    in_bar = np.flatnonzero(is_btc & (times >= fill_minute) & (times < fill_minute + US_PER_MINUTE))
    late_row = int(in_bar[np.argmin(times[in_bar])])
    later = np.flatnonzero(is_btc & (times > fill_minute + 4 * US_PER_MINUTE))[0]
    order = np.concatenate(
        (
            np.delete(np.arange(arrivals.num_rows)[: later + 1], late_row),
            [late_row],
            np.arange(later + 1, arrivals.num_rows),
        )
    )
    late_arrivals = arrivals.take(pa.array(order))
    accepted = arrivals.take(pa.array(np.delete(np.arange(arrivals.num_rows), late_row)))

    fills, bars, core = replay(late_arrivals, models, market.warm_up_bars)

    assert core.bars.late_ticks == 1
    online = pa.concat_tables(bars).sort_by([("symbol", "ascending"), ("minute_us", "ascending")])
    # The executor's bars are the batch bars of the ticks it accepted ...
    assert_same_bars(
        online, compute_bars_1m(accepted).sort_by([("symbol", "ascending"), ("minute_us", "ascending")])
    )
    # ... which differ from the bars of every tick in that one bar only.
    every = compute_bars_1m(arrivals).sort_by([("symbol", "ascending"), ("minute_us", "ascending")])
    differs = np.flatnonzero(np.array(online["trades"].to_pylist()) != np.array(every["trades"].to_pylist()))
    assert [(online["symbol"][i].as_py(), online["minute_us"][i].as_py()) for i in differs] == [
        ("BTCUSDT", fill_minute)
    ]
    # Fills equal the backtest of the accepted ticks; the backtest of every tick agrees before that bar.
    expected = backtest(accepted, models, market.warm_up_bars)
    for symbol in SYMBOLS:
        assert_same_fills([f for f in fills if f.symbol == symbol], expected[symbol], "1")
    btc = [f for f in fills if f.symbol == "BTCUSDT"]
    before = [f for f in btc if f.time_us < fill_minute]
    assert_same_fills(before, _head(expected_all["BTCUSDT"], len(before)), "1")
    at_bar = next(f for f in btc if f.time_us - f.time_us % US_PER_MINUTE == fill_minute)
    assert at_bar.time_us != int(times[late_row])


def _head(fills: Fills, n: int) -> Fills:
    return Fills(**{name: getattr(fills, name)[:n] for name in Fills.__slots__})  # type: ignore[attr-defined]


def binance_ticks() -> pa.Table:
    """The data.binance.vision-format sample as a tick table (``m``, buyer is maker: the seller crossed)."""
    return read_binance(CSV, "BTCUSDT")


def test_binance_format_trades_replay_to_the_batch_bars_and_the_backtests_fills() -> None:
    ticks = binance_ticks()
    arrivals = arrival_order(ticks, jitter_us=LATENESS_US, repeats=50, seed=9)
    online = OnlineBars(lateness_us=LATENESS_US)
    bars = pa.concat_tables([*(online.push(c).bars for c in chunks(arrivals, 64)), online.flush()])

    assert_same_bars(bars, compute_bars_1m(ticks))
    assert bars.num_rows >= 6 and online.duplicate_ticks == 50 and online.late_ticks == 0

    model = flow_model("BTCUSDT", version="7")
    fills, _, core = replay(arrivals, {"BTCUSDT": model}, None, size=64)
    expected = backtest(ticks, {"BTCUSDT": model}, None)

    assert core.bars.late_ticks == 0
    assert len(fills) >= 2
    assert_same_fills(fills, expected["BTCUSDT"], "7")


def test_fill_differences_names_every_field_and_count_that_differs() -> None:
    ticks = binance_ticks()
    models = {"BTCUSDT": flow_model("BTCUSDT", version="7")}
    run = parity.replay(ticks, models, None, lateness_us=LATENESS_US, chunk_rows=64)
    expected = backtest(ticks, models, None)["BTCUSDT"]
    first = run.fills[0]
    repriced = [dataclasses.replace(first, price=first.price + 0.01), *run.fills[1:]]

    same = parity.fill_differences(run.fills, expected, "7")
    one_price = parity.fill_differences(repriced, expected, "7")
    one_short = parity.fill_differences(run.fills[:-1], expected, "7")
    other_version = parity.fill_differences(run.fills, expected, "8")

    assert len(run.fills) >= 2 and same == []
    assert len(one_price) == 1 and one_price[0].startswith("fill 0: price ")
    assert one_short == [f"{len(run.fills) - 1} executor fills against {len(run.fills)} in the backtest"]
    assert len(other_version) == len(run.fills) and all("model version '7'" in d for d in other_version)
