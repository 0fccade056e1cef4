"""The one way to build a tick store: config from settings, the factory, and the Dagster resource."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from resources.tick_store import (
    ClickHouseTickStore,
    ClickHouseTickStoreError,
    EmbeddedTickStore,
    TickStoreConfig,
    open_tick_store,
)
from resources.tick_store.resource import TickStoreResource
from testkit.servers import ClickHouseServer
from trading_assets.core.settings import Settings


def test_config_from_settings_takes_the_store_its_url_database_and_password(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {
            "TRADEGRAPH_HOME": str(tmp_path),
            "TRADEGRAPH_STORE": "clickhouse",
            "TRADEGRAPH_CLICKHOUSE_URL": "clickhouse://app@ch.internal:9000/default",
            "TRADEGRAPH_CLICKHOUSE_DATABASE": "prod",
            "TRADEGRAPH_CLICKHOUSE_PASSWORD": "p@ss/word",
        }
    )

    config = TickStoreConfig.from_settings(settings)

    assert (config.kind, config.clickhouse_url, config.database) == (
        "clickhouse",
        "clickhouse://app@ch.internal:9000/default",
        "prod",
    )
    assert config.embedded_dir == tmp_path / "ticks"
    assert config.clickhouse_password == "p@ss/word"
    assert "p@ss/word" not in repr(config)


def test_an_unknown_kind_is_refused_when_the_config_is_built() -> None:
    with pytest.raises(ValueError, match="tick store kind 'postgres' must be one of embedded, clickhouse"):
        TickStoreConfig(kind="postgres")


def test_the_factory_opens_the_embedded_store_in_its_folder(tmp_path: Path) -> None:
    with open_tick_store(TickStoreConfig(embedded_dir=tmp_path / "ticks")) as store:
        assert isinstance(store, EmbeddedTickStore)
        assert store.root == tmp_path / "ticks"


def test_the_factory_opens_clickhouse_with_the_settings_database(clickhouse_server: ClickHouseServer) -> None:
    database = f"factory_{uuid.uuid4().hex[:8]}"
    config = TickStoreConfig(kind="clickhouse", clickhouse_url=clickhouse_server.url, database=database)

    with open_tick_store(config) as store:
        assert isinstance(store, ClickHouseTickStore)
        assert store.database == database
        assert store.partitions() == []


def test_the_password_reaches_clickhouse(clickhouse_server: ClickHouseServer) -> None:
    # The test server's default user has no password: a password that reaches it is refused.
    config = TickStoreConfig(
        kind="clickhouse", clickhouse_url=clickhouse_server.url, clickhouse_password="not-the-password"
    )

    # The store connects on first use (a service may start before its server).
    with open_tick_store(config) as store, pytest.raises(ClickHouseTickStoreError, match=r"(?i)password"):
        store.partitions()


def test_the_dagster_resource_uses_its_fields_and_never_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRADEGRAPH_STORE", "clickhouse")
    monkeypatch.setenv("TRADEGRAPH_CLICKHOUSE_URL", "clickhouse://default@127.0.0.1:1/default")
    resource = TickStoreResource(kind="embedded", embedded_dir=str(tmp_path / "ticks"))

    with resource.open() as store:
        assert isinstance(store, EmbeddedTickStore)
        assert store.root == tmp_path / "ticks"
