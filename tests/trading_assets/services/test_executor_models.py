"""The executor's champions as loaded from the registry."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from resources.bus.embedded import EmbeddedTickBus
from resources.model_registry.base import ModelRegistry
from resources.table_store.embedded import EmbeddedTableStore
from tests.trading_assets.services.test_executor import SYMBOL, _config, market, registry  # noqa: F401
from trading_assets.models.champion_flow import CHAMPION
from trading_assets.models.refs import model_name
from trading_assets.services.executor import Executor


def test_a_loaded_champion_predicts_on_one_thread(
    tmp_path: Path,
    market: tuple[pa.Table, pa.Table],  # noqa: F811
    registry: ModelRegistry,  # noqa: F811
) -> None:
    # Arrange: the registry's copy of the model has forgotten the n_jobs=1 it was trained with
    champion = registry.get_alias(model_name(SYMBOL), CHAMPION)
    assert champion is not None
    assert registry.load(champion.name, version=champion.version).get_params()["n_jobs"] != 1
    bus = EmbeddedTickBus()
    executor = Executor(
        bus.consumer(group="executor", venues=["sim"]), registry, EmbeddedTableStore(tmp_path), _config()
    )
    # Act
    executor.start()
    # Assert: one row per bar is predicted without an OpenMP team per call
    loaded = executor.core.model(SYMBOL)
    assert loaded is not None
    assert loaded.model.get_params()["n_jobs"] == 1
