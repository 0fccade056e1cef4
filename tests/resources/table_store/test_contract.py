"""One contract for every table store: ClickHouse 18.16 (real server) and the embedded Parquet store.

The ``store`` and ``open_store`` fixtures (both implementations) are in ``conftest.py``; the bar table
on the store is in ``test_bars.py``.
"""

from __future__ import annotations

import multiprocessing
import threading
import time

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from resources.table_store import (
    PartitionDayError,
    TablePartition,
    TableSchemaError,
    TableSpec,
    TableStore,
    TableStoreConfig,
)
from tests.resources.table_store.conftest import OpenStore
from tests.resources.table_store.helpers import (
    DAY1,
    DAY2,
    DAY3,
    SIGNALS,
    count_versions_read,
    in_key_order,
    rows,
)
from trading_assets.core.time import US_PER_DAY, day_start_us

WHOLE_RANGE = {"start_us": day_start_us(DAY1) - US_PER_DAY, "end_us": day_start_us(DAY3) + US_PER_DAY}


def read_day(store: TableStore, day: object, spec: TableSpec = SIGNALS) -> pa.Table:
    start = day_start_us(day)  # type: ignore[arg-type]
    return store.read(spec, start_us=start, end_us=start + US_PER_DAY)


def test_written_rows_read_back_exactly_in_key_order_with_every_column_type(store: TableStore) -> None:
    written = rows(DAY1, count=5)

    count = store.write_partition(SIGNALS, DAY1, written)
    got = read_day(store, DAY1)

    assert count == 20
    assert got.schema.equals(SIGNALS.schema)
    assert got.to_pylist() == in_key_order(written)


def test_read_keeps_the_time_range_and_the_filters(store: TableStore) -> None:
    store.write_partition(SIGNALS, DAY1, rows(DAY1, count=5, symbols=("BTCUSDT", "ETHUSDT", "SOLUSDT")))
    start = day_start_us(DAY1) + 60_000_000
    end = day_start_us(DAY1) + 3 * 60_000_000

    one = store.read(SIGNALS, start_us=start, end_us=end, filters={"symbol": "ETHUSDT", "venue": ["sim"]})
    two = store.read(SIGNALS, start_us=start, end_us=end, filters={"symbol": ["SOLUSDT", "BTCUSDT"]})
    none = store.read(SIGNALS, start_us=start, end_us=end, filters={"symbol": []})
    by_number = store.read(SIGNALS, start_us=start, end_us=end, filters={"horizon": 120, "active": False})

    assert [(r["symbol"], r["venue"], r["time_us"]) for r in one.to_pylist()] == [
        ("ETHUSDT", "sim", start),
        ("ETHUSDT", "sim", start + 60_000_000),
    ]
    assert [(r["symbol"], r["venue"]) for r in two.to_pylist()] == [
        ("BTCUSDT", "binance"),
        ("BTCUSDT", "binance"),
        ("BTCUSDT", "sim"),
        ("BTCUSDT", "sim"),
        ("SOLUSDT", "binance"),
        ("SOLUSDT", "binance"),
        ("SOLUSDT", "sim"),
        ("SOLUSDT", "sim"),
    ]
    assert none.num_rows == 0 and none.schema.equals(SIGNALS.schema)
    assert by_number.num_rows == 6
    assert set(by_number.column("time_us").to_pylist()) == {start}


def test_rewriting_a_day_with_fewer_rows_leaves_exactly_those(store: TableStore) -> None:
    store.write_partition(SIGNALS, DAY1, rows(DAY1, count=5, score=1.0))
    replacement = rows(DAY1, count=2, score=9.0)

    store.write_partition(SIGNALS, DAY1, replacement)

    assert read_day(store, DAY1).to_pylist() == in_key_order(replacement)
    assert store.days(SIGNALS) == [TablePartition(day=DAY1, rows=8)]


def test_running_a_write_again_never_appends(store: TableStore) -> None:
    written = rows(DAY1, count=3)

    for _ in range(3):
        store.write_partition(SIGNALS, DAY1, written)

    assert store.days(SIGNALS) == [TablePartition(day=DAY1, rows=12)]
    assert read_day(store, DAY1).to_pylist() == in_key_order(written)


