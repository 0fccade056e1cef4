"""The stores' ClickHouse workload on the real 18.16 server: inserts at the high priority, reads at the low
one with fewer threads (as the server logs them), and a read paused while a higher-priority query runs."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Iterator

import pytest
from clickhouse_driver import Client

from resources.clickhouse import ClickHouseWorkload
from resources.clickhouse import workload as workload_module
from resources.clickhouse.workload import known_settings
from resources.table_store.clickhouse import ClickHouseTableStore
from resources.table_store.factory import TableStoreConfig
from resources.tick_store import ClickHouseTickStore, TickStoreConfig
from resources.tick_store.resource import TickStoreResource
from testkit.servers import ClickHouseServer
from tests.resources.clickhouse.admin import drop_database
from tests.resources.table_store.helpers import DAY1 as BARS_DAY
from tests.resources.table_store.helpers import day_bars
from tests.resources.tick_store.helpers import DAY1, day_start_us, table, tick
from trading_assets.core.settings import Settings
from trading_assets.core.time import US_PER_DAY
from trading_assets.market.bars import BARS_TABLE

# The statements' settings as the server logged them (query_log keeps the settings a query changed).
_LOGGED = """
SELECT query,
       Settings.Values[indexOf(Settings.Names, 'priority')] AS priority,
       Settings.Values[indexOf(Settings.Names, 'max_threads')] AS max_threads,
       has(Settings.Names, 'os_thread_priority') AS os_thread_priority
FROM system.query_log
WHERE type = 2 AND query LIKE %(pattern)s AND query NOT LIKE '%%system.query_log%%'
"""


@pytest.fixture
def admin(clickhouse_server: ClickHouseServer) -> Iterator[tuple[Client, str]]:
    """A plain client (no priority: it neither waits nor makes others wait) and a fresh database name."""
    client = Client.from_url(clickhouse_server.url)
    database = f"workload_{uuid.uuid4().hex[:8]}"
    yield client, database
    client.disconnect()
    drop_database(clickhouse_server.url, database)


def logged(client: Client, database: str) -> list[tuple[str, str, str]]:
    """(statement kind, priority, max_threads) of every finished statement on ``database``'s tables."""
    client.execute("SYSTEM FLUSH LOGS")
    rows = client.execute(_LOGGED, {"pattern": f"%{database}.%"})
    # 18.16 does not know os_thread_priority: the stores leave it out (a query sending it would fail).
    assert not any(row[3] for row in rows)
    return [
        (str(query).split()[0].upper(), str(priority), str(threads)) for query, priority, threads, _ in rows
    ]


def test_the_tick_stores_inserts_run_at_the_insert_priority_and_its_reads_lower_with_one_thread(
    clickhouse_server: ClickHouseServer, admin: tuple[Client, str]
) -> None:
    # Arrange: the store asks the server to log its queries (a URL setting, as a deployment would)
    client, database = admin
    store = ClickHouseTickStore(f"{clickhouse_server.url}?log_queries=1", database=database)

    # Act: what the loader does, then what the assets and the bench's queries do
    store.insert(table([tick(1), tick(2)]))
    store.insert(table([tick(2), tick(3)]))
    store.read(symbol="BTCUSDT", start_us=day_start_us(DAY1), end_us=day_start_us(DAY1) + US_PER_DAY)
    store.seal(DAY1)
    store.export(DAY1)
    store.close()

    # Assert
    statements = logged(client, database)
    kinds = {kind for kind, _, _ in statements}
    assert {"INSERT", "SELECT", "OPTIMIZE"} <= kinds
    for kind, priority, threads in statements:
        if kind == "INSERT":
            assert (priority, threads) == ("1", ""), kind
        elif kind == "SELECT":
            assert (priority, threads) == ("2", "1"), kind
        elif kind in ("OPTIMIZE", "ALTER"):
            assert priority == "2", kind


def test_the_table_stores_writes_run_at_the_insert_priority_and_its_reads_lower(
    clickhouse_server: ClickHouseServer, admin: tuple[Client, str]
) -> None:
    client, database = admin
    store = ClickHouseTableStore(
        f"{clickhouse_server.url}?log_queries=1",
        database=database,
        workload=ClickHouseWorkload(insert_priority=3, read_priority=7, read_max_threads=0),
    )

    store.write_partition(BARS_TABLE, BARS_DAY, day_bars(BARS_DAY))
    store.read(BARS_TABLE, start_us=day_start_us(BARS_DAY), end_us=day_start_us(BARS_DAY) + US_PER_DAY)
    store.close()

    statements = logged(client, database)
    assert {kind for kind, _, _ in statements} >= {"INSERT", "SELECT", "ALTER"}
    for kind, priority, threads in statements:
        if kind == "INSERT":
            assert priority == "3", kind
        elif kind in ("SELECT", "ALTER"):
            # read_max_threads 0: the server's default, so the statement does not change max_threads
            assert (priority, threads) == ("7", ""), kind


