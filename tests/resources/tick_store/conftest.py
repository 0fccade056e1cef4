"""The ``store`` fixture: every contract test runs on ClickHouse 18.16 (real server) and the embedded store."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from resources.tick_store import ClickHouseTickStore, EmbeddedTickStore, TickStore
from testkit.servers import ClickHouseServer
from tests.resources.clickhouse.admin import drop_database

_databases = itertools.count()


@pytest.fixture(params=["clickhouse", "embedded"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TickStore]:
    if request.param == "embedded":
        with EmbeddedTickStore(tmp_path / "ticks") as embedded:
            yield embedded
        return
    server: ClickHouseServer = request.getfixturevalue("clickhouse_server")
    database = f"tick_store_contract_{os.getpid()}_{next(_databases)}"
    with ClickHouseTickStore(server.url, database=database) as clickhouse:
        yield clickhouse
    drop_database(server.url, database)
