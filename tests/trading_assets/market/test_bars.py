"""One-minute bars: exact values on hand-built ticks, tie-breaking, agreement with a plain-Python
computation on a simulated day, and the chart."""

from __future__ import annotations

import random
import struct
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from trading_assets.core.bars import BARS_SCHEMA
from trading_assets.core.ticks import Side, Tick, ticks_to_table
from trading_assets.core.time import US_PER_DAY, US_PER_MINUTE, US_PER_SECOND
from trading_assets.market.bars import bars_chart_png, compute_bars_1m
from trading_assets.market.simulation import simulate_day

DAY_US = 19_783 * US_PER_DAY  # 2024-03-01 00:00 UTC
M0 = DAY_US
M1 = DAY_US + US_PER_MINUTE


def trade(
    trade_id: int,
    at_us: int,
    price: float,
    quantity: float,
    side: Side,
    *,
    symbol: str = "BTCUSDT",
    venue: str = "binance",
) -> Tick:
    return Tick(
        venue=venue,
        symbol=symbol,
        trade_id=trade_id,
        price=price,
        quantity=quantity,
        side=side,
        trade_time_us=at_us,
        event_time_us=at_us,
        receive_time_us=at_us,
    )


# BTCUSDT trades twice at M0 + 5 s (ids 10 and 11) and twice in the minute's last microsecond (13, 14):
# open and close are decided by trade id. ETHUSDT trades in the second minute only.
HAND_BUILT = [
    trade(11, M0 + 5 * US_PER_SECOND, 100.0, 1.0, Side.BUY),
    trade(10, M0 + 5 * US_PER_SECOND, 101.0, 2.0, Side.SELL),
    trade(12, M0 + 30 * US_PER_SECOND, 99.0, 1.0, Side.BUY),
    trade(14, M1 - 1, 102.0, 0.5, Side.UNKNOWN),
    trade(13, M1 - 1, 98.0, 0.5, Side.SELL),
    trade(15, M1, 103.0, 0.25, Side.BUY),
    trade(8, M1 + 2 * US_PER_SECOND, 12.0, 1.0, Side.BUY, symbol="ETHUSDT"),
    trade(7, M1 + 1 * US_PER_SECOND, 10.0, 3.0, Side.SELL, symbol="ETHUSDT"),
]

EXPECTED_HAND_BUILT = [
    {
        "venue": "binance",
        "symbol": "BTCUSDT",
        "minute_us": M0,
        "open": 101.0,  # id 10 precedes id 11 at the same time
        "high": 102.0,
        "low": 98.0,
        "close": 102.0,  # id 14 follows id 13 at the same time
        "volume": 5.0,
        "quote_volume": 501.0,  # 100 + 202 + 99 + 51 + 49
        "vwap": 501.0 / 5.0,
        "trades": 5,
        "buy_volume": 2.0,
        "sell_volume": 2.5,  # the unknown-side trade (id 14) counts in neither
    },
    {
        "venue": "binance",
        "symbol": "BTCUSDT",
        "minute_us": M1,  # a trade at the minute's first microsecond belongs to it
        "open": 103.0,
        "high": 103.0,
        "low": 103.0,
        "close": 103.0,
        "volume": 0.25,
        "quote_volume": 25.75,
        "vwap": 103.0,
        "trades": 1,
        "buy_volume": 0.25,
        "sell_volume": 0.0,
    },
    {
        "venue": "binance",
        "symbol": "ETHUSDT",
        "minute_us": M1,
        "open": 10.0,
        "high": 12.0,
        "low": 10.0,
        "close": 12.0,
        "volume": 4.0,
        "quote_volume": 42.0,
        "vwap": 10.5,
        "trades": 2,
        "buy_volume": 1.0,
        "sell_volume": 3.0,
    },
]


def reference_bars(ticks: pa.Table) -> list[dict[str, Any]]:
    """Bars by a plain loop over rows, written independently of compute_bars_1m."""
    bars: dict[tuple[str, str, int], dict[str, Any]] = {}
    firsts: dict[tuple[str, str, int], tuple[int, int]] = {}
    lasts: dict[tuple[str, str, int], tuple[int, int]] = {}
    for row in ticks.to_pylist():
        minute = row["trade_time_us"] // US_PER_MINUTE * US_PER_MINUTE
        key = (row["venue"], row["symbol"], minute)
        order = (row["trade_time_us"], row["trade_id"])
        price, quantity = row["price"], row["quantity"]
        bar = bars.get(key)
        if bar is None:
            bar = bars[key] = {
                "venue": key[0],
                "symbol": key[1],
                "minute_us": minute,
                "open": price,
                "high": price,
                "low": price,
                "close": price,
                "volume": 0.0,
                "quote_volume": 0.0,
                "trades": 0,
                "buy_volume": 0.0,
                "sell_volume": 0.0,
            }
            firsts[key] = lasts[key] = order
        if order < firsts[key]:
            firsts[key], bar["open"] = order, price
        if order > lasts[key]:
            lasts[key], bar["close"] = order, price
        bar["high"] = max(bar["high"], price)
        bar["low"] = min(bar["low"], price)
        bar["volume"] += quantity
        bar["quote_volume"] += price * quantity
        bar["trades"] += 1
        if row["side"] == 1:
            bar["buy_volume"] += quantity
        elif row["side"] == -1:
            bar["sell_volume"] += quantity
    for bar in bars.values():
        bar["vwap"] = bar["quote_volume"] / bar["volume"]
    return [bars[key] for key in sorted(bars)]


