"""The tick store's SQL, written for ClickHouse 18.16, also runs on a current ClickHouse (chdb 26.x).

Every statement of ``resources.tick_store.clickhouse_sql`` is rendered exactly as clickhouse-driver renders
it for the server (its own parameter escaping) and run in-process through chdb, on rows inserted with
SQL ``VALUES`` so the answers can be checked.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest

from resources.clickhouse.sql import partition_id
from resources.tick_store import clickhouse_sql as sql
from tests.resources.clickhouse.modern import Modern, modern_database, statements_of
from tests.resources.tick_store.helpers import DAY1, DAY2, day_start_us, table, tick
from trading_assets.core.time import US_PER_DAY

DATABASE = "tradegraph_modern"
_tables = itertools.count()

# (venue, symbol, trade_id, offset seconds, day); holes at 4-5 and 11, one no-id venue.
ROWS = [
    ("binance", "BTCUSDT", 1, 1, DAY1),
    ("binance", "BTCUSDT", 2, 2, DAY1),
    ("binance", "BTCUSDT", 3, 3, DAY1),
    ("binance", "BTCUSDT", 6, 6, DAY1),
    ("binance", "ETHUSDT", 10, 10, DAY1),
    ("binance", "ETHUSDT", 12, 12, DAY1),
    ("finnhub", "BINANCE:BTCUSDT", None, 4, DAY1),
    ("binance", "BTCUSDT", 7, 7, DAY2),
]
# Inserted again by a second INSERT: current ClickHouse already merges duplicates within one insert
# block (optimize_on_insert), 18.16 does not; across inserts both keep them until a merge.
DUPLICATE = ROWS[1]
DAY1_PARTITION = partition_id(DAY1)


def day_params(day: Any = DAY1) -> dict[str, int]:
    start = day_start_us(day)
    return {"start_us": start, "end_us": start + US_PER_DAY}


@pytest.fixture(scope="module")
def modern(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Modern]:
    with modern_database(tmp_path_factory.mktemp("chdb"), DATABASE) as db:
        yield db


@pytest.fixture
def ticks_table(modern: Modern) -> str:
    """A fresh tick table holding ROWS and DUPLICATE, inserted with the store's INSERT and SQL VALUES."""
    name = f"ticks_{next(_tables)}"
    modern.run(sql.create_table(DATABASE, name))
    modern.run(sql.create_table(DATABASE, name))  # idempotent
    for rows in (ROWS, [DUPLICATE]):
        ticks = table(
            tick(trade_id, symbol=symbol, venue=venue, offset_s=seconds, day=day)
            for venue, symbol, trade_id, seconds, day in rows
        )
        modern.insert(sql.insert(DATABASE, name), (row.values() for row in ticks.to_pylist()))
    return name


def test_every_statement_of_the_module_is_covered_here() -> None:
    statements = statements_of(sql)

    assert statements == {
        "create_table",
        "insert",
        "symbol_venues",
        "day_symbols",
        "select_symbol_day",
        "symbol_day_bars",
        "count_range",
        "partitions",
        "partition_parts",
        "trade_id_gaps",
        "optimize_partition",
        "drop_partition",
        "create_seal_marks",
        "insert_seal_mark",
        "seal_mark",
    }


def test_symbol_venues_lists_the_venues_of_one_symbol_in_the_range(modern: Modern, ticks_table: str) -> None:
    rows = modern.rows(sql.symbol_venues(DATABASE, ticks_table), {"symbol": "BTCUSDT", **day_params()})
    other = modern.rows(sql.symbol_venues(DATABASE, ticks_table), {"symbol": "SOLUSDT", **day_params()})

    assert rows == [("binance",)]
    assert other == []


def test_day_symbols_lists_each_venue_symbol_of_the_day_in_order(modern: Modern, ticks_table: str) -> None:
    rows = modern.rows(sql.day_symbols(DATABASE, ticks_table), day_params())

    assert rows == [("binance", "BTCUSDT"), ("binance", "ETHUSDT"), ("finnhub", "BINANCE:BTCUSDT")]


def test_select_symbol_day_returns_the_numeric_columns_of_one_symbol_once_each(
    modern: Modern, ticks_table: str
) -> None:
    params = {"venue": "binance", "symbol": "BTCUSDT", **day_params()}

    rows = modern.rows(sql.select_symbol_day(DATABASE, ticks_table), params)
    other_venue = modern.rows(sql.select_symbol_day(DATABASE, ticks_table), {**params, "venue": "sim"})

    assert sorted(row[0] for row in rows) == [1, 2, 3, 6]
    assert other_venue == []
    assert sorted(rows)[0] == tuple(table([tick(1)]).to_pylist()[0].values())[2:]


def test_select_symbol_day_without_final_returns_the_rows_as_stored(modern: Modern, ticks_table: str) -> None:
    params = {"venue": "binance", "symbol": "BTCUSDT", **day_params()}

    rows = modern.rows(sql.select_symbol_day(DATABASE, ticks_table, final=False), params)

    assert "FINAL" not in sql.select_symbol_day(DATABASE, ticks_table, final=False)
    assert sorted(row[0] for row in rows) == [1, 2, 2, 3, 6]  # the duplicate of trade 2 not merged yet


