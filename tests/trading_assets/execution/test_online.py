"""Online bars and feature windows: the same bars and feature rows as the batch code, whatever the
arrival order, with duplicates counted once and ticks later than the lateness reported, not added."""

from __future__ import annotations

import logging
import math

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from tests.trading_assets.execution.replay import LATENESS_US, Market, simulate_market
from trading_assets.core.bars import BARS_SCHEMA
from trading_assets.core.ticks import Tick, ticks_to_table
from trading_assets.core.time import US_PER_MINUTE, US_PER_SECOND
from trading_assets.execution.online import FeatureWindow, OnlineBars
from trading_assets.execution.parity import arrival_order, chunks
from trading_assets.market.bars import compute_bars_1m
from trading_assets.models.features import FEATURE_COLUMNS, WARMUP_BARS, compute_features

EXACT = ("venue", "symbol", "minute_us", "open", "high", "low", "close", "trades")
SUMS = ("volume", "quote_volume", "vwap", "buy_volume", "sell_volume")


@pytest.fixture(scope="module")
def market() -> Market:
    return simulate_market(20_000, seed=11)


def replay(
    ticks: pa.Table, *, lateness_us: int = LATENESS_US, size: int = 257
) -> tuple[pa.Table, OnlineBars]:
    online = OnlineBars(lateness_us=lateness_us)
    closed = [online.push(chunk).bars for chunk in chunks(ticks, size)]
    closed.append(online.flush())
    return pa.concat_tables(closed).sort_by(
        [("venue", "ascending"), ("symbol", "ascending"), ("minute_us", "ascending")]
    ), online


def assert_same_bars(online: pa.Table, batch: pa.Table) -> None:
    """Equal bars: exactly, except the float sums, which DuckDB's compensated fsum rounds within an ulp
    of the correctly rounded sum the online bars take (its last bit depends on the row order it sees:
    compute_bars_1m itself differs by an ulp in about 10% of bars between two orders of the same ticks)."""
    assert online.schema == BARS_SCHEMA
    assert online.num_rows == batch.num_rows
    for name in EXACT:
        assert online.column(name).to_pylist() == batch.column(name).to_pylist(), name
    for name in SUMS:
        # The VWAP divides two such sums: each within an ulp, the quotient within three.
        ulps = 3 if name == "vwap" else 1
        np.testing.assert_array_max_ulp(
            online.column(name).to_numpy(), batch.column(name).to_numpy(), maxulp=ulps
        )
    np.testing.assert_array_equal(
        online.column("vwap").to_numpy(),
        online.column("quote_volume").to_numpy() / online.column("volume").to_numpy(),
    )


def tick(trade_id: int, time_us: int, price: float = 100.0, quantity: float = 1.0) -> Tick:
    return Tick(
        venue="sim",
        symbol="BTCUSDT",
        trade_id=trade_id,
        price=price,
        quantity=quantity,
        side=1,
        trade_time_us=time_us,
        event_time_us=time_us,
        receive_time_us=time_us,
    )


@pytest.mark.parametrize(("seed", "size"), [(1, 1), (2, 97), (3, 5_000)])
def test_shuffled_arrivals_within_the_lateness_give_the_batch_bars(
    market: Market, seed: int, size: int
) -> None:
    ticks = market.warm_up_ticks.slice(0, 6_000 if size == 1 else None)
    arrivals = arrival_order(ticks, jitter_us=LATENESS_US, repeats=0, seed=seed)
    assert not np.all(np.diff(arrivals["trade_time_us"].to_numpy()) >= 0), (
        "the arrival order must be shuffled"
    )

    bars, online = replay(arrivals, size=size)

    assert_same_bars(bars, compute_bars_1m(ticks))
    assert online.late_ticks == 0 and online.duplicate_ticks == 0


def test_the_online_sums_are_correctly_rounded_so_every_arrival_order_gives_the_same_bits(
    market: Market,
) -> None:
    ticks = market.warm_up_ticks.slice(0, 20_000)
    first, _ = replay(arrival_order(ticks, jitter_us=LATENESS_US, repeats=0, seed=4))
    second, _ = replay(arrival_order(ticks, jitter_us=LATENESS_US, repeats=0, seed=5), size=1_000)

    assert first.equals(second)
    minute = ticks["trade_time_us"].to_numpy() // US_PER_MINUTE * US_PER_MINUTE
    quantity = ticks["quantity"].to_numpy()
    for row in range(0, first.num_rows, 37):
        in_bar = (minute == first["minute_us"][row].as_py()) & (
            ticks["symbol"].to_numpy(zero_copy_only=False) == first["symbol"][row].as_py()
        )
        assert first["volume"][row].as_py() == math.fsum(quantity[in_bar])


def test_ticks_delivered_twice_count_once(market: Market) -> None:
    ticks = market.warm_up_ticks.slice(0, 10_000)
    arrivals = arrival_order(ticks, jitter_us=LATENESS_US, repeats=300, seed=6)

    bars, online = replay(arrivals)

    assert_same_bars(bars, compute_bars_1m(ticks))
    assert online.duplicate_ticks == 300
    assert online.late_ticks == 0


