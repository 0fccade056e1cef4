"""One contract for every tick store: ClickHouse 18.16 (real server) and the embedded Parquet store.

The ``store`` fixture (both implementations) is in ``conftest.py``.
"""

from __future__ import annotations

import dataclasses

import pyarrow as pa
import pytest

from resources.tick_store import PartitionInfo, TickStore, TradeIdGap
from tests.resources.tick_store.helpers import DAY1, DAY2, DAY3, day_start_us, ids, keys, table, tick
from trading_assets.core.bars import BARS_SCHEMA, compute_bars_1m
from trading_assets.core.ticks import TICK_SCHEMA, Side, Tick
from trading_assets.core.time import US_PER_DAY


def test_insert_then_read_returns_exactly_the_symbol_and_time_range(store: TickStore) -> None:
    btc = [tick(i, symbol="BTCUSDT") for i in range(1, 11)]
    eth = [tick(i, symbol="ETHUSDT") for i in range(1, 11)]
    other_venue = [tick(i, symbol="BTCUSDT", venue="sim") for i in range(1, 11)]
    next_day = [tick(i, symbol="BTCUSDT", day=DAY2) for i in range(1, 4)]
    inserted = store.insert(table(btc + eth + other_venue + next_day))

    start, end = day_start_us(DAY1) + 3_000_000, day_start_us(DAY1) + 7_000_000
    got = store.read(symbol="BTCUSDT", start_us=start, end_us=end, venue="binance")
    both_venues = store.read(symbol="BTCUSDT", start_us=start, end_us=end)

    assert inserted == 33
    assert got.schema.equals(TICK_SCHEMA)
    assert ids(got) == [3, 4, 5, 6]  # start inclusive, end exclusive
    assert got.to_pylist() == table(btc[2:6]).to_pylist()
    assert sorted(keys(both_venues)) == sorted(
        [("binance", "BTCUSDT", i) for i in range(3, 7)] + [("sim", "BTCUSDT", i) for i in range(3, 7)]
    )
    assert both_venues.column("trade_time_us").to_pylist() == sorted(
        both_venues.column("trade_time_us").to_pylist()
    )


def test_read_orders_by_trade_time_not_by_insert_order_or_id(store: TickStore) -> None:
    shuffled = [tick(3, offset_s=1), tick(1, offset_s=3), tick(2, offset_s=2)]
    store.insert(table(shuffled[:1]))
    store.insert(table(shuffled[1:]))

    got = store.read(symbol="BTCUSDT", start_us=day_start_us(DAY1), end_us=day_start_us(DAY2))

    assert ids(got) == [3, 2, 1]


def test_read_spans_several_days(store: TickStore) -> None:
    store.insert(table([tick(1, day=DAY1), tick(2, day=DAY2), tick(3, day=DAY3)]))

    got = store.read(symbol="BTCUSDT", start_us=day_start_us(DAY1), end_us=day_start_us(DAY3))

    assert ids(got) == [1, 2]


def test_equal_trade_ids_on_different_days_are_different_trades(store: TickStore) -> None:
    # Seal works within a day, so dedup keys are per day; reads must agree with what seal keeps.
    store.insert(table([tick(7, day=DAY1), tick(7, day=DAY2)]))

    got = store.read(symbol="BTCUSDT", start_us=day_start_us(DAY1), end_us=day_start_us(DAY3))

    assert got.column("trade_time_us").to_pylist() == [
        day_start_us(DAY1) + 7_000_000,
        day_start_us(DAY2) + 7_000_000,
    ]
    assert (store.seal(DAY1), store.seal(DAY2)) == (1, 1)


def test_partitions_list_each_day_with_its_row_count(store: TickStore) -> None:
    store.insert(table([tick(i, day=DAY2) for i in range(1, 3)] + [tick(i, day=DAY1) for i in range(1, 4)]))

    partitions = store.partitions()

    assert partitions == [PartitionInfo(day=DAY1, rows=3), PartitionInfo(day=DAY2, rows=2)]


def test_inserting_the_same_batch_twice_leaves_one_copy_of_each_trade_after_seal(store: TickStore) -> None:
    batch = table([tick(i, symbol=s) for s in ("BTCUSDT", "ETHUSDT") for i in range(1, 101)])
    store.insert(batch)
    store.insert(batch)
    before_seal = store.partitions()

    remaining = store.seal(DAY1)

    assert before_seal == [PartitionInfo(day=DAY1, rows=400)]  # partitions count stored rows
    assert remaining == 200
    assert store.partitions() == [PartitionInfo(day=DAY1, rows=200)]
    exported = store.export(DAY1)
    assert exported.num_rows == 200
    assert sorted(keys(exported)) == sorted(keys(batch))