def test_a_store_asked_for_os_thread_priority_reads_from_18_16_without_it(
    clickhouse_server: ClickHouseServer, admin: tuple[Client, str], caplog: pytest.LogCaptureFixture
) -> None:
    # Arrange: a store whose reads ask for nice 19, on a server that has no such setting
    client, database = admin
    store = ClickHouseTickStore(
        f"{clickhouse_server.url}?log_queries=1",
        database=database,
        workload=ClickHouseWorkload(read_os_thread_priority=19),
    )
    start = day_start_us(DAY1)

    # Act
    with caplog.at_level(logging.WARNING, logger="resources.clickhouse.workload"):
        store.insert(table([tick(1), tick(2)]))
        rows = store.read(symbol="BTCUSDT", start_us=start, end_us=start + US_PER_DAY).num_rows
        store.read(symbol="BTCUSDT", start_us=start, end_us=start + US_PER_DAY)
    store.close()

    # Assert: the reads worked, without the setting (logged() checks), and the warning came once
    assert rows == 2
    assert {kind for kind, _, _ in logged(client, database)} >= {"INSERT", "SELECT"}
    assert caplog.text.count("does not know the setting os_thread_priority") == 1


def test_a_read_pauses_while_a_query_of_the_insert_priority_runs(
    clickhouse_server: ClickHouseServer, admin: tuple[Client, str]
) -> None:
    # Arrange: ticks to read, and a query at the inserts' priority that runs for 3 s (sleep's longest)
    client, database = admin
    store = ClickHouseTickStore(clickhouse_server.url, database=database)
    store.insert(table([tick(n) for n in range(1, 101)]))
    holder = Client.from_url(clickhouse_server.url)
    held = threading.Thread(
        target=lambda: holder.execute("SELECT sleep(3)", settings=store.workload.insert_settings())
    )
    read: dict[str, int] = {}

    def read_day() -> None:
        start = day_start_us(DAY1)
        read["rows"] = store.read(symbol="BTCUSDT", start_us=start, end_us=start + US_PER_DAY).num_rows

    reader = threading.Thread(target=read_day)

    # Act: read while the high-priority query runs; watch the server's count of paused queries
    held.start()
    while not client.execute("SELECT count() FROM system.processes WHERE query LIKE 'SELECT sleep(3)%'")[0][
        0
    ]:
        time.sleep(0.02)
    reader.start()
    paused = []
    while reader.is_alive():
        paused.append(
            client.execute("SELECT value FROM system.metrics WHERE metric = 'QueryPreempted'")[0][0]
        )
        time.sleep(0.05)
    held.join()
    holder.disconnect()
    store.close()

    # Assert: the store's read waited (ClickHouse counts it as preempted) and then read every tick
    assert max(paused) >= 1
    assert read["rows"] == 100


def test_the_workload_comes_from_the_settings_to_both_stores_configs() -> None:
    settings = Settings.from_env(
        {
            "TRADEGRAPH_CLICKHOUSE_INSERT_PRIORITY": "1",
            "TRADEGRAPH_CLICKHOUSE_READ_PRIORITY": "5",
            "TRADEGRAPH_CLICKHOUSE_READ_MAX_THREADS": "0",
        }
    )

    tick_config = TickStoreConfig.from_settings(settings)
    table_config = TableStoreConfig.from_settings(settings)

    expected = ClickHouseWorkload(insert_priority=1, read_priority=5, read_max_threads=0)
    assert tick_config.workload == table_config.workload == expected
    assert expected.read_settings() == {"priority": 5}  # 0 threads: the server's default, not sent


def test_the_reads_os_thread_priority_is_sent_when_set() -> None:
    settings = Settings.from_env({"TRADEGRAPH_CLICKHOUSE_READ_OS_THREAD_PRIORITY": "19"})

    workload = ClickHouseWorkload.from_settings(settings)

    assert workload.read_settings() == {"priority": 2, "max_threads": 1, "os_thread_priority": 19}
    assert ClickHouseWorkload().read_settings() == {"priority": 2, "max_threads": 1}  # 0: not sent


def test_an_os_thread_priority_above_19_is_refused_naming_the_field() -> None:
    with pytest.raises(ValueError, match=r"read_os_thread_priority=20 must be 19 or less"):
        ClickHouseWorkload(read_os_thread_priority=20)


def test_a_server_without_os_thread_priority_gets_the_reads_without_it_and_a_warning(
    clickhouse_server: ClickHouseServer, admin: tuple[Client, str], caplog: pytest.LogCaptureFixture
) -> None:
    client, _ = admin
    settings = ClickHouseWorkload(read_os_thread_priority=19).read_settings()

    with caplog.at_level(logging.WARNING, logger="resources.clickhouse.workload"):
        kept = known_settings(client, settings, where="ClickHouse at test")

    assert kept == {"priority": 2, "max_threads": 1}
    assert "ClickHouse at test does not know the setting os_thread_priority" in caplog.text


def test_an_optional_setting_the_server_knows_is_kept(
    clickhouse_server: ClickHouseServer, admin: tuple[Client, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # 18.16 knows max_threads: taken as optional, it stays (as os_thread_priority on a current server)
    client, _ = admin
    monkeypatch.setattr(
        workload_module, "OPTIONAL_SETTINGS", frozenset({"max_threads", "os_thread_priority"})
    )

    kept = known_settings(client, {"max_threads": 1, "os_thread_priority": 19}, where="ClickHouse at test")

    assert kept == {"max_threads": 1}


def test_the_dagster_resource_passes_its_workload_fields_to_the_store_config() -> None:
    resource = TickStoreResource(
        kind="clickhouse", embedded_dir="unused", clickhouse_read_priority=4, clickhouse_read_max_threads=2
    )

    assert resource.config().workload == ClickHouseWorkload(
        insert_priority=1, read_priority=4, read_max_threads=2, read_os_thread_priority=0
    )


def test_a_negative_priority_is_refused_naming_the_field() -> None:
    with pytest.raises(ValueError, match=r"read_priority=-1 must be 0 or more"):
        ClickHouseWorkload(read_priority=-1)
