"""The insert buffer (resources/tick_store/clickhouse_buffer.py): queryable at once, durable after a sync,
and a server restart with rows in it reported, never hidden. Real ClickHouse 18.16."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from clickhouse_driver import Client

from resources.tick_store import ClickHouseTickStore, TickStore
from resources.tick_store.base import StoreRowsLostError
from testkit.servers import ClickHouseServer
from tests.resources.clickhouse.admin import drop_database
from trading_assets.core.time import US_PER_DAY
from trading_assets.market.simulation import MarketConfig, MarketSimulator

TICKS = MarketSimulator(config=MarketConfig(symbols=("BTCUSDT",)), start_us=20_000 * US_PER_DAY).generate(300)


def _count(url: str, table: str) -> int:
    client = Client.from_url(url)
    try:
        return int(client.execute(f"SELECT count() FROM {table}")[0][0])
    finally:
        client.disconnect()


def test_rows_given_to_the_buffer_read_back_after_a_sync(store: TickStore) -> None:
    # Act
    inserted = store.insert_buffered(TICKS)
    store.sync()

    # Assert: the same as an insert (on the embedded store the buffer is the insert itself)
    assert inserted == TICKS.num_rows
    assert sum(part.rows for part in store.partitions()) == TICKS.num_rows
    read = store.read(symbol="BTCUSDT", start_us=0, end_us=2**62)
    assert read.column("trade_id").to_pylist() == TICKS.column("trade_id").to_pylist()


def test_buffered_rows_are_queryable_at_once_and_on_disk_after_the_sync(
    clickhouse_server: ClickHouseServer,
) -> None:
    # Arrange
    database = f"insert_buffer_{os.getpid()}"
    try:
        with ClickHouseTickStore(clickhouse_server.url, database=database) as store:
            # Act
            store.insert_buffered(TICKS)
            in_buffer, on_disk = (
                _count(clickhouse_server.url, store.buffer_table),
                _count(clickhouse_server.url, f"{database}.ticks"),
            )
            store.sync()
            synced = _count(clickhouse_server.url, f"{database}.ticks")

        # Assert: the buffer answers with its rows at once; the tick table has them after the sync
        assert (in_buffer, on_disk, synced) == (TICKS.num_rows, 0, TICKS.num_rows)
    finally:
        drop_database(clickhouse_server.url, database)


def test_a_sync_before_any_buffered_insert_creates_nothing(clickhouse_server: ClickHouseServer) -> None:
    database = f"insert_buffer_unused_{os.getpid()}"
    try:
        with ClickHouseTickStore(clickhouse_server.url, database=database) as store:
            store.sync()
            store.insert(TICKS)
            client = Client.from_url(clickhouse_server.url)
            try:
                tables = client.execute(
                    "SELECT name FROM system.tables WHERE database = %(database)s", {"database": database}
                )
            finally:
                client.disconnect()
        assert "ticks_buffer" not in {name for (name,) in tables}
    finally:
        drop_database(clickhouse_server.url, database)


def test_a_restart_with_rows_in_the_buffer_is_reported_by_the_next_sync(tmp_path: Path) -> None:
    # Arrange: its own server, killed below
    with ClickHouseServer(tmp_path / "clickhouse") as server:
        assert isinstance(server, ClickHouseServer)
        with ClickHouseTickStore(server.url) as store:
            store.insert_buffered(TICKS.slice(0, 100))
            store.sync()
            store.insert_buffered(TICKS.slice(100, 50))

            # Act: the server dies with 50 acknowledged rows in its memory
            server.kill()
            server.start()
            with pytest.raises(StoreRowsLostError, match=r"restarted .* up to 50 rows"):
                store.sync()
            store.insert_buffered(TICKS.slice(150, 10))
            store.sync()  # the loss was reported once; the buffer works on

            # Assert: what was synced survived; the 50 did not (the loader reads them again from the bus)
            assert _count(server.url, "tradegraph.ticks") == 110
