"""ClickHouse tick store only: connection errors, identifiers, idempotent creation, chunked input."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from resources.tick_store import (
    ClickHouseTickStore,
    ClickHouseTickStoreError,
    ClickHouseUnavailableError,
    PartitionInfo,
    StoreUnavailableError,
)
from testkit.servers import ClickHouseServer, free_port
from tests.resources.clickhouse.admin import drop_database
from tests.resources.tick_store.helpers import DAY1, day_start_us, ids, table, tick
from trading_assets.core.time import US_PER_DAY


def test_unreachable_server_fails_the_first_call_not_the_constructor_naming_host_and_operation() -> None:
    port = free_port()  # nothing listens there
    store = ClickHouseTickStore(f"clickhouse://default@127.0.0.1:{port}/default", connect_timeout_s=2)
    started = time.monotonic()

    with pytest.raises(ClickHouseTickStoreError) as failure:
        store.partitions()

    assert isinstance(failure.value, StoreUnavailableError)
    assert f"127.0.0.1:{port}" in str(failure.value)
    assert failure.value.operation == "create database"
    assert time.monotonic() - started < 10


def test_a_store_made_while_the_server_is_down_works_once_it_is_up(tmp_path: Path) -> None:
    # Arrange: a server of this test's own, stopped before the store is made (a loader started early)
    server = ClickHouseServer(tmp_path / "clickhouse").start()
    try:
        server.stop()
        store = ClickHouseTickStore(server.url, database="late_server", connect_timeout_s=1)
        with pytest.raises(ClickHouseUnavailableError):
            store.insert(table([tick(1)]))

        # Act
        server.start()
        inserted = store.insert(table([tick(1), tick(2)]))

        # Assert: the tables were created at the first call that reached the server
        assert inserted == 2 and store.partitions() == [PartitionInfo(day=DAY1, rows=2)]
        store.close()
    finally:
        server.stop()


def test_an_insert_into_a_hung_server_fails_after_the_insert_timeout_and_a_retry_works(
    tmp_path: Path,
) -> None:
    # Arrange
    server = ClickHouseServer(tmp_path / "clickhouse").start()
    assert server.pid is not None
    try:
        store = ClickHouseTickStore(server.url, database="hung_server", insert_timeout_s=1.0)
        store.insert(table([tick(1)]))

        # Act: the server hangs (SIGSTOP) during the next insert
        os.kill(server.pid, signal.SIGSTOP)
        started = time.monotonic()
        try:
            with pytest.raises(ClickHouseUnavailableError, match="insert of 1 rows") as failure:
                store.insert(table([tick(2)]))
            waited = time.monotonic() - started
        finally:
            os.kill(server.pid, signal.SIGCONT)
        store.insert(table([tick(2)]))

        # Assert: bounded by the insert timeout (not the 300 s default of the driver), then retried
        assert waited < 10, waited
        assert "timed out" in str(failure.value)
        assert store.read(symbol="BTCUSDT", start_us=0, end_us=2**62)["trade_id"].to_pylist() == [1, 2]
        store.close()
    finally:
        server.stop()


@pytest.mark.parametrize("database, table_name", [("bad-name", "ticks"), ("tradegraph", "ticks; DROP")])
def test_invalid_identifiers_are_refused_before_connecting(database: str, table_name: str) -> None:
    with pytest.raises(ValueError, match="invalid ClickHouse identifier"):
        ClickHouseTickStore("clickhouse://default@127.0.0.1:1/default", database=database, table=table_name)


def test_two_stores_on_one_table_create_it_once_and_share_rows(clickhouse_server: ClickHouseServer) -> None:
    database = "tick_store_shared"
    try:
        with ClickHouseTickStore(clickhouse_server.url, database=database) as writer:
            writer.insert(table([tick(1), tick(2)]))
            with ClickHouseTickStore(clickhouse_server.url, database=database) as reader:
                assert reader.partitions() == [PartitionInfo(day=DAY1, rows=2)]
    finally:
        drop_database(clickhouse_server.url, database)


def test_server_errors_are_wrapped_with_the_operation(clickhouse_server: ClickHouseServer) -> None:
    database = "tick_store_errors"
    try:
        with ClickHouseTickStore(clickhouse_server.url, database=database) as store:
            store.partitions()  # connected, tables created
            drop_database(clickhouse_server.url, database)  # the table vanishes under the store

            with pytest.raises(ClickHouseTickStoreError, match="insert of 1 rows") as failure:
                store.insert(table([tick(1)]))

        assert failure.value.host == f"127.0.0.1:{clickhouse_server.tcp_port}"
        assert not isinstance(failure.value, StoreUnavailableError)  # a missing table is no outage
        assert "Stack trace" not in str(failure.value)
    finally:
        drop_database(clickhouse_server.url, database)


def test_multi_chunk_tables_with_other_string_types_insert_correctly(
    clickhouse_server: ClickHouseServer,
) -> None:
    database = "tick_store_chunks"
    first = table([tick(1), tick(2, symbol="ETHUSDT")])
    second = table([tick(3, venue="sim")])
    chunked = pa.concat_tables([first, second])
    chunked = chunked.set_column(1, "symbol", chunked.column("symbol").cast(pa.large_string()))
    try:
        with ClickHouseTickStore(clickhouse_server.url, database=database) as store:
            store.insert(chunked)

            exported = store.export(DAY1)

        assert (
            exported.to_pylist()
            == pa.concat_tables([first, second])
            .sort_by([("venue", "ascending"), ("symbol", "ascending"), ("trade_time_us", "ascending")])
            .to_pylist()
        )
        assert ids(exported) == [1, 2, 3]
    finally:
        drop_database(clickhouse_server.url, database)


def test_a_server_outage_raises_store_unavailable_and_the_store_recovers_after_restart(
    tmp_path: Path,
) -> None:
    # A server of its own: this test kills it.
    with ClickHouseServer(tmp_path / "clickhouse") as server:
        with ClickHouseTickStore(server.url, connect_timeout_s=2, send_receive_timeout_s=10) as store:
            store.insert(table([tick(1), tick(2)]))
            server.kill()

            with pytest.raises(StoreUnavailableError) as failure:
                store.insert(table([tick(3)]))
            server.start()
            store.insert(table([tick(3)]))  # the same call again, after the outage

            assert isinstance(failure.value, ClickHouseUnavailableError)
            assert "insert of 1 rows" in str(failure.value)
            assert ids(store.export(DAY1)) == [1, 2, 3]


def test_gaps_of_a_busy_day_are_found_without_running_out_of_memory(
    clickhouse_server: ClickHouseServer,
) -> None:
    # 18.16 once needed memory quadratic in a symbol's trades for this query (2 TiB at 1M ticks).
    from trading_assets.market.simulation import MarketConfig, MarketSimulator

    sim = MarketSimulator(
        config=MarketConfig(symbols=("BTCUSDT",), trades_per_second=50), start_us=day_start_us(DAY1)
    )
    ticks = sim.generate(300_000)
    ids_ = ticks["trade_id"]
    hole = pc.and_(pc.greater_equal(ids_, 1_000), pc.less(ids_, 1_010))
    ticks = ticks.filter(pc.invert(hole))
    database = "busy_gaps"
    store = ClickHouseTickStore(clickhouse_server.url, database=database)
    try:
        store.insert(ticks)

        gaps = store.trade_id_gaps(DAY1)

        assert [(g.symbol, g.first_missing, g.last_missing) for g in gaps] == [("BTCUSDT", 1_000, 1_009)]
    finally:
        store.close()
        drop_database(clickhouse_server.url, database)


def test_a_sealed_day_read_without_final_still_hides_a_duplicate_inserted_after_the_seal(
    clickhouse_server: ClickHouseServer,
) -> None:
    # A sealed day (one merged part) is read without FINAL; a later insert adds a second part, and with it
    # the store must go back to FINAL, or the re-inserted trade would come back twice.
    database = "tick_store_sealed_then_inserted"
    day = (day_start_us(DAY1), day_start_us(DAY1) + US_PER_DAY)
    try:
        with ClickHouseTickStore(clickhouse_server.url, database=database) as store:
            store.insert(table([tick(1), tick(2), tick(3)]))
            store.insert(table([tick(2)]))
            assert store.seal(DAY1) == 3
            sealed = store.read(symbol="BTCUSDT", start_us=day[0], end_us=day[1])

            store.insert(table([tick(3), tick(4)]))  # a late replay: trade 3 again, and a new one
            read = store.read(symbol="BTCUSDT", start_us=day[0], end_us=day[1])
            exported = store.export(DAY1)

        assert ids(sealed) == [1, 2, 3]
        assert ids(read) == [1, 2, 3, 4]
        assert ids(exported) == [1, 2, 3, 4]
    finally:
        drop_database(clickhouse_server.url, database)


def test_duplicates_within_one_inserted_part_are_read_once(clickhouse_server: ClickHouseServer) -> None:
    # One insert block with a trade twice is one part of level 0: only FINAL (or a merge) removes the copy.
    database = "tick_store_one_part_duplicates"
    try:
        with ClickHouseTickStore(clickhouse_server.url, database=database) as store:
            store.insert(table([tick(1), tick(2), tick(2), tick(3)]))
            read = store.read(
                symbol="BTCUSDT", start_us=day_start_us(DAY1), end_us=day_start_us(DAY1) + US_PER_DAY
            )
            exported = store.export(DAY1)

        assert ids(read) == [1, 2, 3]
        assert ids(exported) == [1, 2, 3]
    finally:
        drop_database(clickhouse_server.url, database)
