"""TickReader over an embedded store and a local or S3 (moto) archive: hot, archived, spanning, missing."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pytest

from resources.archive import DayNotArchivedError, TickArchive
from resources.archive.layout import day_start_us
from resources.tick_store import EmbeddedTickStore, TickStore
from tests.resources.archive.conftest import archive_order
from tests.trading_assets.archive.conftest import ABSENT, BOTH, COLD, HOT, select
from trading_assets.archive import TickDayMissingError, TickReader
from trading_assets.core.ticks import TICK_SCHEMA
from trading_assets.core.time import US_PER_DAY

HOUR_US = 3_600 * 1_000_000


def test_where_names_the_source_of_each_day(reader: TickReader) -> None:
    assert [reader.where(day) for day in (COLD, HOT, BOTH, ABSENT)] == ["archive", "hot", "hot", "missing"]


def test_read_day_of_a_hot_day_comes_from_the_store(
    reader: TickReader, days: dict[dt.date, pa.Table]
) -> None:
    got = reader.read_day(HOT)

    assert got.equals(archive_order(days[HOT]))


def test_read_day_of_a_dropped_day_comes_from_the_archive(
    reader: TickReader, days: dict[dt.date, pa.Table]
) -> None:
    got = reader.read_day(COLD)

    assert got.schema.equals(TICK_SCHEMA)
    assert got.equals(archive_order(days[COLD]))


def test_read_day_of_a_missing_day_raises_naming_the_day(reader: TickReader) -> None:
    with pytest.raises(TickDayMissingError, match="2024-03-05"):
        reader.read_day(ABSENT)


def test_a_day_in_both_places_is_read_from_the_store(
    reader: TickReader, archive: TickArchive, days: dict[dt.date, pa.Table]
) -> None:
    # Make the archive copy differ, so the test can tell which one was read.
    archive.write_day(BOTH, days[BOTH].slice(0, 10))

    whole_day = reader.read_day(BOTH)
    ranged = reader.read(
        symbol="BTCUSDT", start_us=day_start_us(BOTH), end_us=day_start_us(BOTH) + US_PER_DAY
    )

    assert whole_day.equals(archive_order(days[BOTH]))
    start, end = day_start_us(BOTH), day_start_us(BOTH) + US_PER_DAY
    assert ranged.equals(select(days[BOTH], symbol="BTCUSDT", start_us=start, end_us=end))


def test_read_of_a_range_within_an_archived_day_filters_symbol_venue_and_time(
    reader: TickReader, days: dict[dt.date, pa.Table]
) -> None:
    start, end = day_start_us(COLD) + 6 * HOUR_US, day_start_us(COLD) + 9 * HOUR_US

    got = reader.read(symbol="ETHUSDT", start_us=start, end_us=end, venue="sim")
    other_venue = reader.read(symbol="ETHUSDT", start_us=start, end_us=end, venue="binance")

    expected = select(days[COLD], symbol="ETHUSDT", start_us=start, end_us=end)
    assert expected.num_rows > 0
    assert got.schema.equals(TICK_SCHEMA)
    assert got.equals(expected)
    assert other_venue.num_rows == 0


def test_read_of_a_range_spanning_archive_and_store_merges_both_in_time_order(
    reader: TickReader, days: dict[dt.date, pa.Table]
) -> None:
    start, end = day_start_us(COLD) + 20 * HOUR_US, day_start_us(HOT) + 4 * HOUR_US

    got = reader.read(symbol="SOLUSDT", start_us=start, end_us=end)

    expected = select(pa.concat_tables([days[COLD], days[HOT]]), symbol="SOLUSDT", start_us=start, end_us=end)
    from_cold = select(days[COLD], symbol="SOLUSDT", start_us=start, end_us=end).num_rows
    assert 0 < from_cold < expected.num_rows
    assert got.equals(expected)


def test_read_of_a_range_over_missing_days_is_empty(reader: TickReader) -> None:
    got = reader.read(
        symbol="BTCUSDT", start_us=day_start_us(ABSENT), end_us=day_start_us(ABSENT) + US_PER_DAY
    )

    assert got.num_rows == 0
    assert got.schema.equals(TICK_SCHEMA)


def test_read_of_an_empty_range_is_empty(reader: TickReader) -> None:
    start = day_start_us(COLD) + HOUR_US

    assert reader.read(symbol="BTCUSDT", start_us=start, end_us=start).num_rows == 0


def test_rehydrate_brings_an_archived_day_back_into_the_store_once(
    reader: TickReader, store: TickStore, days: dict[dt.date, pa.Table]
) -> None:
    first = reader.rehydrate(COLD)
    second = reader.rehydrate(COLD)

    assert first == second == days[COLD].num_rows
    assert reader.where(COLD) == "hot"
    assert store.export(COLD).equals(archive_order(days[COLD]))


def test_rehydrate_of_a_day_not_archived_raises(reader: TickReader) -> None:
    with pytest.raises(DayNotArchivedError, match="2024-03-05"):
        reader.rehydrate(ABSENT)


class _DropsDuringRead(EmbeddedTickStore):
    """A store whose first read races with retention: the day is dropped just before the query runs."""

    victim: dt.date | None = None

    def read(self, *, symbol: str, start_us: int, end_us: int, venue: str | None = None) -> pa.Table:
        if self.victim is not None:
            self.drop(self.victim)
            self.victim = None
        return super().read(symbol=symbol, start_us=start_us, end_us=end_us, venue=venue)


def test_a_hot_day_dropped_mid_read_is_served_from_the_archive(
    archive: TickArchive, tmp_path: Path, days: dict[dt.date, pa.Table]
) -> None:
    store = _DropsDuringRead(tmp_path / "racing-store")
    store.insert(days[BOTH])
    store.seal(BOTH)
    archive.write_day(BOTH, store.export(BOTH))
    store.victim = BOTH
    reader = TickReader(store, archive)
    start, end = day_start_us(BOTH), day_start_us(BOTH) + US_PER_DAY

    got = reader.read(symbol="ADAUSDT", start_us=start, end_us=end)

    assert store.partitions() == []
    assert got.equals(select(days[BOTH], symbol="ADAUSDT", start_us=start, end_us=end))
    store.close()
