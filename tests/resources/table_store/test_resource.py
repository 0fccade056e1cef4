"""TableStoreResource and the factory: typed fields set by the caller, the table store beside the tick store."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from resources.table_store import TablePartition, TableStoreConfig, open_table_store
from resources.table_store.clickhouse import ClickHouseTableStore
from resources.table_store.embedded import EmbeddedTableStore
from resources.table_store.resource import TableStoreResource
from tests.resources.table_store.helpers import DAY1, SIGNALS, rows
from trading_assets.core.settings import Settings


def test_from_settings_puts_the_tables_beside_the_tick_store(tmp_path: Path) -> None:
    embedded = Settings.from_env({"TRADEGRAPH_HOME": str(tmp_path)})
    production = Settings.from_env(
        {
            "TRADEGRAPH_STORE": "clickhouse",
            "TRADEGRAPH_CLICKHOUSE_URL": "clickhouse://reader@ch.example:9000/default",
            "TRADEGRAPH_CLICKHOUSE_DATABASE": "markets",
        }
    )

    local = TableStoreResource.from_settings(embedded)
    remote = TableStoreResource.from_settings(production)

    assert (local.store, local.embedded_dir) == ("embedded", str(tmp_path / "tables"))
    assert (remote.store, remote.clickhouse_url, remote.clickhouse_database) == (
        "clickhouse",
        "clickhouse://reader@ch.example:9000/default",
        "markets",
    )


def test_the_factory_opens_the_implementation_the_config_names(tmp_path: Path) -> None:
    def config(store: str) -> TableStoreConfig:
        return TableStoreConfig(
            store=store,  # type: ignore[arg-type]
            embedded_dir=tmp_path,
            clickhouse_url="clickhouse://default@127.0.0.1:1/default",
            clickhouse_database="tradegraph",
        )

    with (
        open_table_store(config("embedded")) as embedded,
        open_table_store(config("clickhouse")) as clickhouse,
    ):
        assert isinstance(embedded, EmbeddedTableStore) and embedded.root == tmp_path
        assert isinstance(clickhouse, ClickHouseTableStore) and clickhouse.database == "tradegraph"
    with pytest.raises(ValueError, match="'duckdb' must be 'embedded' or 'clickhouse'"):
        open_table_store(config("duckdb"))


def test_the_resource_uses_its_fields_and_never_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRADEGRAPH_STORE", "clickhouse")
    monkeypatch.setenv("TRADEGRAPH_HOME", str(tmp_path / "elsewhere"))
    resource = TableStoreResource(store="embedded", embedded_dir=str(tmp_path / "tables"))

    @dg.asset
    def signals(table_store: TableStoreResource) -> None:
        with table_store.open() as store:
            store.write_partition(SIGNALS, DAY1, rows(DAY1))

    result = dg.materialize([signals], resources={"table_store": resource})

    assert result.success
    assert EmbeddedTableStore(tmp_path / "tables").days(SIGNALS) == [TablePartition(day=DAY1, rows=16)]
    assert not (tmp_path / "elsewhere").exists()


def test_the_graphs_default_table_store_follows_the_settings_when_a_run_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from trading_assets.definitions import resources

    default = resources()["table_store"]
    monkeypatch.setenv("TRADEGRAPH_HOME", str(tmp_path))  # after the definitions were built

    @dg.asset
    def signals(table_store: TableStoreResource) -> None:
        with table_store.open() as store:
            store.write_partition(SIGNALS, DAY1, rows(DAY1, count=1))

    result = dg.materialize([signals], resources={"table_store": default})

    assert result.success
    assert EmbeddedTableStore(tmp_path / "tables").days(SIGNALS) == [TablePartition(day=DAY1, rows=4)]


def test_an_embedded_store_without_a_folder_is_refused_when_opened() -> None:
    resource = TableStoreResource(store="embedded")

    with pytest.raises(ValueError, match="needs a folder: set embedded_dir"), resource.open():
        pass
