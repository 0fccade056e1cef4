"""The bar table on every table store (``store`` fixture: ClickHouse 18.16 and embedded): a day's bars are
replaced, never appended; read by symbol, venue and minute range; listed by day; dropped by day."""

from __future__ import annotations

import pyarrow as pa
import pytest

from resources.table_store import PartitionDayError, TablePartition, TableSchemaError, TableStore
from tests.resources.table_store.helpers import DAY1, DAY2, DAY3, day_bars
from trading_assets.core.bars import BARS_SCHEMA
from trading_assets.core.time import day_start_us
from trading_assets.market.bars import BARS_TABLE

MINUTE_US = 60_000_000


def rows_of(bars: pa.Table, *, symbol: str, venue: str | None = None) -> list[dict[str, object]]:
    """Rows of ``symbol`` (and ``venue``) in the bar table's key order (venue, symbol, minute_us)."""
    rows = [
        row
        for row in bars.to_pylist()
        if row["symbol"] == symbol and (venue is None or row["venue"] == venue)
    ]
    return sorted(rows, key=lambda row: (row["venue"], row["symbol"], row["minute_us"]))


def read_bars(store: TableStore, start_us: int, end_us: int, **filters: str) -> pa.Table:
    return store.read(BARS_TABLE, start_us=start_us, end_us=end_us, filters=filters)


def test_a_day_of_bars_reads_back_equal_to_the_computed_table(store: TableStore) -> None:
    bars = day_bars(DAY1, minutes=5)

    written = store.write_partition(BARS_TABLE, DAY1, bars)
    got = read_bars(store, day_start_us(DAY1), day_start_us(DAY2))

    assert written == 15
    assert got.equals(bars)


def test_bars_of_a_symbol_venue_and_minutes_read_back_exactly(store: TableStore) -> None:
    bars = day_bars(DAY1, minutes=5)
    start = day_start_us(DAY1) + MINUTE_US
    end = day_start_us(DAY1) + 4 * MINUTE_US
    store.write_partition(BARS_TABLE, DAY1, bars)

    one_venue = read_bars(store, start, end, symbol="BTCUSDT", venue="binance")
    all_venues = read_bars(store, start, end, symbol="BTCUSDT")

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
    assert [row["venue"] for row in all_venues.to_pylist()] == ["binance"] * 3 + ["sim"] * 3


def test_writing_a_day_again_replaces_its_bars_instead_of_appending(store: TableStore) -> None:
    store.write_partition(BARS_TABLE, DAY1, day_bars(DAY1, price=100.0, minutes=3))
    replacement = day_bars(DAY1, price=200.0, minutes=2)

    store.write_partition(BARS_TABLE, DAY1, replacement)
    store.write_partition(BARS_TABLE, DAY1, replacement)  # a re-run of the same day
    got = read_bars(store, day_start_us(DAY1), day_start_us(DAY2), symbol="ETHUSDT")

    assert store.days(BARS_TABLE) == [TablePartition(day=DAY1, rows=6)]
    assert got.to_pylist() == rows_of(replacement, symbol="ETHUSDT")
    assert [row["open"] for row in got.to_pylist()] == [200.0, 201.0]


def test_bars_of_several_days_are_listed_read_in_order_and_dropped_by_day(store: TableStore) -> None:
    store.write_partition(BARS_TABLE, DAY2, day_bars(DAY2, minutes=2))
    store.write_partition(BARS_TABLE, DAY1, day_bars(DAY1, minutes=2))

    listed = store.days(BARS_TABLE)
    got = read_bars(store, 0, day_start_us(DAY3), symbol="BTCUSDT", venue="sim")
    store.drop_partition(BARS_TABLE, DAY1)

    assert listed == [TablePartition(day=DAY1, rows=6), TablePartition(day=DAY2, rows=6)]
    assert [row["minute_us"] for row in got.to_pylist()] == [
        day_start_us(DAY1),
        day_start_us(DAY1) + MINUTE_US,
        day_start_us(DAY2),
        day_start_us(DAY2) + MINUTE_US,
    ]
    assert store.days(BARS_TABLE) == [TablePartition(day=DAY2, rows=6)]


def test_bars_outside_the_day_or_missing_columns_are_refused_and_the_stored_day_is_kept(
    store: TableStore,
) -> None:
    store.write_partition(BARS_TABLE, DAY1, day_bars(DAY1, minutes=1))
    spilling = pa.concat_tables([day_bars(DAY1, minutes=1), day_bars(DAY2, minutes=1)])

    with pytest.raises(PartitionDayError, match="table bars_1m: rows for the partition of 2024-03-01"):
        store.write_partition(BARS_TABLE, DAY1, spilling)
    with pytest.raises(TableSchemaError, match="vwap"):
        store.write_partition(BARS_TABLE, DAY1, day_bars(DAY1).drop_columns(["vwap"]))

    assert store.days(BARS_TABLE) == [TablePartition(day=DAY1, rows=3)]