def test_seal_and_export_of_a_day_with_duplicates_returns_each_trade_once_and_removes_the_copies(
    store: TickStore,
) -> None:
    batch = table([tick(i, symbol=s) for s in ("BTCUSDT", "ETHUSDT") for i in range(1, 51)])
    store.insert(batch)
    store.insert(batch.slice(10, 20))

    sealed = store.seal_and_export(DAY1)

    assert sealed.to_pylist() == store.export(DAY1).to_pylist()
    assert sorted(keys(sealed)) == sorted(keys(batch))
    assert store.partitions() == [PartitionInfo(day=DAY1, rows=100)]


def test_seal_and_export_of_a_day_without_duplicates_returns_exactly_what_was_stored(
    store: TickStore,
) -> None:
    first = table([tick(i, symbol=s) for s in ("BTCUSDT", "ETHUSDT") for i in range(1, 31)])
    second = table([tick(i, symbol="BTCUSDT", venue="sim") for i in range(1, 11)])
    store.insert(first)
    store.insert(second)

    sealed = store.seal_and_export(DAY1)
    inserted_again = store.insert(table([tick(30)]))  # after the seal, a copy arrives late
    read = store.read(
        symbol="BTCUSDT", start_us=day_start_us(DAY1), end_us=day_start_us(DAY2), venue="binance"
    )

    assert (
        sealed.to_pylist()
        == pa.concat_tables([first, second])
        .sort_by([(name, "ascending") for name in ("venue", "symbol", "trade_time_us", "trade_id")])
        .to_pylist()
    )
    assert inserted_again == 1 and ids(read) == list(range(1, 31))
    assert store.seal_and_export(DAY1).to_pylist() == sealed.to_pylist()
    assert store.partitions() == [PartitionInfo(day=DAY1, rows=70)]


def test_seal_twice_changes_nothing_the_second_time(store: TickStore) -> None:
    store.insert(table([tick(i) for i in range(1, 6)] * 2))

    first, second = store.seal(DAY1), store.seal(DAY1)

    assert (first, second) == (5, 5)
    assert store.partitions() == [PartitionInfo(day=DAY1, rows=5)]


def test_read_and_export_never_return_duplicates_even_before_seal(store: TickStore) -> None:
    first = table([tick(i) for i in range(1, 21)])
    overlapping = table([tick(i) for i in range(11, 31)])
    store.insert(first)
    store.insert(overlapping)
    store.insert(table([tick(5), tick(5)]))  # a duplicate within one batch, too

    got = store.read(symbol="BTCUSDT", start_us=day_start_us(DAY1), end_us=day_start_us(DAY2))
    exported = store.export(DAY1)

    assert ids(got) == list(range(1, 31))
    assert ids(exported) == list(range(1, 31))
    assert store.partitions() == [PartitionInfo(day=DAY1, rows=42)]


def test_reinserting_after_seal_is_deduplicated_again(store: TickStore) -> None:
    batch = table([tick(i) for i in range(1, 11)])
    store.insert(batch)
    store.seal(DAY1)
    store.insert(batch)

    got = store.read(symbol="BTCUSDT", start_us=day_start_us(DAY1), end_us=day_start_us(DAY2))
    resealed = store.seal(DAY1)

    assert ids(got) == list(range(1, 11))
    assert resealed == 10


def test_trade_id_gaps_are_found_per_symbol_with_exact_ranges(store: TickStore) -> None:
    btc = [tick(i, symbol="BTCUSDT") for i in (1, 2, 3, 6, 7, 9, 10)]
    eth = [tick(i, symbol="ETHUSDT") for i in (100, 101, 103, 104, 120)]
    sim = [tick(i, symbol="BTCUSDT", venue="sim") for i in (1, 2, 3)]
    elsewhere = [tick(50, symbol="BTCUSDT", day=DAY2)]  # another day's ids do not count
    store.insert(table(btc + eth + sim + elsewhere))

    gaps = store.trade_id_gaps(DAY1)

    assert gaps == [
        TradeIdGap(venue="binance", symbol="BTCUSDT", first_missing=4, last_missing=5),
        TradeIdGap(venue="binance", symbol="BTCUSDT", first_missing=8, last_missing=8),
        TradeIdGap(venue="binance", symbol="ETHUSDT", first_missing=102, last_missing=102),
        TradeIdGap(venue="binance", symbol="ETHUSDT", first_missing=105, last_missing=119),
    ]
    assert [gap.size for gap in gaps] == [2, 1, 1, 15]