def test_symbol_day_bars_counts_each_trade_once_per_venue_and_minute(
    modern: Modern, ticks_table: str
) -> None:
    params = {"symbol": "BTCUSDT", "minute": 60_000_000, "buy": 1, "sell": -1, **day_params()}

    rows = modern.rows(sql.symbol_day_bars(DATABASE, ticks_table), params)
    stored = modern.rows(sql.symbol_day_bars(DATABASE, ticks_table, final=False), params)

    columns = sql.BAR_COLUMNS
    bar = dict(zip(columns, rows[0], strict=True))
    assert len(rows) == 1 and bar["venue"] == "binance" and bar["minute_us"] == day_start_us(DAY1)
    assert bar["trades"] == 4  # trades 1, 2, 3 and 6; the duplicate of 2 merged by FINAL
    assert bar["volume"] == pytest.approx(4 * 0.5) and bar["buy_volume"] == pytest.approx(4 * 0.5)
    assert dict(zip(columns, stored[0], strict=True))["trades"] == 5  # as stored: the duplicate too


def test_partitions_and_counts_see_stored_rows(modern: Modern, ticks_table: str) -> None:
    identity = {"database": DATABASE, "table": ticks_table}

    partitions = modern.rows(sql.partitions(), identity)
    parts = modern.rows(sql.partition_parts(), {**identity, "partition_id": str(DAY1_PARTITION)})
    counted = modern.rows(sql.count_range(DATABASE, ticks_table), day_params())

    assert [(pid, rows) for pid, rows, _ in partitions] == [(str(DAY1_PARTITION), 8), ("20240302", 1)]
    assert parts[0][0] >= 1
    assert len(parts[0][2].split(",")) == parts[0][0]  # one name per part
    assert counted == [(8,)]


def test_trade_id_gaps_returns_the_ids_around_each_hole(modern: Modern, ticks_table: str) -> None:
    rows = modern.rows(sql.trade_id_gaps(DATABASE, ticks_table), day_params())

    assert rows == [("binance", "BTCUSDT", 3, 6), ("binance", "ETHUSDT", 10, 12)]


def test_optimize_partition_removes_duplicates(modern: Modern, ticks_table: str) -> None:
    modern.run(sql.optimize_partition(DATABASE, ticks_table), {"partition": DAY1_PARTITION})

    counted = modern.rows(sql.count_range(DATABASE, ticks_table), day_params())
    other_day = modern.rows(sql.count_range(DATABASE, ticks_table), day_params(DAY2))

    assert counted == [(7,)]
    assert other_day == [(1,)]


def test_drop_partition_removes_only_that_day(modern: Modern, ticks_table: str) -> None:
    modern.run(sql.drop_partition(DATABASE, ticks_table), {"partition": DAY1_PARTITION})
    modern.run(sql.drop_partition(DATABASE, ticks_table), {"partition": 20000101})  # absent: no error

    partitions = modern.rows(sql.partitions(), {"database": DATABASE, "table": ticks_table})

    assert [(pid, rows) for pid, rows, _ in partitions] == [("20240302", 1)]


def test_partition_parts_gives_the_highest_block_and_the_rows(modern: Modern, ticks_table: str) -> None:
    identity = {"database": DATABASE, "table": ticks_table, "partition_id": str(DAY1_PARTITION)}

    (before,) = modern.rows(sql.partition_parts(), identity)
    modern.run(sql.optimize_partition(DATABASE, ticks_table), {"partition": DAY1_PARTITION})
    (after,) = modern.rows(sql.partition_parts(), identity)

    assert before[4] == 8 and before[3] >= 1
    assert after[4] == 7 and after[3] == before[3]  # a merge keeps the highest block


def test_seal_marks_give_the_latest_mark_of_a_day_and_drop_with_it(modern: Modern) -> None:
    marks = f"marks_{next(_tables)}"
    modern.run(sql.create_seal_marks(DATABASE, marks))
    modern.run(sql.create_seal_marks(DATABASE, marks))  # idempotent
    modern.insert(sql.insert_seal_mark(DATABASE, marks), [(DAY1_PARTITION, 3, 10), (DAY1_PARTITION, 5, 12)])
    modern.insert(sql.insert_seal_mark(DATABASE, marks), [(20240302, 4, 1)])

    latest = modern.rows(sql.seal_mark(DATABASE, marks), {"partition": DAY1_PARTITION})
    modern.run(sql.drop_partition(DATABASE, marks), {"partition": DAY1_PARTITION})
    dropped = modern.rows(sql.seal_mark(DATABASE, marks), {"partition": DAY1_PARTITION})
    other = modern.rows(sql.seal_mark(DATABASE, marks), {"partition": 20240302})

    assert latest == [(2, 5, 12)]
    assert dropped[0][0] == 0
    assert other == [(1, 4, 1)]


@pytest.mark.parametrize("bad", ["", "1abc", "ticks; DROP TABLE x", "a.b", "tick-store", "t`"])
def test_identifiers_are_validated_before_any_sql_is_rendered(bad: str) -> None:
    with pytest.raises(ValueError, match="invalid ClickHouse identifier"):
        sql.create_table("tradegraph", bad)
    with pytest.raises(ValueError, match="invalid ClickHouse identifier"):
        sql.insert(bad, "ticks")
    with pytest.raises(ValueError, match="invalid ClickHouse identifier"):
        sql.select_symbol_day("tradegraph", bad)
