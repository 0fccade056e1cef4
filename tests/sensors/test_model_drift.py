"""The drift sensor retrains only the symbol whose latest features drifted from its champion's training
data, once per day and version; the retrain schedule asks for every symbol once per tick."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import dagster as dg
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
import xgboost as xgb

from resources.model_registry.factory import ModelRegistryConfig, open_model_registry
from resources.model_registry.resource import ModelRegistryResource
from resources.table_store.embedded import EmbeddedTableStore
from resources.table_store.resource import TableStoreResource
from sensors.model_drift import build_drift_sensor
from sensors.retrain_schedule import build_retrain_schedule
from trading_assets.core.time import day_start_us
from trading_assets.models.champion_flow import CHAMPION
from trading_assets.models.features import FEATURE_COLUMNS, FEATURES_TABLE
from trading_assets.models.refs import model_name

DAY = dt.date(2026, 2, 1)
SYMBOLS = ("BTCUSDT", "ETHUSDT")
TRAINING_DAYS = [DAY, DAY + dt.timedelta(days=1)]
LATEST = DAY + dt.timedelta(days=2)


def _features(symbol: str, day: dt.date, *, shift: float, seed: int) -> pa.Table:
    rng = np.random.default_rng(seed)
    rows = 1_440
    columns: dict[str, object] = {
        "venue": ["sim"] * rows,
        "symbol": [symbol] * rows,
        "minute_us": day_start_us(day) + np.arange(rows, dtype=np.int64) * 60_000_000,
        "open": np.full(rows, 100.0),
        "close": np.full(rows, 100.0),
    }
    for name in FEATURE_COLUMNS:
        columns[name] = rng.normal(loc=shift, size=rows)
    return pa.table(columns)


@pytest.fixture
def stores(tmp_path: Path) -> tuple[TableStoreResource, ModelRegistryResource]:
    table_store = TableStoreResource(kind="embedded", embedded_dir=str(tmp_path / "tables"))
    registry_resource = ModelRegistryResource(
        tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}", artifacts_dir=str(tmp_path / "artifacts")
    )
    store = EmbeddedTableStore(tmp_path / "tables")
    rng = np.random.default_rng(0)
    x = pd.DataFrame(rng.normal(size=(300, len(FEATURE_COLUMNS))), columns=list(FEATURE_COLUMNS))
    model = xgb.XGBClassifier(n_estimators=5, max_depth=2).fit(x, (x.iloc[:, 0] > 0).astype(int))
    registry = open_model_registry(
        ModelRegistryConfig(tracking_uri=registry_resource.tracking_uri, artifacts_dir=tmp_path / "artifacts")
    )
    for offset, day in enumerate(TRAINING_DAYS):
        # One write per day with every symbol: a write replaces the whole day.
        tables = [
            _features(symbol, day, shift=0.0, seed=10 * index + offset)
            for index, symbol in enumerate(SYMBOLS)
        ]
        store.write_partition(FEATURES_TABLE, day, pa.concat_tables(tables))
    for symbol in SYMBOLS:
        version = registry.register(
            name=model_name(symbol),
            model=model,
            input_example=x.head(3),
            params={},
            metrics={},
            tags={"tradegraph.partitions": ",".join(day.isoformat() for day in TRAINING_DAYS)},
            artifacts={},
        )
        registry.set_alias(model_name(symbol), CHAMPION, version.version)
    registry.close()
    return table_store, registry_resource


def _evaluate(sensor: dg.SensorDefinition, resources: tuple, cursor: str | None = None) -> dg.SensorResult:
    table_store, registry = resources
    context = dg.build_sensor_context(
        cursor=cursor, resources={"table_store": table_store, "model_registry": registry}
    )
    result = sensor(context)
    assert isinstance(result, dg.SensorResult)
    return result


def test_only_the_drifted_symbol_is_retrained_once(stores: tuple, tmp_path: Path) -> None:
    # Arrange: BTCUSDT's latest day is shifted by two standard deviations, ETHUSDT's is not.
    store = EmbeddedTableStore(tmp_path / "tables")
    store.write_partition(
        FEATURES_TABLE,
        LATEST,
        pa.concat_tables(
            [
                _features("BTCUSDT", LATEST, shift=2.0, seed=99),
                _features("ETHUSDT", LATEST, shift=0.0, seed=98),
            ]
        ),
    )
    sensor = build_drift_sensor(SYMBOLS, threshold=0.25)
    # Act
    first = _evaluate(sensor, stores)
    again = _evaluate(sensor, stores, cursor=first.cursor)
    # Assert
    assert [(r.partition_key, r.run_key) for r in first.run_requests or []] == [
        ("BTCUSDT", f"drift-BTCUSDT-{LATEST.isoformat()}-v1")
    ]
    assert (first.run_requests or [])[0].tags["tradegraph/retrain"] == "drift"
    assert not again.run_requests


def test_a_day_like_the_training_data_asks_for_nothing(stores: tuple, tmp_path: Path) -> None:
    store = EmbeddedTableStore(tmp_path / "tables")
    store.write_partition(
        FEATURES_TABLE,
        LATEST,
        pa.concat_tables([_features(s, LATEST, shift=0.0, seed=50 + i) for i, s in enumerate(SYMBOLS)]),
    )
    result = _evaluate(build_drift_sensor(SYMBOLS, threshold=0.25), stores)
    assert not result.run_requests


def test_the_retrain_schedule_asks_for_every_symbol_with_a_run_key_per_tick() -> None:
    schedule = build_retrain_schedule("0 */6 * * *", SYMBOLS)
    tick = dt.datetime(2026, 2, 3, 6, 0, tzinfo=dt.UTC)
    requests = schedule(dg.build_schedule_context(scheduled_execution_time=tick))
    assert [(r.partition_key, r.run_key) for r in requests] == [
        (symbol, f"retrain-{symbol}-{tick.isoformat()}") for symbol in SYMBOLS
    ]
    assert schedule.cron_schedule == "0 */6 * * *"