def test_no_trade_id_gaps_when_ids_are_complete_even_with_duplicates(store: TickStore) -> None:
    batch = table([tick(i, symbol=s) for s in ("BTCUSDT", "ETHUSDT") for i in range(1, 51)])
    store.insert(batch)
    store.insert(batch)

    assert store.trade_id_gaps(DAY1) == []


def finnhub_ticks() -> list[Tick]:
    """Nine trades of a venue without trade ids (content keys), one second and one dollar apart."""
    return [
        tick(None, offset_s=s, venue="finnhub", symbol="BINANCE:BTCUSDT", price=100.0 + s) for s in range(9)
    ]


def test_venues_without_trade_ids_are_ignored_by_gap_detection(store: TickStore) -> None:
    store.insert(table(finnhub_ticks()))

    assert store.trade_id_gaps(DAY1) == []


def test_ticks_without_trade_ids_deduplicate_by_content(store: TickStore) -> None:
    no_ids = table(finnhub_ticks())
    store.insert(no_ids)
    store.insert(no_ids)

    got = store.read(symbol="BINANCE:BTCUSDT", start_us=day_start_us(DAY1), end_us=day_start_us(DAY2))
    remaining = store.seal(DAY1)

    assert got.num_rows == 9
    assert all(trade_id < 0 for trade_id in ids(got))
    assert got.column("price").to_pylist() == [100.0 + s for s in range(9)]
    assert remaining == 9


def test_export_returns_the_day_as_a_tick_table_ordered_by_venue_symbol_time(store: TickStore) -> None:
    ticks = [
        tick(2, symbol="ETHUSDT", offset_s=10),
        tick(1, symbol="ETHUSDT", offset_s=20),
        tick(7, symbol="BTCUSDT", venue="sim"),
        tick(3, symbol="BTCUSDT"),
        tick(9, symbol="BTCUSDT", day=DAY2),
    ]
    store.insert(table(ticks))

    exported = store.export(DAY1)

    assert exported.schema.equals(TICK_SCHEMA)
    assert keys(exported) == [
        ("binance", "BTCUSDT", 3),
        ("binance", "ETHUSDT", 2),
        ("binance", "ETHUSDT", 1),
        ("sim", "BTCUSDT", 7),
    ]
    assert exported.to_pylist()[0] == table([ticks[3]]).to_pylist()[0]


def test_export_orders_equal_trade_times_by_trade_id_across_insert_batches(store: TickStore) -> None:
    # Several batches (several parts on ClickHouse), ids not in time order, ties in time, two venues.
    batches = [
        [tick(5, offset_s=30), tick(4, offset_s=30), tick(1, symbol="ETHUSDT", venue="sim", offset_s=2)],
        [tick(2, offset_s=40), tick(9, offset_s=10), tick(3, offset_s=30)],
        [tick(1, offset_s=50), tick(9, offset_s=10), tick(2, symbol="ETHUSDT", venue="sim", offset_s=1)],
    ]
    for batch in batches:
        store.insert(table(batch))

    exported = store.export(DAY1)

    assert keys(exported) == [
        ("binance", "BTCUSDT", 9),
        ("binance", "BTCUSDT", 3),
        ("binance", "BTCUSDT", 4),
        ("binance", "BTCUSDT", 5),
        ("binance", "BTCUSDT", 2),
        ("binance", "BTCUSDT", 1),
        ("sim", "ETHUSDT", 2),
        ("sim", "ETHUSDT", 1),
    ]
    assert exported.column("trade_time_us").to_pylist()[:4] == [
        day_start_us(DAY1) + s * 1_000_000 for s in (10, 30, 30, 30)
    ]
    assert exported.to_pylist()[0] == table([tick(9, offset_s=10)]).to_pylist()[0]


def test_drop_removes_only_that_day(store: TickStore) -> None:
    store.insert(table([tick(i, day=day) for day in (DAY1, DAY2, DAY3) for i in range(1, 4)]))

    store.drop(DAY2)

    assert store.partitions() == [PartitionInfo(day=DAY1, rows=3), PartitionInfo(day=DAY3, rows=3)]
    assert store.export(DAY2).num_rows == 0
    assert ids(store.export(DAY1)) == [1, 2, 3]
    everything = store.read(symbol="BTCUSDT", start_us=0, end_us=day_start_us(DAY3) + US_PER_DAY)
    assert everything.num_rows == 6


def test_drop_then_insert_again_stores_the_new_rows(store: TickStore) -> None:
    store.insert(table([tick(1), tick(2)]))
    store.drop(DAY1)

    store.insert(table([tick(3)]))

    assert store.partitions() == [PartitionInfo(day=DAY1, rows=1)]
    assert ids(store.export(DAY1)) == [3]


