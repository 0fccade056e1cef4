"""What only the ClickHouse table store does: staging tables, stored-table checks, lazy connection."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from clickhouse_driver import Client

from resources.clickhouse import sql
from resources.table_store import (
    TablePartition,
    TableSchemaError,
    TableSpec,
    TableStoreError,
    TableStoreUnavailableError,
)
from resources.table_store.clickhouse import ClickHouseTableStore
from testkit.servers import ClickHouseServer
from tests.resources.table_store.helpers import DAY1, DAY2, SIGNALS, day_bars, in_key_order, rows
from trading_assets.core.time import day_start_us
from trading_assets.market.bars import BARS_TABLE

# The bar table as the tick store created it before bars moved to the table store (same columns,
# another sort key): a store upgraded in place keeps using it.
_PREVIOUS_BARS_DDL = """CREATE TABLE {database}.bars_1m (
    venue String, symbol String, minute_us Int64, open Float64, high Float64, low Float64,
    close Float64, volume Float64, quote_volume Float64, vwap Float64, trades Int64,
    buy_volume Float64, sell_volume Float64
)
ENGINE = MergeTree
PARTITION BY toYYYYMMDD(toDateTime(intDiv(minute_us, 1000000), 'UTC'))
ORDER BY (symbol, venue, minute_us)"""


@pytest.fixture
def admin(clickhouse_server: ClickHouseServer) -> Iterator[tuple[Client, str]]:
    """A plain client and a fresh database name, dropped afterwards."""
    client = Client.from_url(clickhouse_server.url)
    database = f"table_store_ch_{os.getpid()}"
    client.execute(sql.drop_database(database))
    yield client, database
    client.execute(sql.drop_database(database))
    client.disconnect()


def test_writes_leave_no_staging_table_behind(
    clickhouse_server: ClickHouseServer, admin: tuple[Client, str]
) -> None:
    client, database = admin
    with ClickHouseTableStore(clickhouse_server.url, database=database) as store:
        for day in (DAY1, DAY2, DAY1):
            store.write_partition(SIGNALS, day, rows(day))

    tables = client.execute("SELECT name FROM system.tables WHERE database = %(d)s", {"d": database})

    assert tables == [("signals",)]


def test_a_stored_table_with_other_columns_is_refused_naming_both(
    clickhouse_server: ClickHouseServer, admin: tuple[Client, str]
) -> None:
    _, database = admin
    narrower = TableSpec(
        name="signals", schema=SIGNALS.schema.remove(3), time_column="time_us", key=("time_us",)
    )
    with ClickHouseTableStore(clickhouse_server.url, database=database) as store:
        store.write_partition(narrower, DAY1, rows(DAY1).drop_columns(["score"]))

    with ClickHouseTableStore(clickhouse_server.url, database=database) as store:
        with pytest.raises(TableSchemaError, match=r"table signals: the stored table .* 'score': 'Float64'"):
            store.days(SIGNALS)


def test_the_bar_table_the_tick_store_created_is_used_as_is(
    clickhouse_server: ClickHouseServer, admin: tuple[Client, str]
) -> None:
    client, database = admin
    client.execute(sql.create_database(database))
    client.execute(_PREVIOUS_BARS_DDL.format(database=database))
    bars = day_bars(DAY1, minutes=4)

    with ClickHouseTableStore(clickhouse_server.url, database=database) as store:
        store.write_partition(BARS_TABLE, DAY1, day_bars(DAY1, minutes=2, price=50.0))
        store.write_partition(BARS_TABLE, DAY1, bars)
        got = store.read(BARS_TABLE, start_us=day_start_us(DAY1), end_us=day_start_us(DAY2))
        days = store.days(BARS_TABLE)

    assert got.equals(bars)
    assert days == [TablePartition(day=DAY1, rows=12)]


def test_the_store_connects_on_first_use_and_says_when_the_server_is_unreachable() -> None:
    store = ClickHouseTableStore("clickhouse://default@127.0.0.1:1/default", connect_timeout_s=1.0)

    with pytest.raises(
        TableStoreUnavailableError, match=r"127\.0\.0\.1:1 .*create database failed, server unreachable"
    ):
        store.days(SIGNALS)
    store.close()


def test_a_write_that_fails_half_way_leaves_the_stored_day_and_no_staging_table(
    clickhouse_server: ClickHouseServer, admin: tuple[Client, str]
) -> None:
    client, database = admin
    kept = rows(DAY1, count=2)
    with ClickHouseTableStore(clickhouse_server.url, database=database) as store:
        store.write_partition(SIGNALS, DAY1, kept)
        # Altered behind the store's back: the staging copy takes the new type and the insert fails.
        client.execute(f"ALTER TABLE {database}.signals MODIFY COLUMN level String")

        with pytest.raises(
            TableStoreError, match="write 20 rows of signals for 2024-03-01 failed, the rows do not fit"
        ):
            store.write_partition(SIGNALS, DAY1, rows(DAY1, count=5))

    tables = client.execute("SELECT name FROM system.tables WHERE database = %(d)s", {"d": database})
    stored = client.execute(
        f"SELECT symbol, venue, time_us FROM {database}.signals ORDER BY symbol, venue, time_us"
    )
    assert tables == [("signals",)]
    assert stored == [(r["symbol"], r["venue"], r["time_us"]) for r in in_key_order(kept)]


def test_a_day_written_three_times_reads_as_the_last_write_after_the_server_is_killed(tmp_path: Path) -> None:
    # Arrange: ClickHouse 18.16 keeps the parts a REPLACE PARTITION swapped out, and a killed server
    # loads them again as active, unless the store deletes them after each write
    with ClickHouseServer(tmp_path / "clickhouse") as server:
        with ClickHouseTableStore(server.url, database="restart") as store:
            for count in (1, 2, 3):
                store.write_partition(SIGNALS, DAY1, rows(DAY1, count=count))
            store.write_partition(SIGNALS, DAY2, rows(DAY2, count=2))
            client = Client.from_url(server.url)
            parts = client.execute(
                "SELECT active, count() FROM system.parts WHERE database = 'restart' GROUP BY active"
            )
            client.disconnect()

            # Act: SIGKILL, start again on the same data
            server.kill()
            server.start()

            # Assert: only the active parts were on disk; each day reads as its last write
            day1 = store.read(SIGNALS, start_us=day_start_us(DAY1), end_us=day_start_us(DAY2))
            days = store.days(SIGNALS)
    assert [active for active, _ in parts] == [1]
    assert day1.to_pylist() == in_key_order(rows(DAY1, count=3))
    assert [(p.day, p.rows) for p in days] == [
        (DAY1, rows(DAY1, count=3).num_rows),
        (DAY2, rows(DAY2, count=2).num_rows),
    ]