def test_writing_one_day_leaves_the_other_days_untouched(store: TableStore) -> None:
    day2 = rows(DAY2, count=3, score=2.0)
    store.write_partition(SIGNALS, DAY1, rows(DAY1, count=3))
    store.write_partition(SIGNALS, DAY2, day2)

    store.write_partition(SIGNALS, DAY1, rows(DAY1, count=1, score=5.0))
    store.drop_partition(SIGNALS, DAY3)

    assert read_day(store, DAY2).to_pylist() == in_key_order(day2)
    assert store.days(SIGNALS) == [TablePartition(day=DAY1, rows=4), TablePartition(day=DAY2, rows=12)]


def test_rows_outside_the_day_are_refused_naming_table_and_day_and_nothing_changes(store: TableStore) -> None:
    kept = rows(DAY1, count=2)
    store.write_partition(SIGNALS, DAY1, kept)
    spilling = pa.concat_tables([rows(DAY1, count=3), rows(DAY2, count=1)])
    before_midnight = rows(DAY1, count=1)

    with pytest.raises(PartitionDayError, match=r"table signals: .*2024-03-01.*outside that UTC day"):
        store.write_partition(SIGNALS, DAY1, spilling)
    with pytest.raises(PartitionDayError, match=r"table signals: .*2024-03-02"):
        store.write_partition(SIGNALS, DAY2, before_midnight)

    assert read_day(store, DAY1).to_pylist() == in_key_order(kept)
    assert store.days(SIGNALS) == [TablePartition(day=DAY1, rows=8)]


def test_writing_no_rows_leaves_the_day_empty_and_unlisted(store: TableStore) -> None:
    store.write_partition(SIGNALS, DAY1, rows(DAY1))

    written = store.write_partition(SIGNALS, DAY1, SIGNALS.schema.empty_table())
    again = store.write_partition(SIGNALS, DAY2, SIGNALS.schema.empty_table())

    assert (written, again) == (0, 0)
    assert store.days(SIGNALS) == []
    got = read_day(store, DAY1)
    assert got.num_rows == 0 and got.schema.equals(SIGNALS.schema)


def test_drop_removes_only_that_day_and_is_quiet_when_absent(store: TableStore) -> None:
    for day in (DAY1, DAY2):
        store.write_partition(SIGNALS, day, rows(day, count=1))

    store.drop_partition(SIGNALS, DAY1)
    store.drop_partition(SIGNALS, DAY1)
    store.drop_partition(SIGNALS, DAY3)  # never written

    assert store.days(SIGNALS) == [TablePartition(day=DAY2, rows=4)]
    assert read_day(store, DAY1).num_rows == 0


def test_days_lists_each_day_with_its_rows_oldest_first(store: TableStore) -> None:
    store.write_partition(SIGNALS, DAY3, rows(DAY3, count=1))
    store.write_partition(SIGNALS, DAY1, rows(DAY1, count=2))

    assert store.days(SIGNALS) == [TablePartition(day=DAY1, rows=8), TablePartition(day=DAY3, rows=4)]


def test_a_read_over_several_days_is_in_key_order(store: TableStore) -> None:
    day2, day1 = rows(DAY2, count=2), rows(DAY1, count=2)
    store.write_partition(SIGNALS, DAY2, day2)
    store.write_partition(SIGNALS, DAY1, day1)

    got = store.read(SIGNALS, **WHOLE_RANGE)

    assert got.to_pylist() == in_key_order(pa.concat_tables([day1, day2]))


def test_an_empty_store_answers_every_call(store: TableStore) -> None:
    got = store.read(SIGNALS, **WHOLE_RANGE, filters={"symbol": "BTCUSDT"})

    assert got.num_rows == 0 and got.schema.equals(SIGNALS.schema)
    assert store.days(SIGNALS) == []
    store.drop_partition(SIGNALS, DAY1)


def test_tables_are_kept_apart(store: TableStore) -> None:
    other = TableSpec(name="signals_other", schema=SIGNALS.schema, time_column="time_us", key=("time_us",))
    store.write_partition(SIGNALS, DAY1, rows(DAY1, count=2))
    store.write_partition(other, DAY1, rows(DAY1, count=1))

    store.drop_partition(other, DAY1)

    assert store.days(SIGNALS) == [TablePartition(day=DAY1, rows=8)]
    assert store.days(other) == []


