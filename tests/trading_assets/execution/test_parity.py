"""Parity: the executor replaying a recorded day of ticks, out of order and with repeats, makes the
backtest's fills (time, side, quantity, price, fee, model version) with the same model and costs; a tick
later than the lateness is reported and makes the two differ only from its bar on; and trades in
data.binance.vision's file format (tests/data: a seeded sample shaped like the 2020-03-12 file, not a
download of it) replay to the batch bars and to the backtest's fills."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pytest

from tests.trading_assets.execution.replay import (
    LATENESS_US,
    SYMBOLS,
    Market,
    arrival_order,
    chunks,
    simulate_market,
    spec_for,
    train,
)
from tests.trading_assets.execution.test_online import assert_same_bars
from trading_assets.backtest.engine import Fills, run_backtest
from trading_assets.core.time import US_PER_MINUTE, US_PER_SECOND
from trading_assets.execution.core import ExecutionCore, LoadedModel
from trading_assets.execution.online import OnlineBars
from trading_assets.market.bars import compute_bars_1m
from trading_assets.models.features import FEATURE_COLUMNS, compute_features
from trading_assets.models.training import predict
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
    core = ExecutionCore(lateness_us=LATENESS_US)
    if warm_up is not None:
        core.warm_up(warm_up)
    for symbol, model in models.items():
        core.set_model(symbol, model)
    fills: list[Fill] = []
    bars: list[pa.Table] = []
    for chunk in [*chunks(arrivals, size), None]:
        step = core.finish() if chunk is None else core.on_ticks(chunk)
        fills.extend(step.fills)
        bars.append(step.bars)
    return fills, bars, core


def backtest(ticks: pa.Table, models: dict[str, LoadedModel], warm_up: pa.Table | None) -> dict[str, Fills]:
    """The batch path: bars of all the ticks, features on the full history, the model's signals, run_backtest."""
    bars = compute_bars_1m(ticks)
    history = bars if warm_up is None else pa.concat_tables([warm_up, bars])
    features = compute_features(history)
    out = {}
    for symbol, loaded in models.items():
        rows = features.filter(
            pc.and_(
                pc.equal(features["symbol"], symbol),
                pc.greater_equal(features["minute_us"], bars["minute_us"][0]),
            )
        )
        signal = loaded.spec.policy.signals(
            predict(loaded.model, rows.select(list(FEATURE_COLUMNS)).to_pandas())
        )
        out[symbol] = run_backtest(
            rows["minute_us"].to_numpy(),
            rows["open"].to_numpy(),
            rows["close"].to_numpy(),
            signal,
            costs=loaded.spec.costs,
            capital=loaded.spec.capital,
            allow_short=loaded.spec.policy.allow_short,
        ).fills
    return out


def first_copies(arrivals: pa.Table) -> pa.Table:
    """Each (symbol, trade_id) once: the tick set the backtest reads from the store."""
    frame = arrivals.select(["symbol", "trade_id"]).to_pandas()
    return arrivals.take(pa.array(np.flatnonzero(~frame.duplicated().to_numpy())))


def assert_same_fills(executor: list[Fill], expected: Fills, version: str) -> None:
    """Bit for bit: the backtest's fill time is the bar's start, the executor's the trade that opened it."""
    assert len(executor) == len(expected)
    assert [f.time_us - f.time_us % US_PER_MINUTE for f in executor] == expected.time_us.tolist()
    assert [f.side for f in executor] == expected.side.tolist()
    assert [f.quantity for f in executor] == expected.quantity.tolist()
    assert [f.reference_price for f in executor] == expected.reference_price.tolist()
    assert [f.price for f in executor] == expected.price.tolist()
    assert [f.fee for f in executor] == expected.fee.tolist()
    assert {f.model_version for f in executor} <= {version}


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
    raw = pacsv.read_csv(
        CSV, read_options=pacsv.ReadOptions(column_names=["id", "p", "q", "qq", "t", "m", "b"])
    )
    time_us = pc.multiply(raw["t"], 1_000)
    side = pc.if_else(raw["m"], pa.scalar(-1, pa.int8()), pa.scalar(1, pa.int8()))
    n = raw.num_rows
    return pa.table(
        {
            "venue": pa.array(["binance"] * n),
            "symbol": pa.array(["BTCUSDT"] * n),
            "trade_id": raw["id"],
            "price": raw["p"],
            "quantity": raw["q"],
            "side": side,
            "trade_time_us": time_us,
            "event_time_us": time_us,
            "receive_time_us": time_us,
        }
    )


class FlowModel:
    """A rule 'model' with ``predict_proba``: long on buying pressure in the bar, short on selling."""

    def predict_proba(self, x: Any) -> np.ndarray:
        ofi = np.asarray(x, dtype=np.float64)[:, list(FEATURE_COLUMNS).index("ofi_1")]
        p = 0.5 + 0.5 * np.tanh(2.0 * ofi)
        return np.column_stack((1.0 - p, p))


def test_binance_format_trades_replay_to_the_batch_bars_and_the_backtests_fills() -> None:
    ticks = binance_ticks()
    arrivals = arrival_order(ticks, jitter_us=LATENESS_US, repeats=50, seed=9)
    online = OnlineBars(lateness_us=LATENESS_US)
    bars = pa.concat_tables([*(online.push(c).bars for c in chunks(arrivals, 64)), online.flush()])

    assert_same_bars(bars, compute_bars_1m(ticks))
    assert bars.num_rows >= 6 and online.duplicate_ticks == 50 and online.late_ticks == 0

    model = LoadedModel(name="flow", version="7", run_id="r", spec=spec_for("BTCUSDT"), model=FlowModel())
    fills, _, core = replay(arrivals, {"BTCUSDT": model}, None, size=64)
    expected = backtest(ticks, {"BTCUSDT": model}, None)

    assert core.bars.late_ticks == 0
    assert len(fills) >= 2
    assert_same_fills(fills, expected["BTCUSDT"], "7")
