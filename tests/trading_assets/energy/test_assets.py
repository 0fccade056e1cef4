"""energy_features -> energy_model -> energy_backtest materialized in-process on the embedded table store
with the model registry on a sqlite MLflow in tmp, and their lineage into the source assets."""

from __future__ import annotations

import base64
import re
import uuid
from pathlib import Path

import dagster as dg
import numpy as np
import pytest

from resources.model_registry.resource import ModelRegistryResource
from resources.table_store.embedded import EmbeddedTableStore
from resources.table_store.resource import TableStoreResource
from testkit.servers import ClickHouseServer
from tests.trading_assets.energy.hand_made import HAND_MADE_DAY, hand_made_day
from tests.trading_assets.energy.helpers import (
    CONFIG,
    SPECS,
    TRADES,
    days,
    market_days,
)
from trading_assets.core.settings import Settings
from trading_assets.core.time import day_bounds_us
from trading_assets.definitions import resources as graph_resources
from trading_assets.energy.assets import GROUP, build_energy_assets, energy_specs
from trading_assets.energy.day import build_day
from trading_assets.energy.features import FEATURES_SCHEMA, features_table
from trading_assets.models.features_asset import features as features_asset
from trading_assets.models.model_assets import build_model_assets
from trading_assets.sources.assets import build_source_assets, source_asset_key

DAYS = 10
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
RUN_CONFIG = {
    "ops": {
        "energy_model": {"config": {"train_days": DAYS, "validation_days": 2, "n_estimators": 80}},
        "energy_backtest": {"config": {"test_days": 6}},
    }
}


def _metadata(result: dg.ExecuteInProcessResult, key: str) -> dict[str, object]:
    (event,) = [m for m in result.get_asset_materialization_events() if m.asset_key == dg.AssetKey(key)]
    return {name: value.value for name, value in event.materialization.metadata.items()}


def _png(markdown: object) -> bytes:
    found = re.search(r"base64,([A-Za-z0-9+/=]+)\)", str(markdown))
    assert found is not None
    return base64.b64decode(found.group(1))


@pytest.fixture
def graph(tmp_path: Path) -> dict[str, object]:
    """Ten seeded market days in the source tables and the resources over them."""
    truth = market_days(tmp_path / "tables", DAYS)
    return {
        "truth": truth,
        "resources": {
            "table_store": TableStoreResource(kind="embedded", embedded_dir=str(tmp_path / "tables")),
            "model_registry": ModelRegistryResource(
                tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}", artifacts_dir=str(tmp_path / "artifacts")
            ),
        },
        "tables": tmp_path / "tables",
    }


def test_features_model_and_backtest_materialize_register_and_beat_the_baselines(graph: dict) -> None:
    assets = build_energy_assets(CONFIG, SPECS)
    # Act: the daily features, then the model and its backtest.
    for day in days(DAYS):
        result = dg.materialize(
            assets, selection=["energy_features"], partition_key=day.isoformat(), resources=graph["resources"]
        )
        assert result.success
        shown = _metadata(result, "energy_features")
        assert (shown["rows"], shown["hours"], shown["intraday_trades"]) == (24, 24, 24 * 12)
        assert shown["missing_inputs"] == {
            "da_price": 0,
            "load_forecast": 0,
            "wind_solar_forecast": 0,
            "intraday_trades": 0,
        }
    result = dg.materialize(
        assets,
        selection=["energy_model", "energy_backtest"],
        resources=graph["resources"],
        run_config=RUN_CONFIG,
    )

    # Assert: features stored per day
    assert result.success
    with EmbeddedTableStore(graph["tables"]) as store:
        assert [p.day for p in store.days(features_table("DE"))] == days(DAYS)
    # the model: registered with its params, metrics, tags and importance plot
    model = _metadata(result, "energy_model")
    assert model["model"] == "tradegraph-energy-DE v1"
    assert model["window"] == f"{days(DAYS)[0]}..{days(DAYS)[-1]}"
    assert _png(model["feature_importance"]).startswith(PNG_MAGIC)
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=graph["resources"]["model_registry"].tracking_uri)
    (version,) = client.search_model_versions("name='tradegraph-energy-DE'")
    run = client.get_run(version.run_id)
    assert run.data.params["n_estimators"] == "80" and run.data.params["kind"] == "regression"
    assert run.data.tags["tradegraph.area"] == "DE"
    assert run.data.tags["tradegraph.sources"] == ",".join(CONFIG.sources)
    assert {"train_rmse", "validation_rmse", "backtest_pnl_eur", "baseline_always_long_pnl_eur"} <= set(
        run.data.metrics
    )
    artifacts = {a.path for a in client.list_artifacts(version.run_id)}
    assert {"feature_importance.png", "equity_curve.png"} <= artifacts
    # the backtest: six walk-forward days, equity curve, and a learnable spread beats both baselines
    backtest = _metadata(result, "energy_backtest")
    assert backtest["test_days"] == 6 and backtest["scored_hours"] == 6 * 24
    assert _png(backtest["equity_curve"]).startswith(PNG_MAGIC)
    assert backtest["pnl_eur"] > 0.0 == backtest["flat_pnl_eur"]
    assert backtest["pnl_eur"] > backtest["always_long_pnl_eur"]
    assert run.data.metrics["backtest_pnl_eur"] == pytest.approx(backtest["pnl_eur"])


