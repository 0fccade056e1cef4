"""One contract for every tick archive: the local folder and S3 (a real moto server, a fresh bucket each)."""

from __future__ import annotations

import hashlib
import io

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from resources.archive import ArchiveVerificationError, DayNotArchivedError, TickArchive
from resources.archive.layout import FORMAT, FORMAT_KEY, WriterSettings, day_start_us
from tests.resources.archive.conftest import (
    DAY1,
    DAY2,
    DAY3,
    archive_order,
    overwrite,
    sim_day,
    stored_bytes,
    stored_names,
)
from trading_assets.core.ticks import TICK_SCHEMA
from trading_assets.core.time import US_PER_DAY


def test_write_then_read_day_returns_exactly_the_ticks_in_archive_order(archive: TickArchive) -> None:
    ticks = sim_day(DAY1, 5_000)

    record = archive.write_day(DAY1, ticks)
    got = archive.read_day(DAY1)

    assert got.schema.equals(TICK_SCHEMA)
    assert got.equals(archive_order(ticks))
    assert record.day == DAY1 and record.rows == ticks.num_rows > 0
    assert record.uri == archive.parquet_uri(DAY1)


def test_round_trip_is_exact_for_values_outside_the_compact_columns(archive: TickArchive) -> None:
    start = day_start_us(DAY1)
    odd = pa.table(
        {
            "venue": ["binance", "binance", "finnhub", "finnhub", "sim"],
            "symbol": ["BTCUSDT", "BTCUSDT", "BINANCE:BTCUSDT", "BINANCE:BTCUSDT", "ETHUSDT"],
            "trade_id": [1, 2, -123456789, -5, 7],
            "price": [65_000.01, 0.1 + 0.2, 1e-12, 3.0, 2.5],
            # 8 decimals (compact), float noise, below 1e-8, above 2**53 units, a third.
            "quantity": [0.00123, 0.1 + 0.2, 1e-9, 123_456_789.123, 1 / 3],
            "side": [1, -1, 0, 1, -1],
            "trade_time_us": [start, start + 1, start + 2, US_PER_DAY + start - 1, start + 3],
            # Event before trade, receive far after: lags of either sign must survive.
            "event_time_us": [start - 5, start + 1, start + 2, start, start + 3],
            "receive_time_us": [start + 10**12, start + 1, start + 2, start, start + 3],
        },
        schema=TICK_SCHEMA,
    )

    archive.write_day(DAY1, odd)
    got = archive.read_day(DAY1)

    assert got.equals(archive_order(odd))
    assert got.column("quantity").to_pylist() == archive_order(odd).column("quantity").to_pylist()


def test_days_lists_each_day_with_rows_bytes_and_sha256_of_the_stored_file(archive: TickArchive) -> None:
    day2, day1 = sim_day(DAY2, 2_000, seed=2), sim_day(DAY1, 1_000, seed=1)
    archive.write_day(DAY2, day2)
    archive.write_day(DAY1, day1)

    days = archive.days()

    assert [record.day for record in days] == [DAY1, DAY2]
    assert archive.list_days() == [DAY1, DAY2]
    assert [record.rows for record in days] == [day1.num_rows, day2.num_rows]
    for record in days:
        data = stored_bytes(archive, record.day)
        assert record.bytes == len(data)
        assert record.sha256 == hashlib.sha256(data).hexdigest()
        assert record.written_at_us > 0
        assert archive.info(record.day) == record


def test_info_of_a_day_never_written_is_none(archive: TickArchive) -> None:
    archive.write_day(DAY1, sim_day(DAY1, 100))

    assert archive.info(DAY3) is None


def test_reading_a_missing_day_raises_an_error_naming_the_day_and_location(archive: TickArchive) -> None:
    with pytest.raises(DayNotArchivedError) as raised:
        archive.read_day(DAY3)

    assert "2024-03-03" in str(raised.value)
    assert archive.parquet_uri(DAY3) in str(raised.value)
    with pytest.raises(DayNotArchivedError, match="2024-03-03"):
        archive.verify(DAY3)


def test_rewriting_a_day_replaces_it(archive: TickArchive) -> None:
    archive.write_day(DAY1, sim_day(DAY1, 300, seed=1))
    second = sim_day(DAY1, 500, seed=2)

    record = archive.write_day(DAY1, second)

    assert archive.read_day(DAY1).equals(archive_order(second))
    assert archive.days() == [record]
    assert record.rows == second.num_rows


def test_writing_leaves_no_staging_or_temp_files_behind(archive: TickArchive) -> None:
    archive.write_day(DAY1, sim_day(DAY1, 300))
    archive.write_day(DAY1, sim_day(DAY1, 400, seed=3))
    archive.write_day(DAY2, sim_day(DAY2, 300))

    names = stored_names(archive)

    assert [name for name in names if name.endswith(".parquet")] == [
        "ticks/day=2024-03-01/ticks.parquet",
        "ticks/day=2024-03-02/ticks.parquet",
    ]
    assert not [name for name in names if "staging" in name or name.endswith(".tmp")]


def test_verify_returns_the_record_of_an_intact_day(archive: TickArchive) -> None:
    written = archive.write_day(DAY1, sim_day(DAY1, 1_000))

    assert archive.verify(DAY1) == written


