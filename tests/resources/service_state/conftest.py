"""The ``state`` fixture: every contract test runs on ClickHouse 18.16 (real server) and the SQLite store.

``reopen`` opens a second, independent store on the same data, as another process (or the Dagster daemon)
would.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from resources.service_state import EmbeddedServiceState, ServiceStateStore
from resources.service_state.clickhouse import ClickHouseServiceState
from testkit.servers import ClickHouseServer
from tests.resources.clickhouse.admin import drop_database

_databases = itertools.count()

Reopen = Callable[[], ServiceStateStore]


@pytest.fixture(params=["clickhouse", "embedded"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Reopen]:
    """A factory of stores on one fresh database; every store it opened is closed afterwards."""
    opened: list[ServiceStateStore] = []
    if request.param == "embedded":
        path = tmp_path / "state" / "service_state.sqlite"

        def reopen() -> ServiceStateStore:
            opened.append(EmbeddedServiceState(path))
            return opened[-1]

        yield reopen
    else:
        server: ClickHouseServer = request.getfixturevalue("clickhouse_server")
        database = f"service_state_contract_{os.getpid()}_{next(_databases)}"

        def reopen() -> ServiceStateStore:
            opened.append(ClickHouseServiceState(server.url, database=database))
            return opened[-1]

        yield reopen
        drop_database(server.url, database)
    for store in opened:
        store.close()


@pytest.fixture
def state(backend: Reopen) -> ServiceStateStore:
    """One store of the backend under test."""
    return backend()
