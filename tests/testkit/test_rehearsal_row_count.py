"""The rehearsal's row count of the store's tables, against a real ClickHouse 18.16."""

import os
from collections.abc import Iterator

import pytest
from clickhouse_driver import Client

from testkit.rehearsal.stand_ins import row_count
from testkit.servers import ClickHouseServer


@pytest.fixture
def database(clickhouse_server: ClickHouseServer) -> Iterator[str]:
    client = Client(host=clickhouse_server.host, port=clickhouse_server.tcp_port)
    name = f"row_count_{os.getpid()}"
    client.execute(f"DROP DATABASE IF EXISTS {name}")
    client.execute(f"CREATE DATABASE {name}")
    yield name
    client.execute(f"DROP DATABASE IF EXISTS {name}")
    client.disconnect()


def test_a_writes_staging_table_is_not_counted(clickhouse_server: ClickHouseServer, database: str) -> None:
    # Arrange: a source table, and a write of it under way (its staging table, dropped when it ends)
    client = Client(host=clickhouse_server.host, port=clickhouse_server.tcp_port, database=database)
    for table in ("src_trades", "src_trades__staging_0123456789abcdef"):
        client.execute(f"CREATE TABLE `{table}` (x UInt32) ENGINE = MergeTree ORDER BY x")
        client.execute(f"INSERT INTO `{table}` (x) VALUES", [(1,), (2,), (3,)])
    client.disconnect()

    # Act
    counted = row_count(
        "",
        "src_",
        host=clickhouse_server.host,
        port=clickhouse_server.tcp_port,
        user="default",
        database=database,
    )

    # Assert: the table's rows once; before, the staging copy was added, or, dropped between the
    # listing and its count, turned the whole count into -1 (a failed rehearsal in CI)
    assert counted == 3
