"""features -> trained_models -> backtest -> champion_model materialized in-process, on the embedded table
store, with the model registry on sqlite and on a real MLflow server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from resources.model_registry.base import ModelRegistry
from resources.model_registry.resource import ModelRegistryResource
from resources.table_store.embedded import EmbeddedTableStore
from testkit.servers import MlflowServer
from tests.trading_assets.models.conftest import MARKET_SYMBOLS, RANDOM_WALK, TRENDING, market_days
from trading_assets.core.settings import Settings
from trading_assets.core.time import day_bounds_us
from trading_assets.definitions import resources
from trading_assets.market.bars import BARS_TABLE
from trading_assets.models.champion_flow import CHAMPION
from trading_assets.models.features import FEATURE_COLUMNS, FEATURES_TABLE, feature_code_digest
from trading_assets.models.features_asset import features
from trading_assets.models.model_assets import build_model_assets
from trading_assets.models.refs import model_name
from trading_assets.models.signal_store import signals_table

MODEL_ASSETS = build_model_assets(MARKET_SYMBOLS)
TRAINING = {"train_days": 3, "holdout_days": 1, "fee_bps": 2.0, "n_estimators": 100}
GATE = {"walk_forward_folds": 2, "min_trades": 5}


def run_config(*, training: dict[str, object] | None = None, gate: dict[str, object] | None = None) -> dict:
    return {
        "ops": {
            "trained_models": {"config": {**TRAINING, **(training or {})}},
            "backtest": {"config": {**GATE, **(gate or {})}},
            "champion_model": {"config": {**GATE, **(gate or {})}},
        }
    }


@pytest.fixture(params=["sqlite", "server"])
def registry_resource(request: pytest.FixtureRequest, tmp_path: Path) -> ModelRegistryResource:
    if request.param == "sqlite":
        return ModelRegistryResource(
            tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}", artifacts_dir=str(tmp_path / "artifacts")
        )
    server: MlflowServer = request.getfixturevalue("mlflow_server")
    # The server is shared by the session: start each test without the models earlier tests registered.
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    client = MlflowClient(tracking_uri=server.tracking_uri)
    for symbol in MARKET_SYMBOLS:
        try:
            client.delete_registered_model(model_name(symbol))
        except MlflowException as exc:
            if exc.error_code != "RESOURCE_DOES_NOT_EXIST":
                raise
    return ModelRegistryResource(tracking_uri=server.tracking_uri)


@pytest.fixture
def graph(tmp_path: Path, market_bars: pa.Table, registry_resource: ModelRegistryResource) -> Iterator[dict]:
    """Resources over a home whose table store holds the market's bars and features for every day."""
    settings = Settings.from_env({"TRADEGRAPH_HOME": str(tmp_path)})
    graph_resources = resources(settings, model_registry=registry_resource)
    store = EmbeddedTableStore(tmp_path / "tables")
    for day in market_days():
        start, end = day_bounds_us(day)
        times = market_bars["minute_us"]
        store.write_partition(
            BARS_TABLE, day, market_bars.filter(pc.and_(pc.greater_equal(times, start), pc.less(times, end)))
        )
    for day in market_days():
        result = dg.materialize([features], partition_key=day.isoformat(), resources=graph_resources)
        assert result.success
    yield {"resources": graph_resources, "store": store}


def _retrain(graph: dict, symbol: str, **config: dict[str, object]) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [features, *MODEL_ASSETS],
        selection=["trained_models", "backtest", "champion_model"],
        partition_key=symbol,
        resources=graph["resources"],
        run_config=run_config(**config),
        raise_on_error=False,
    )


def _registry(graph: dict) -> ModelRegistry:
    return graph["resources"]["model_registry"].open()


def test_features_are_stored_per_day_with_every_column(graph: dict) -> None:
    store: EmbeddedTableStore = graph["store"]
    stored = {partition.day: partition.rows for partition in store.days(FEATURES_TABLE)}
    assert sorted(stored) == market_days()
    start, _ = day_bounds_us(market_days()[1])
    row = store.read(
        FEATURES_TABLE, start_us=start, end_us=start + 60_000_000 * 90, filters={"symbol": TRENDING}
    )
    # The second day's first rows are warmed up by the first day: no feature is NaN there.
    assert not np.isnan(np.column_stack([row[c].to_numpy() for c in FEATURE_COLUMNS])).any()


