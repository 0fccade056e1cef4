"""Session fixtures: real servers on 127.0.0.1, started once per test session and always stopped.

A server that cannot start fails the tests that need it with its log; it is never skipped.
"""

from __future__ import annotations

import gc
import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from testkit.servers import ClickHouseServer, KafkaBroker, MlflowServer, S3Server, install_cleanup_handlers

logging.getLogger("kafka").setLevel(logging.WARNING)


def pytest_sessionstart(session: pytest.Session) -> None:
    # Stop servers also when the run is interrupted or killed with SIGTERM.
    install_cleanup_handlers()


@pytest.fixture(scope="session")
def servers_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("servers")


@pytest.fixture(scope="session")
def clickhouse_server(servers_dir: Path) -> Iterator[ClickHouseServer]:
    with ClickHouseServer(servers_dir / "clickhouse") as server:
        yield server


@pytest.fixture(scope="session")
def kafka_broker(servers_dir: Path) -> Iterator[KafkaBroker]:
    with KafkaBroker(servers_dir / "tansu") as broker:
        yield broker


@pytest.fixture(scope="session")
def s3_server(servers_dir: Path) -> Iterator[S3Server]:
    with S3Server(servers_dir / "moto") as server:
        yield server


@pytest.fixture(scope="session")
def mlflow_server(servers_dir: Path) -> Iterator[MlflowServer]:
    with MlflowServer(servers_dir / "mlflow") as server:
        yield server


@pytest.fixture(autouse=True)
def _no_stray_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    # Tests build their own settings; a developer's TRADEGRAPH_* variables must not leak in.
    for name in list(os.environ):
        if name.startswith("TRADEGRAPH_"):
            monkeypatch.delenv(name)


@pytest.fixture(autouse=True)
def _heap_unfrozen() -> Iterator[None]:
    # A service command run in-process (`main(["execute", ...])`) freezes the start-up heap
    # (trading_assets/services/gc_pauses.py); the test process's objects go back to the collector after.
    yield
    if gc.get_freeze_count():
        gc.unfreeze()
