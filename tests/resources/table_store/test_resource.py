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
from trading_assets.definitions import table_store_resource


def test_the_graphs_table_store_sits_beside_the_tick_store_the_settings_name(tmp_path: Path) -> None:
    embedded = Settings.from_env({"TRADEGRAPH_HOME": str(tmp_path)})
    production = Settings.from_env(
        {
            "TRADEGRAPH_STORE": "clickhouse",
            "TRADEGRAPH_CLICKHOUSE_URL": "clickhouse://reader@ch.example:9000/default",
            "TRADEGRAPH_CLICKHOUSE_DATABASE": "markets",
        }
    )

    local = table_store_resource(embedded)
    remote = table_store_resource(production)

    assert (local.kind, local.embedded_dir) == ("embedded", str(tmp_path / "tables"))
    assert (remote.kind, remote.clickhouse_url, remote.clickhouse_database) == (
        "clickhouse",
        "clickhouse://reader@ch.example:9000/default",
        "markets",
    )


def test_the_factory_opens_the_implementation_the_config_names(tmp_path: Path) -> None:
    def config(store: str) -> TableStoreConfig:
        return TableStoreConfig(
            kind=store,  # type: ignore[arg-type]
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
    resource = TableStoreResource(kind="embedded", embedded_dir=str(tmp_path / "tables"))

    @dg.asset
    def signals(table_store: TableStoreResource) -> None:
        with table_store.open() as store:
            store.write_partition(SIGNALS, DAY1, rows(DAY1))

    result = dg.materialize([signals], resources={"table_store": resource})

    assert result.success
    assert EmbeddedTableStore(tmp_path / "tables").days(SIGNALS) == [TablePartition(day=DAY1, rows=16)]
    assert not (tmp_path / "elsewhere").exists()


def test_an_embedded_store_without_a_folder_is_refused_when_opened() -> None:
    resource = TableStoreResource(kind="embedded")

    with pytest.raises(ValueError, match="needs a folder: set embedded_dir"), resource.open():
        pass