def test_a_table_missing_extra_null_or_mistyped_columns_is_refused_naming_them(store: TableStore) -> None:
    good = rows(DAY1, count=1)
    null_score = good.set_column(3, "score", pa.array([None] * good.num_rows, type=pa.float64()))
    text_score = good.set_column(3, "score", pa.array(["high"] * good.num_rows))
    overflowing = good.set_column(7, "side", pa.array([1_000] * good.num_rows, type=pa.int64()))
    castable = good.set_column(5, "horizon", pc.cast(good.column("horizon"), pa.int64()))

    with pytest.raises(TableSchemaError, match=r"table signals: missing columns \['weight'\]"):
        store.write_partition(SIGNALS, DAY1, good.drop_columns(["weight"]))
    with pytest.raises(TableSchemaError, match=r"unexpected columns \['extra'\]"):
        store.write_partition(SIGNALS, DAY1, good.append_column("extra", pa.array([1] * good.num_rows)))
    with pytest.raises(TableSchemaError, match="'score' has 4 null values"):
        store.write_partition(SIGNALS, DAY1, null_score)
    with pytest.raises(TableSchemaError, match="'score' of type string cannot be cast to double"):
        store.write_partition(SIGNALS, DAY1, text_score)
    with pytest.raises(TableSchemaError, match="'side' of type int64 cannot be cast to int8"):
        store.write_partition(SIGNALS, DAY1, overflowing)
    with pytest.raises(TableSchemaError, match="cannot filter on 'price'"):
        store.read(SIGNALS, **WHOLE_RANGE, filters={"price": 1.0})
    assert store.days(SIGNALS) == []

    assert store.write_partition(SIGNALS, DAY1, castable) == 4
    assert read_day(store, DAY1).to_pylist() == in_key_order(good)


def test_a_reader_sees_the_old_day_or_the_new_never_a_mix_or_a_gap(open_store: OpenStore) -> None:
    # Two versions of the day with different rows and sizes; a reader on its own connection (or file
    # handles) reads the day while the writer swaps the versions back and forth.
    writer, reader = open_store(), open_store()
    versions = [rows(DAY1, count=40, score=1.0), rows(DAY1, count=7, score=2.0, symbols=("SOLUSDT",))]
    expected = [in_key_order(version) for version in versions]
    writer.write_partition(SIGNALS, DAY1, versions[0])
    stop = threading.Event()
    seen: list[int] = []
    errors: list[BaseException] = []

    def read_until_stopped() -> None:
        try:
            while not stop.is_set():
                got = read_day(reader, DAY1).to_pylist()
                assert got in expected, f"read {len(got)} rows, neither version"
                seen.append(expected.index(got))
        except BaseException as exc:  # handed to the test thread, which fails with it
            errors.append(exc)

    thread = threading.Thread(target=read_until_stopped)
    thread.start()
    writes = 0
    try:
        # At least 40 swaps, and on until the reader has seen each version a few times (bounded).
        while writes < 40 or (min(seen.count(0), seen.count(1)) < 3 and writes < 2_000 and not errors):
            writes += 1
            writer.write_partition(SIGNALS, DAY1, versions[writes % 2])
        writer.write_partition(SIGNALS, DAY1, versions[0])
    finally:
        stop.set()
        thread.join(timeout=60)

    assert not errors, errors[0]
    assert min(seen.count(0), seen.count(1)) >= 3, f"the reader saw {seen.count(0)} and {seen.count(1)}"
    assert read_day(reader, DAY1).to_pylist() == expected[0]


def test_a_reader_in_another_process_sees_whole_days_while_one_writes(
    store_config: TableStoreConfig, store: TableStore
) -> None:
    versions = [rows(DAY1, count=30, score=1.0), rows(DAY1, count=3, score=2.0, symbols=("SOLUSDT",))]
    expected = [in_key_order(version) for version in versions]
    store.write_partition(SIGNALS, DAY1, versions[0])
    spawn = multiprocessing.get_context("spawn")
    counts = spawn.Array("i", 3)  # reads of version 0, of version 1, of neither
    stop = spawn.Event()
    readers = [spawn.Process(target=count_versions_read, args=(store_config, expected, counts, stop))]
    for reader in readers:
        reader.start()
    writes, deadline = 0, time.monotonic() + 120
    try:
        # On until each version was read a few times after the reader started (bounded in time). The
        # thread test above is the sharper one for atomicity; this one runs the reader as its own process.
        while writes < 20 or (min(counts[0], counts[1]) < 3 and time.monotonic() < deadline):
            writes += 1
            store.write_partition(SIGNALS, DAY1, versions[writes % 2])
    finally:
        stop.set()
        for reader in readers:
            reader.join(timeout=60)

    assert [reader.exitcode for reader in readers] == [0]
    assert counts[2] == 0, f"{counts[2]} reads saw neither version"
    assert min(counts[0], counts[1]) >= 3, list(counts)