def png_size(png: bytes) -> tuple[int, int]:
    """(width, height) from a PNG's IHDR chunk."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert png[12:16] == b"IHDR"
    return struct.unpack(">II", png[16:24])


def shuffled(ticks: Iterable[Tick], seed: int) -> list[Tick]:
    rows = list(ticks)
    random.Random(seed).shuffle(rows)
    return rows


def test_hand_built_ticks_give_exact_ohlcv_vwap_trades_and_buy_sell_volume() -> None:
    ticks = ticks_to_table(HAND_BUILT)

    bars = compute_bars_1m(ticks)

    assert bars.schema.equals(BARS_SCHEMA)
    assert bars.to_pylist() == EXPECTED_HAND_BUILT


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_row_order_does_not_change_the_bars_and_ties_are_broken_by_trade_id(seed: int) -> None:
    ticks = ticks_to_table(shuffled(HAND_BUILT, seed))

    bars = compute_bars_1m(ticks)

    assert bars.to_pylist() == EXPECTED_HAND_BUILT


def test_minutes_without_trades_have_no_bar_and_bars_sort_by_venue_symbol_minute() -> None:
    ticks = ticks_to_table(
        [
            trade(3, M0 + 10 * US_PER_MINUTE, 5.0, 1.0, Side.BUY, venue="sim"),
            trade(2, M0 + 10 * US_PER_MINUTE, 5.0, 1.0, Side.BUY, symbol="ADAUSDT"),
            trade(1, M0, 5.0, 1.0, Side.BUY, venue="sim"),
        ]
    )

    bars = compute_bars_1m(ticks)

    assert [(b["venue"], b["symbol"], b["minute_us"]) for b in bars.to_pylist()] == [
        ("binance", "ADAUSDT", M0 + 10 * US_PER_MINUTE),
        ("sim", "BTCUSDT", M0),
        ("sim", "BTCUSDT", M0 + 10 * US_PER_MINUTE),
    ]


def test_content_keyed_ticks_of_venues_without_ids_form_bars_too() -> None:
    no_ids = [
        Tick(
            venue="finnhub",
            symbol="BINANCE:BTCUSDT",
            trade_id=None,
            price=100.0 + n,
            quantity=1.0,
            side=Side.UNKNOWN,
            trade_time_us=M0 + n * US_PER_SECOND,
            event_time_us=M0,
            receive_time_us=M0,
        )
        for n in range(3)
    ]

    bars = compute_bars_1m(ticks_to_table(no_ids)).to_pylist()

    assert [(b["open"], b["close"], b["trades"], b["buy_volume"], b["sell_volume"]) for b in bars] == [
        (100.0, 102.0, 3, 0.0, 0.0)
    ]


def test_a_simulated_day_agrees_with_a_plain_python_computation() -> None:
    ticks = simulate_day(day_start_us=DAY_US, ticks=30_000, symbols=("BTCUSDT", "ETHUSDT", "ADAUSDT"))
    expected = reference_bars(ticks)

    got = compute_bars_1m(ticks).to_pylist()

    exact = ["venue", "symbol", "minute_us", "open", "high", "low", "close", "trades"]
    assert [[bar[name] for name in exact] for bar in got] == [
        [bar[name] for name in exact] for bar in expected
    ]
    for name in ("volume", "quote_volume", "vwap", "buy_volume", "sell_volume"):
        # Sums of the same numbers in another order: equal to within rounding.
        assert [bar[name] for bar in got] == pytest.approx(
            [bar[name] for bar in expected], rel=1e-12, abs=1e-12
        )
    assert len(got) > 1_000


def test_no_ticks_give_an_empty_bar_table() -> None:
    bars = compute_bars_1m(ticks_to_table([]))

    assert bars.num_rows == 0
    assert bars.schema.equals(BARS_SCHEMA)


def test_chart_is_a_900_by_500_png_for_a_day_of_bars() -> None:
    ticks = simulate_day(day_start_us=DAY_US, ticks=20_000, symbols=("BTCUSDT", "ADAUSDT"))

    png = bars_chart_png(compute_bars_1m(ticks), title="sim 2024-03-01")

    assert png_size(png) == (900, 500)
    assert len(png) < 400_000


@pytest.mark.parametrize("bars", [BARS_SCHEMA.empty_table(), compute_bars_1m(ticks_to_table(HAND_BUILT))])
def test_chart_draws_empty_and_tiny_bar_tables(bars: pa.Table) -> None:
    png = bars_chart_png(bars, title="edge case")

    assert png_size(png) == (900, 500)


def test_importing_bars_loads_no_matplotlib() -> None:
    code = "import sys, trading_assets.market.bars; print('matplotlib' in sys.modules)"

    repo = Path(__file__).resolve().parents[3]

    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=repo
    )

    assert result.stdout.strip() == "False"
