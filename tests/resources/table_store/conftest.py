"""The ``store`` fixture: every contract test runs on ClickHouse 18.16 (real server) and the embedded store.

``open_store()`` opens another store on the same tables (another connection, or another set of file
handles), as a second process would.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from resources.table_store import TableStore, TableStoreConfig, open_table_store
from testkit.servers import ClickHouseServer
from tests.resources.clickhouse.admin import drop_database

_databases = itertools.count()

OpenStore = Callable[[], TableStore]


@pytest.fixture(params=["clickhouse", "embedded"])
def store_config(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TableStoreConfig]:
    """The config of a store of this test's own: a fresh ClickHouse database (dropped after) or folder."""
    if request.param == "embedded":
        yield TableStoreConfig(kind="embedded", embedded_dir=tmp_path / "tables")
        return
    server: ClickHouseServer = request.getfixturevalue("clickhouse_server")
    database = f"table_store_contract_{os.getpid()}_{next(_databases)}"
    yield TableStoreConfig(kind="clickhouse", clickhouse_url=server.url, clickhouse_database=database)
    drop_database(server.url, database)


@pytest.fixture
def open_store(store_config: TableStoreConfig) -> Iterator[OpenStore]:
    """A function that opens a store on this test's tables (closed at the end of the test)."""
    opened: list[TableStore] = []

    def open_store() -> TableStore:
        store = open_table_store(store_config)
        opened.append(store)
        return store

    yield open_store
    for store in opened:
        store.close()


@pytest.fixture
def store(open_store: OpenStore) -> TableStore:
    return open_store()