def test_a_predictable_symbol_is_trained_registered_backtested_and_promoted(graph: dict) -> None:
    # Act
    result = _retrain(graph, TRENDING)
    # Assert: the run, the registered version with its provenance, the alias and the stored signals
    assert result.success
    with _registry(graph) as registry:
        (version,) = registry.versions(model_name(TRENDING))
        champion = registry.get_alias(model_name(TRENDING), CHAMPION)
    days = market_days()
    assert version.tags["tradegraph.partitions"] == ",".join(day.isoformat() for day in days[:3])
    assert version.tags["tradegraph.holdout"] == days[3].isoformat()
    assert version.tags["tradegraph.feature_code_digest"] == feature_code_digest()
    assert len(version.tags["tradegraph.training_data_digest"]) == 64
    assert version.tags["tradegraph.code_version"].startswith("tradegraph ")
    assert version.tags["tradegraph.gate"] == "promoted"
    assert champion is not None and champion.version == version.version
    signals = graph["store"].read(signals_table(TRENDING), start_us=0, end_us=2**62)
    assert signals.num_rows > 0
    assert set(signals["model_version"].to_pylist()) == {version.version}
    assert set(signals["fold"].to_pylist()) == {0, 1}
    decision = result.asset_materializations_for_node("champion_model")[0].metadata
    assert decision["promoted"].value is True
    # The numbers the gate compared: the challenger's and each baseline's on the same scoring window.
    assert decision["challenger_sharpe"].value > decision["baseline_buy_and_hold_sharpe"].value
    assert {"baseline_buy_and_hold_total_return", "baseline_flat_total_return"} <= set(decision)
    # What the MLflow UI shows of the version's run: training, backtest and gate metrics, and the plots.
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=graph["resources"]["model_registry"].tracking_uri)
    run = client.get_run(version.run_id)
    assert {"validation_logloss", "backtest_sharpe", "backtest_trades", "gate_sharpe"} <= set(
        run.data.metrics
    )
    assert run.data.params["horizon_bars"] == "15"
    artifacts = {item.path for item in client.list_artifacts(version.run_id)}
    assert {"feature_importance.png", "equity_curve.png", "gate_equity_curve.png"} <= artifacts


def test_a_random_walk_is_not_promoted_and_does_not_trade(graph: dict) -> None:
    result = _retrain(graph, RANDOM_WALK)
    with _registry(graph) as registry:
        versions = registry.versions(model_name(RANDOM_WALK))
        champion = registry.get_alias(model_name(RANDOM_WALK), CHAMPION)
    assert len(versions) == 1  # trained and registered: the gate, not the training, refuses it
    assert champion is None
    # Either the sanity check stopped it before the gate, or the gate kept "no champion".
    materialized = {event.asset_key.to_user_string() for event in result.get_asset_materialization_events()}
    if "champion_model" in materialized:
        decision = result.asset_materializations_for_node("champion_model")[0].metadata
        assert decision["promoted"].value is False
        assert "FAIL" in decision["reasons"].value


def test_a_retrain_on_the_same_data_does_not_beat_the_champion_by_the_margin(graph: dict) -> None:
    assert _retrain(graph, TRENDING).success
    second = _retrain(graph, TRENDING)
    assert second.success
    with _registry(graph) as registry:
        versions = registry.versions(model_name(TRENDING))
        champion = registry.get_alias(model_name(TRENDING), CHAMPION)
    assert [v.version for v in versions] == [1, 2]
    assert champion is not None and champion.version == 1
    decision = second.asset_materializations_for_node("champion_model")[0].metadata
    assert decision["promoted"].value is False
    assert "vs champion v1" in decision["reasons"].value


def test_the_blocking_sanity_check_stops_the_promotion(graph: dict) -> None:
    result = _retrain(graph, TRENDING, gate={"min_trades": 1_000_000})
    assert not result.success
    checks = [e for e in result.get_asset_check_evaluations() if e.check_name == "sanity_gates"]
    assert len(checks) == 1 and not checks[0].passed
    materialized = {event.asset_key.to_user_string() for event in result.get_asset_materialization_events()}
    assert "champion_model" not in materialized
    with _registry(graph) as registry:
        assert registry.get_alias(model_name(TRENDING), CHAMPION) is None