def test_energy_assets_sit_in_their_group_downstream_of_their_sources(tmp_path: Path) -> None:
    # Arrange
    source_assets, source_checks = build_source_assets(list(SPECS))
    energy = build_energy_assets(CONFIG, SPECS)
    resources = graph_resources(Settings.from_env({"TRADEGRAPH_HOME": str(tmp_path)}))
    # Act
    # In one graph with the crypto models (no name clashes).
    crypto = [features_asset, *build_model_assets(["BTCUSDT"])]
    graph = dg.Definitions(
        assets=[*source_assets, *energy, *crypto], asset_checks=source_checks, resources=resources
    ).resolve_asset_graph()
    # Assert
    features = dg.AssetKey("energy_features")
    assert graph.get(features).group_name == GROUP
    assert set(graph.get(features).parent_keys) == {source_asset_key(spec) for spec in SPECS}
    assert set(graph.get(dg.AssetKey("energy_model")).parent_keys) == {features}
    assert set(graph.get(dg.AssetKey("energy_backtest")).parent_keys) == {
        dg.AssetKey("energy_model"),
        features,
    }
    # The trades of a delivery day start trading the day before: both days are upstream.
    assert graph.get(features).partitions_def == graph.get(source_asset_key(TRADES)).partitions_def
    mapping = energy[0].get_partition_mapping(source_asset_key(TRADES))
    assert isinstance(mapping, dg.TimeWindowPartitionMapping) and mapping.start_offset == -1


@pytest.fixture(params=["embedded", "clickhouse"])
def table_store(request: pytest.FixtureRequest, tmp_path: Path) -> TableStoreResource:
    if request.param == "embedded":
        return TableStoreResource(kind="embedded", embedded_dir=str(tmp_path / "tables"))
    server: ClickHouseServer = request.getfixturevalue("clickhouse_server")
    return TableStoreResource(
        kind="clickhouse", clickhouse_url=server.url, clickhouse_database=f"energy_{uuid.uuid4().hex[:8]}"
    )


def test_a_day_with_missing_inputs_is_stored_with_its_gaps_and_counts_them(
    table_store: TableStoreResource,
) -> None:
    # Arrange: the hand-made day (one load hour only issued late, 22 hours without trades), with a late
    # revision of every load value planted.
    with table_store.open() as store:
        hand_made_day(store, late_load=True)
        expected = build_day(store, CONFIG, energy_specs(CONFIG, SPECS), HAND_MADE_DAY).rows
    # Act
    (features, *_) = build_energy_assets(CONFIG, SPECS)
    result = dg.materialize(
        [features],
        partition_key=HAND_MADE_DAY.isoformat(),
        resources={"table_store": table_store},
    )
    # Assert: the stored rows are the built ones, NaN gaps included, and the metadata counts the gaps.
    assert result.success
    shown = _metadata(result, "energy_features")
    assert shown["missing_inputs"] == {
        "da_price": 0,
        "load_forecast": 1,
        "wind_solar_forecast": 0,
        "intraday_trades": 22,
    }
    assert (shown["rows"], shown["hours"], shown["labelled_hours"]) == (24, 2, 2)
    with table_store.open() as store:
        start, end = day_bounds_us(HAND_MADE_DAY)
        stored = store.read(features_table(CONFIG.area), start_us=start, end_us=end)
    assert stored.schema.equals(FEATURES_SCHEMA)
    assert stored.to_pandas().equals(expected.to_pandas())
    # Hour 5's load was only ever issued after the decision (the planted revision included): no value.
    assert np.isnan(stored["load_forecast_mw"].to_numpy()[5])
    assert 123_456.0 not in stored["load_forecast_mw"].to_pylist()
    (check,) = result.get_asset_check_evaluations()
    assert (check.check_name, check.passed, check.partition) == (
        "no_lookahead",
        True,
        HAND_MADE_DAY.isoformat(),
    )
    assert check.metadata["late_rows"].value == 0


def test_a_day_no_source_has_delivered_fails_and_stores_nothing(tmp_path: Path) -> None:
    (features, *_) = build_energy_assets(CONFIG, SPECS)
    table_store = TableStoreResource(kind="embedded", embedded_dir=str(tmp_path / "tables"))
    result = dg.materialize(
        [features],
        partition_key=HAND_MADE_DAY.isoformat(),
        resources={"table_store": table_store},
        raise_on_error=False,
    )
    assert not result.success
    (failure,) = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert "the source loader has not written it yet" in str(failure.event_specific_data)
    with table_store.open() as store:
        assert store.days(features_table(CONFIG.area)) == []


def test_a_model_without_enough_feature_days_fails_naming_the_missing_days(graph: dict) -> None:
    assets = build_energy_assets(CONFIG, SPECS)
    for day in days(DAYS)[:3]:
        dg.materialize(
            assets, selection=["energy_features"], partition_key=day.isoformat(), resources=graph["resources"]
        )
    result = dg.materialize(
        assets,
        selection=["energy_model"],
        resources=graph["resources"],
        run_config={"ops": {"energy_model": RUN_CONFIG["ops"]["energy_model"]}},
        raise_on_error=False,
    )
    assert not result.success
    (failure,) = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert "energy_features_de" in str(failure.event_specific_data)
    assert "Materialize `energy_features`" in str(failure.event_specific_data)