def test_a_bar_closes_only_when_the_watermark_reaches_its_end() -> None:
    minute = 1_000 * US_PER_MINUTE
    online = OnlineBars(lateness_us=2 * US_PER_SECOND)

    first = online.push(
        ticks_to_table([tick(1, minute + 10 * US_PER_SECOND), tick(2, minute + 61 * US_PER_SECOND)])
    )
    # Watermark minute + 59 s: a tick of the first minute may still come.
    late_but_allowed = online.push(ticks_to_table([tick(3, minute + 59_500_000, price=99.0)]))
    closing = online.push(ticks_to_table([tick(4, minute + 62 * US_PER_SECOND)]))

    assert first.bars.num_rows == 0 and late_but_allowed.bars.num_rows == 0
    assert closing.bars.column("minute_us").to_pylist() == [minute]
    assert closing.bars.column("trades").to_pylist() == [2]
    assert closing.bars.column("close").to_pylist() == [99.0]
    assert closing.watermarks == {("sim", "BTCUSDT"): minute + 60 * US_PER_SECOND}


def test_a_tick_beyond_the_lateness_is_reported_and_its_closed_bar_stays_as_closed(
    caplog: pytest.LogCaptureFixture,
) -> None:
    minute = 1_000 * US_PER_MINUTE
    online = OnlineBars(lateness_us=2 * US_PER_SECOND)
    closed = online.push(
        ticks_to_table([tick(1, minute + 5 * US_PER_SECOND), tick(2, minute + 63 * US_PER_SECOND)])
    )

    with caplog.at_level(logging.WARNING, logger="trading_assets.execution.online"):
        late = online.push(ticks_to_table([tick(3, minute + 30 * US_PER_SECOND, price=50.0)]))
    rest = online.flush()

    assert closed.bars.column("trades").to_pylist() == [1]
    assert late.late == 1 and late.bars.num_rows == 0 and late.trades[0].trade_id.tolist() == []
    assert online.late_ticks == 1
    assert "arrived after their minute closed" in caplog.text
    assert rest.column("minute_us").to_pylist() == [minute + US_PER_MINUTE]
    assert 50.0 not in rest.column("low").to_pylist()


def test_each_symbol_has_its_own_watermark(market: Market) -> None:
    ticks = market.warm_up_ticks.slice(0, 4_000)
    btc = ticks.filter(pc.equal(ticks["symbol"], "BTCUSDT"))
    ada = ticks.filter(pc.equal(ticks["symbol"], "ADAUSDT"))
    # All of one symbol first, then all of the other: per-symbol watermarks accept the second symbol.
    bars, online = replay(pa.concat_tables([btc, ada]), size=500)

    assert online.late_ticks == 0
    assert_same_bars(bars, compute_bars_1m(ticks))


def test_the_feature_window_gives_the_full_history_row_of_every_bar(market: Market) -> None:
    bars = market.warm_up_bars
    full = compute_features(bars)
    window = FeatureWindow()
    checked = 0

    for row in range(bars.num_rows):
        window.add(bars.slice(row, 1))
        venue, symbol, minute_us = (bars[name][row].as_py() for name in ("venue", "symbol", "minute_us"))
        latest = window.latest(venue, symbol)
        assert latest is not None and latest[0] == minute_us
        expected = full.filter(
            pc.and_(pc.equal(full["symbol"], symbol), pc.equal(full["minute_us"], minute_us))
        ).select(list(FEATURE_COLUMNS))
        np.testing.assert_array_equal(latest[1], np.array([c[0].as_py() for c in expected.columns]))
        assert window.bars(venue, symbol).num_rows == min(WARMUP_BARS, window.bars(venue, symbol).num_rows)
        checked += 1 if not np.isnan(latest[1]).any() else 0

    assert checked > bars.num_rows // 2
    assert all(window.bars("sim", s).num_rows == WARMUP_BARS for s in ("BTCUSDT", "ADAUSDT"))


def test_the_feature_window_refuses_a_bar_out_of_order(market: Market) -> None:
    window = FeatureWindow()
    window.add(market.warm_up_bars.slice(10, 1))

    with pytest.raises(ValueError, match="not after the last kept"):
        window.add(market.warm_up_bars.slice(0, 1))


def test_after_a_flush_a_tick_of_a_flushed_minute_is_late_not_a_second_bar() -> None:
    minute = 1_000 * US_PER_MINUTE
    online = OnlineBars(lateness_us=2 * US_PER_SECOND)
    online.push(ticks_to_table([tick(1, minute + 5 * US_PER_SECOND)]))

    flushed = online.flush()
    again = online.push(ticks_to_table([tick(2, minute + 50 * US_PER_SECOND)]))

    assert flushed.column("minute_us").to_pylist() == [minute]
    assert again.late == 1 and online.flush().num_rows == 0