def test_an_empty_store_answers_every_call_without_error(store: TickStore) -> None:
    assert store.insert(TICK_SCHEMA.empty_table()) == 0
    assert store.partitions() == []
    empty_read = store.read(symbol="BTCUSDT", start_us=0, end_us=day_start_us(DAY3))
    assert empty_read.num_rows == 0 and empty_read.schema.equals(TICK_SCHEMA)
    empty_export = store.export(DAY1)
    assert empty_export.num_rows == 0 and empty_export.schema.equals(TICK_SCHEMA)
    assert store.trade_id_gaps(DAY1) == []
    assert store.seal(DAY1) == 0
    store.drop(DAY1)
    assert store.partitions() == []


def test_insert_rejects_a_table_missing_tick_columns(store: TickStore) -> None:
    broken = table([tick(1)]).drop_columns(["price"])

    with pytest.raises(ValueError, match="price"):
        store.insert(broken)

    assert store.partitions() == []


def _day_of_trades() -> list[Tick]:
    """Two venues' trades of BTCUSDT over three minutes of DAY1 and one of DAY2, prices and quantities
    that differ per trade, both sides, equal trade times ordered by id, and an ETHUSDT trade to leave out."""
    trades = []
    for n in range(1, 61):
        trade = tick(n, offset_s=60 + n * 2.5, price=100.0 + (n * 7 % 13) / 10, quantity=0.1 * (n % 7 + 1))
        trades.append(trade if n % 3 else dataclasses.replace(trade, side=Side.SELL))
    trades += [tick(61, offset_s=215.0, price=90.0), tick(62, offset_s=215.0, price=91.0)]
    trades += [tick(n, offset_s=65.0 + n, venue="sim", price=50.0 + n) for n in range(1, 6)]
    trades += [tick(n, day=DAY2, offset_s=10.0 + n, price=120.0 - n) for n in range(100, 104)]
    return [*trades, tick(1, symbol="ETHUSDT", offset_s=61.0, price=3000.0)]


def _assert_same_bars(got: pa.Table, expected: pa.Table) -> None:
    """Equal bars; the sums to 1e-12 relative (the stores may add in another order)."""
    assert got.schema.equals(BARS_SCHEMA)
    sums = ("volume", "quote_volume", "vwap", "buy_volume", "sell_volume")
    assert got.drop_columns(list(sums)).to_pylist() == expected.drop_columns(list(sums)).to_pylist()
    for column in sums:
        assert got.column(column).to_pylist() == pytest.approx(expected.column(column).to_pylist(), rel=1e-12)


def test_minute_bars_are_the_bars_of_the_symbols_ticks_before_and_after_seal(store: TickStore) -> None:
    trades = _day_of_trades()
    store.insert(table(trades))
    store.insert(table(trades[10:30]))  # duplicates: counted once
    start, end = day_start_us(DAY1), day_start_us(DAY3)
    expected = compute_bars_1m(table(t for t in trades if t.symbol == "BTCUSDT"))

    unsealed = store.minute_bars(symbol="BTCUSDT", start_us=start, end_us=end)
    store.seal(DAY1)
    sealed = store.minute_bars(symbol="BTCUSDT", start_us=start, end_us=end)
    window = store.minute_bars(symbol="BTCUSDT", start_us=start + 120_000_000, end_us=start + 180_000_000)

    _assert_same_bars(unsealed, expected)
    _assert_same_bars(sealed, expected)
    assert window.column("minute_us").to_pylist() == [start + 120_000_000]
    assert [(b["venue"], b["trades"]) for b in expected.to_pylist()][:5] == [
        ("binance", 23),  # the first minute: trades 1-23 (62.5 s .. 117.5 s)
        ("binance", 24),
        ("binance", 15),  # trades 48-60 and 61-62 at 215 s: the close is 62's price, the open 48's
        ("binance", 4),  # DAY2
        ("sim", 5),
    ]
    third = expected.to_pylist()[2]
    assert (third["open"], third["close"], third["low"]) == (100.0 + (48 * 7 % 13) / 10, 91.0, 90.0)


def test_minute_bars_of_a_symbol_without_ticks_are_an_empty_bar_table(store: TickStore) -> None:
    store.insert(table([tick(1)]))

    bars = store.minute_bars(symbol="SOLUSDT", start_us=day_start_us(DAY1), end_us=day_start_us(DAY2))

    assert bars.num_rows == 0 and bars.schema.equals(BARS_SCHEMA)
