import numpy as np
import pyarrow.compute as pc

from trading_assets.core.ticks import TICK_SCHEMA
from trading_assets.core.time import US_PER_DAY
from trading_assets.core.validation import validate_table
from trading_assets.market.simulation import MarketConfig, MarketSimulator, simulate_day

DAY = 19_700 * US_PER_DAY


def test_same_seed_gives_the_same_trades() -> None:
    assert simulate_day(day_start_us=DAY, ticks=1000, seed=3).equals(
        simulate_day(day_start_us=DAY, ticks=1000, seed=3)
    )


def test_simulated_day_is_valid_inside_the_day_with_consecutive_ids_per_symbol() -> None:
    table = simulate_day(day_start_us=DAY, ticks=50_000)

    assert validate_table(table).rejected == ()
    assert pc.min(table["trade_time_us"]).as_py() >= DAY
    assert pc.max(table["trade_time_us"]).as_py() < DAY + US_PER_DAY
    for symbol in MarketConfig().symbols:
        ids = table.filter(pc.equal(table["symbol"], symbol))["trade_id"].to_numpy()
        assert (np.diff(ids) == 1).all() and ids[0] == 1


def test_batches_continue_ids_prices_and_time() -> None:
    sim = MarketSimulator(config=MarketConfig(symbols=("BTCUSDT",)), start_us=DAY)

    first, second = sim.generate(100), sim.generate(100)

    assert second["trade_id"][0].as_py() == first["trade_id"][-1].as_py() + 1
    assert second["trade_time_us"][0].as_py() >= first["trade_time_us"][-1].as_py()
    assert abs(second["price"][0].as_py() / first["price"][-1].as_py() - 1) < 0.01
    assert set(pc.unique(first["side"]).to_pylist()) <= {-1, 1}


def test_small_simulated_days_never_spill_past_midnight() -> None:
    for seed in range(30):
        table = simulate_day(day_start_us=DAY, ticks=20, seed=seed)

        assert table.num_rows == 20
        assert table.schema.equals(TICK_SCHEMA)
        assert pc.max(table["trade_time_us"]).as_py() < DAY + US_PER_DAY


def test_prices_are_the_floats_of_decimal_prints_on_the_tick_grid() -> None:
    prices = simulate_day(day_start_us=DAY, ticks=20_000)["price"].to_pylist()

    assert all(float(f"{p:.8f}") == p for p in prices)
