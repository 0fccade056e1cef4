"""Every SQL query of the dashboards runs on ClickHouse 18.16 (the server the test setup starts) over the
tables the energy example writes, created by the table store from the example's own sources file and
energy area, and returns rows: a renamed column or table fails here, not in front of a user."""

import datetime as dt
import json
import os
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest

from ops.dashboards import boards
from ops.dashboards.energy import TABLES
from ops.dashboards.sql import expand_macros
from resources.sources.config import load_sources
from resources.table_store import TableStoreConfig, open_table_store
from resources.table_store.spec import TableSpec
from testkit.servers import ClickHouseServer
from tests.resources.clickhouse.admin import drop_database
from trading_assets.core.time import US_PER_MINUTE, day_start_us
from trading_assets.energy.features import features_table
from trading_assets.sources.tables import source_table

ROOT = Path(__file__).resolve().parents[2]
DAY = dt.date(2026, 11, 2)
ROWS = 96


def _rows(spec: TableSpec) -> pa.Table:
    """A day of rows of any of the tables: int64 columns are times across the day (the time and key
    columns), strings a fixed label, floats rising values."""
    start = day_start_us(DAY)
    columns: dict[str, list[object]] = {}
    for field in spec.schema:
        if pa.types.is_integer(field.type):
            columns[field.name] = [start + i * 15 * US_PER_MINUTE for i in range(ROWS)]
        elif pa.types.is_floating(field.type):
            columns[field.name] = [10.0 + i for i in range(ROWS)]
        elif pa.types.is_boolean(field.type):
            columns[field.name] = [True] * ROWS
        else:
            columns[field.name] = ["B16" if field.name == "psr_type" else "DE"] * ROWS
    return pa.table(columns, schema=spec.schema)


@pytest.fixture
def energy_database(clickhouse_server: ClickHouseServer) -> Iterator[str]:
    """A fresh database holding a day of every table of the energy example, written by the table store."""
    database = f"energy_sql_{os.getpid()}"
    config = TableStoreConfig(
        kind="clickhouse", clickhouse_url=clickhouse_server.url, clickhouse_database=database
    )
    specs = [source_table(entry.spec()) for entry in load_sources(ROOT / "examples/energy/sources.toml")]
    specs.append(features_table("DE"))
    with open_table_store(config) as store:
        for spec in specs:
            store.write_partition(spec, DAY, _rows(spec))
    assert {spec.name for spec in specs} >= set(TABLES.values()), (
        "the dashboard names tables the example lacks"
    )
    yield database
    drop_database(clickhouse_server.url, database)


def _query(server: ClickHouseServer, database: str, sql: str) -> dict[str, object]:
    """Run ``sql`` over ClickHouse's HTTP interface, as the Grafana plugin does (protocol http)."""
    params = urllib.parse.urlencode({"database": database})
    request = urllib.request.Request(
        f"http://127.0.0.1:{server.http_port}/?{params}", data=f"{sql} FORMAT JSON".encode()
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def test_every_sql_query_of_the_dashboards_returns_rows_on_the_examples_tables(
    clickhouse_server: ClickHouseServer, energy_database: str
) -> None:
    queries = [sql for board in boards() for sql in board.sql()]
    start = dt.datetime.combine(DAY, dt.time(), dt.UTC)

    results = {
        sql: _query(
            clickhouse_server,
            energy_database,
            expand_macros(sql, start=start, end=start + dt.timedelta(days=1)),
        )
        for sql in queries
    }

    assert len(queries) >= 6
    empty = [sql for sql, result in results.items() if not result["data"]]
    assert not empty, f"queries without rows: {empty}"
    # Every query gives Grafana its time column.
    metas = {sql: result["meta"][0] for sql, result in results.items()}
    odd = {
        sql: meta
        for sql, meta in metas.items()
        if meta["name"] != "time" or not str(meta["type"]).startswith("DateTime")
    }
    assert not odd, odd
