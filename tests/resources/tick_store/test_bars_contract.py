"""The bars contract of every tick store (``store`` fixture: ClickHouse 18.16 and embedded): a day's bars
are replaced, never appended; read by symbol and minute range; listed by day; dropped by day."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

from resources.tick_store import PartitionInfo, TickStore
from tests.resources.tick_store.helpers import DAY1, DAY2, DAY3, day_start_us, table, tick
from trading_assets.core.bars import BARS_SCHEMA
from trading_assets.market.bars import compute_bars_1m

MINUTE_US = 60_000_000


def day_bars(day: dt.date, *, price: float = 100.0, minutes: int = 3) -> pa.Table:
    """Bars of ``day``: BTCUSDT and ETHUSDT on binance and BTCUSDT on sim, two trades a minute."""
    ticks = [
        tick(
            1_000 * m + n,
            day=day,
            offset_s=60 * m + 10 * n,
            symbol=symbol,
            venue=venue,
            price=price + m + n / 10,
            quantity=0.25 * (n + 1),
        )
        for venue, symbol in (("binance", "BTCUSDT"), ("binance", "ETHUSDT"), ("sim", "BTCUSDT"))
        for m in range(minutes)
        for n in range(2)
    ]
    return compute_bars_1m(table(ticks))


def rows_of(bars: pa.Table, *, symbol: str, venue: str | None = None) -> list[dict[str, object]]:
    """Rows of ``symbol`` (and ``venue``) ordered by (minute_us, venue), as read_bars returns them."""
    rows = [
        row
        for row in bars.to_pylist()
        if row["symbol"] == symbol and (venue is None or row["venue"] == venue)
    ]
    return sorted(rows, key=lambda row: (row["minute_us"], row["venue"]))


def test_write_then_read_returns_exactly_the_bars_of_the_symbol_venue_and_minutes(store: TickStore) -> None:
    bars = day_bars(DAY1, minutes=5)
    start = day_start_us(DAY1) + MINUTE_US
    end = day_start_us(DAY1) + 4 * MINUTE_US

    written = store.write_bars(DAY1, bars)
    one_venue = store.read_bars(symbol="BTCUSDT", start_us=start, end_us=end, venue="binance")
    all_venues = store.read_bars(symbol="BTCUSDT", start_us=start, end_us=end)

    assert written == 15
    assert one_venue.schema.equals(BARS_SCHEMA)
    assert [row["minute_us"] for row in one_venue.to_pylist()] == [
        start,
        start + MINUTE_US,
        start + 2 * MINUTE_US,
    ]
    in_range = pa.Table.from_pylist(
        [row for row in bars.to_pylist() if start <= row["minute_us"] < end], schema=BARS_SCHEMA
    )
    assert one_venue.to_pylist() == rows_of(in_range, symbol="BTCUSDT", venue="binance")
    assert all_venues.to_pylist() == rows_of(in_range, symbol="BTCUSDT")
    assert [row["venue"] for row in all_venues.to_pylist()] == ["binance", "sim"] * 3


def test_writing_a_day_again_replaces_its_bars_instead_of_appending(store: TickStore) -> None:
    store.write_bars(DAY1, day_bars(DAY1, price=100.0, minutes=3))
    replacement = day_bars(DAY1, price=200.0, minutes=2)

    store.write_bars(DAY1, replacement)
    store.write_bars(DAY1, replacement)  # a re-run of the same day
    got = store.read_bars(symbol="ETHUSDT", start_us=day_start_us(DAY1), end_us=day_start_us(DAY2))

    assert store.bars_days() == [PartitionInfo(day=DAY1, rows=6)]
    assert got.to_pylist() == rows_of(replacement, symbol="ETHUSDT")
    assert [row["open"] for row in got.to_pylist()] == [200.0, 201.0]


def test_bars_days_lists_each_day_with_its_bar_count_oldest_first(store: TickStore) -> None:
    store.write_bars(DAY3, day_bars(DAY3, minutes=1))
    store.write_bars(DAY1, day_bars(DAY1, minutes=2))

    days = store.bars_days()

    assert days == [PartitionInfo(day=DAY1, rows=6), PartitionInfo(day=DAY3, rows=3)]


def test_read_bars_spans_days_in_minute_order(store: TickStore) -> None:
    store.write_bars(DAY2, day_bars(DAY2, minutes=2))
    store.write_bars(DAY1, day_bars(DAY1, minutes=2))

    got = store.read_bars(symbol="BTCUSDT", venue="sim", start_us=0, end_us=day_start_us(DAY3))

    assert [row["minute_us"] for row in got.to_pylist()] == [
        day_start_us(DAY1),
        day_start_us(DAY1) + MINUTE_US,
        day_start_us(DAY2),
        day_start_us(DAY2) + MINUTE_US,
    ]


def test_drop_bars_removes_only_that_day_and_is_quiet_when_absent(store: TickStore) -> None:
    for day in (DAY1, DAY2):
        store.write_bars(day, day_bars(day, minutes=1))

    store.drop_bars(DAY1)
    store.drop_bars(DAY3)  # never written: no error

    assert store.bars_days() == [PartitionInfo(day=DAY2, rows=3)]
    assert (
        store.read_bars(symbol="BTCUSDT", start_us=day_start_us(DAY1), end_us=day_start_us(DAY2)).num_rows
        == 0
    )


def test_writing_empty_bars_leaves_the_day_without_bars(store: TickStore) -> None:
    store.write_bars(DAY1, day_bars(DAY1))

    written = store.write_bars(DAY1, BARS_SCHEMA.empty_table())

    assert written == 0
    assert store.bars_days() == []


def test_bars_outside_the_day_are_refused_and_the_stored_day_is_kept(store: TickStore) -> None:
    store.write_bars(DAY1, day_bars(DAY1, minutes=1))
    spilling = pa.concat_tables([day_bars(DAY1, minutes=1), day_bars(DAY2, minutes=1)])

    with pytest.raises(ValueError, match="outside that UTC day"):
        store.write_bars(DAY1, spilling)

    assert store.bars_days() == [PartitionInfo(day=DAY1, rows=3)]


def test_bars_and_ticks_are_kept_apart(store: TickStore) -> None:
    store.insert(table([tick(1), tick(2)]))
    store.write_bars(DAY1, day_bars(DAY1, minutes=1))

    store.drop(DAY1)
    bars_after_tick_drop = store.bars_days()
    store.insert(table([tick(3)]))
    store.drop_bars(DAY1)

    assert bars_after_tick_drop == [PartitionInfo(day=DAY1, rows=3)]
    assert store.partitions() == [PartitionInfo(day=DAY1, rows=1)]
    assert store.bars_days() == []


def test_an_empty_store_answers_every_bars_call(store: TickStore) -> None:
    got = store.read_bars(symbol="BTCUSDT", start_us=0, end_us=day_start_us(DAY3))

    assert got.num_rows == 0 and got.schema.equals(BARS_SCHEMA)
    assert store.bars_days() == []
    store.drop_bars(DAY1)


def test_write_bars_rejects_a_table_missing_bar_columns(store: TickStore) -> None:
    with pytest.raises(ValueError, match="vwap"):
        store.write_bars(DAY1, day_bars(DAY1).drop_columns(["vwap"]))

    assert store.bars_days() == []