def test_verify_and_read_catch_a_file_replaced_by_other_parquet(archive: TickArchive) -> None:
    archive.write_day(DAY1, sim_day(DAY1, 1_000).slice(0, 900))
    forged = io.BytesIO()
    pq.write_table(pq.read_table(io.BytesIO(stored_bytes(archive, DAY1))).slice(0, 899), forged)
    overwrite(archive, DAY1, forged.getvalue())

    with pytest.raises(ArchiveVerificationError) as raised:
        archive.verify(DAY1)

    message = str(raised.value)
    assert "2024-03-01" in message
    assert "footer rows 899 != expected 900" in message
    assert "sha256" in message
    with pytest.raises(ArchiveVerificationError, match="2024-03-01"):
        archive.read_day(DAY1)


def test_verify_catches_a_file_that_is_not_parquet(archive: TickArchive) -> None:
    archive.write_day(DAY1, sim_day(DAY1, 100))
    overwrite(archive, DAY1, b"definitely not parquet")

    with pytest.raises(ArchiveVerificationError, match="Parquet footer unreadable"):
        archive.verify(DAY1)


def test_delete_day_removes_it_and_is_idempotent(archive: TickArchive) -> None:
    archive.write_day(DAY1, sim_day(DAY1, 100))
    archive.write_day(DAY2, sim_day(DAY2, 100))

    archive.delete_day(DAY1)
    archive.delete_day(DAY1)
    archive.delete_day(DAY3)

    assert archive.info(DAY1) is None
    assert [record.day for record in archive.days()] == [DAY2]
    with pytest.raises(DayNotArchivedError):
        archive.read_day(DAY1)


def test_write_rejects_ticks_of_another_day_and_publishes_nothing(archive: TickArchive) -> None:
    with pytest.raises(ValueError, match="archive day 2024-03-01"):
        archive.write_day(DAY1, sim_day(DAY2, 10))

    assert archive.info(DAY1) is None
    assert stored_names(archive) == []


def test_an_empty_day_round_trips(archive: TickArchive) -> None:
    record = archive.write_day(DAY1, TICK_SCHEMA.empty_table())

    assert record.rows == 0
    assert archive.read_day(DAY1).equals(TICK_SCHEMA.empty_table())
    assert archive.verify(DAY1) == record


def test_file_is_zstd_parquet_sorted_in_row_groups_and_small_per_tick(archive: TickArchive) -> None:
    ticks = sim_day(DAY1, 100_000)
    record = archive.write_day(DAY1, ticks)

    metadata = pq.ParquetFile(io.BytesIO(stored_bytes(archive, DAY1))).metadata
    codecs = {
        metadata.row_group(group).column(column).compression
        for group in range(metadata.num_row_groups)
        for column in range(metadata.num_columns)
    }

    assert codecs == {"ZSTD"}
    assert metadata.num_rows == ticks.num_rows == 100_000
    assert metadata.num_row_groups == -(-100_000 // WriterSettings().row_group_rows)
    assert metadata.metadata[FORMAT_KEY] == FORMAT.encode()
    assert [column.column_index for column in metadata.row_group(0).sorting_columns][:3] == [0, 1, 7]
    # bench/archive.py measures ~8.5 bytes per tick at 1M ticks; a 100k-tick day pays more overhead.
    assert record.bytes_per_tick == record.bytes / 100_000
    assert record.bytes_per_tick < 10.0


def test_duckdb_view_reads_tick_columns_with_filters_across_days(archive: TickArchive) -> None:
    day1, day2 = sim_day(DAY1, 2_000, seed=1), sim_day(DAY2, 2_000, seed=2)
    archive.write_day(DAY1, day1)
    archive.write_day(DAY2, day2)
    start, end = day_start_us(DAY1) + 80_000 * 1_000_000, day_start_us(DAY2) + 3_600 * 1_000_000
    expected = (
        pa.concat_tables([day1, day2])
        .filter(
            (pa.compute.field("symbol") == "ETHUSDT")
            & (pa.compute.field("trade_time_us") >= start)
            & (pa.compute.field("trade_time_us") < end)
        )
        .sort_by("trade_time_us")
    )

    connection = archive.duckdb_connection()
    try:
        got = connection.sql(
            "SELECT * FROM ticks WHERE symbol = 'ETHUSDT' AND trade_time_us >= $start"
            " AND trade_time_us < $end ORDER BY trade_time_us",
            params={"start": start, "end": end},
        ).to_arrow_table()
        both_days = connection.sql("SELECT count(*) FROM ticks").fetchall()
    finally:
        connection.close()

    assert expected.num_rows > 0
    assert got.column_names == list(TICK_SCHEMA.names)
    assert got.to_pylist() == expected.to_pylist()
    assert both_days == [(day1.num_rows + day2.num_rows,)]


def test_duckdb_view_of_only_missing_days_is_empty(archive: TickArchive) -> None:
    archive.write_day(DAY1, sim_day(DAY1, 100))

    connection = archive.duckdb_connection([DAY3])
    try:
        got = connection.sql("SELECT * FROM ticks").to_arrow_table()
    finally:
        connection.close()

    assert got.num_rows == 0
    assert got.column_names == list(TICK_SCHEMA.names)
