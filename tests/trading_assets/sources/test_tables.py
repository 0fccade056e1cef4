"""A source's table and merging delivered records into a stored day (trading_assets.sources.tables)."""

from __future__ import annotations

import datetime as dt
import random

import pyarrow as pa

from tests.trading_assets.sources.helpers import DAY, FORECAST, forecast_rows, full_forecast_day, hour
from trading_assets.core.time import US_PER_DAY
from trading_assets.sources.tables import merge_day, source_table, split_by_day, unique_by_key

TABLE = source_table(FORECAST)


def test_the_table_is_named_after_the_source_and_keyed_series_time_then_version() -> None:
    assert TABLE.name == "src_load_forecast"
    assert TABLE.key == ("area", "delivery_us", "published_us")
    assert TABLE.time_column == "delivery_us"


def test_split_by_day_groups_rows_by_the_utc_day_of_their_time_before_and_after_1970() -> None:
    before_epoch = -1  # 1969-12-31T23:59:59.999999
    rows = forecast_rows(
        [
            ("DE", hour(DAY, 23), 0, 1.0),
            ("DE", before_epoch, 0, 2.0),
            ("DE", hour(DAY, 0), 0, 3.0),
            ("DE", hour(DAY, 0) + US_PER_DAY, 0, 4.0),
        ]
    )

    days = [(day, part["mw"].to_pylist()) for day, part in split_by_day(TABLE, rows)]

    assert days == [
        (dt.date(1969, 12, 31), [2.0]),
        (DAY, [1.0, 3.0]),
        (DAY + dt.timedelta(days=1), [4.0]),
    ]
    assert list(split_by_day(TABLE, rows.slice(0, 0))) == []


def test_unique_by_key_keeps_the_first_delivery_of_each_key_in_delivery_order() -> None:
    rows = forecast_rows(
        [
            ("DE", hour(DAY, 2), 5, 1.0),
            ("DE", hour(DAY, 1), 5, 2.0),
            ("DE", hour(DAY, 2), 5, 9.0),  # a repeat of the first key
            ("DE", hour(DAY, 2), 6, 3.0),  # a revision: its own key
        ]
    )

    assert unique_by_key(TABLE, rows)["mw"].to_pylist() == [1.0, 2.0, 3.0]


def test_merging_a_batch_twice_stores_it_once_and_counts_only_new_rows() -> None:
    day = full_forecast_day(DAY, versions=2)
    first, second = day.slice(0, 60), day.slice(40)

    stored, new_first = merge_day(TABLE, TABLE.schema.empty_table(), first)
    stored, new_second = merge_day(TABLE, stored, second)
    stored, new_again = merge_day(TABLE, stored, second)

    assert (new_first, new_second, new_again) == (60, day.num_rows - 60, 0)
    assert stored.num_rows == day.num_rows
    assert unique_by_key(TABLE, stored).num_rows == stored.num_rows


def test_random_redeliveries_in_random_batches_store_each_key_exactly_once() -> None:
    rng = random.Random(11)
    day = full_forecast_day(DAY, ("DE", "FR", "NL"), versions=3)
    indices = list(range(day.num_rows))
    stored = TABLE.schema.empty_table()
    total_new = 0
    for _ in range(30):
        batch = day.take(pa.array(rng.sample(indices, rng.randrange(1, 40))))
        stored, new = merge_day(TABLE, stored, batch)
        total_new += new
    stored, new = merge_day(TABLE, stored, day)  # finally everything, as a full replay would
    total_new += new

    assert stored.num_rows == day.num_rows == total_new
    assert sorted(stored["mw"].to_pylist()) == sorted(day["mw"].to_pylist())
