"""Settings -> config -> registry, and the Dagster resource."""

from __future__ import annotations

from pathlib import Path

import pytest

from resources.model_registry import ModelRegistryConfig, open_model_registry
from resources.model_registry.embedded import EmbeddedModelRegistry
from resources.model_registry.resource import ModelRegistryResource
from resources.model_registry.server import ServerModelRegistry
from trading_assets.core.settings import Settings


def test_the_default_is_the_embedded_registry_under_the_home(tmp_path: Path) -> None:
    config = ModelRegistryConfig.from_settings(Settings.from_env({"TRADEGRAPH_HOME": str(tmp_path)}))

    registry = open_model_registry(config)

    assert isinstance(registry, EmbeddedModelRegistry)
    assert registry.tracking_uri == f"sqlite:///{tmp_path / 'mlflow.db'}"
    assert registry.database == tmp_path / "mlflow.db"
    assert registry.artifacts_dir == tmp_path / "mlflow-artifacts"
    assert registry.tracking_uri in registry.ui_hint
    # Opening creates nothing: the database appears on the first operation
    assert not (tmp_path / "mlflow.db").exists()


def test_an_http_uri_is_the_server_registry(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {"TRADEGRAPH_HOME": str(tmp_path), "TRADEGRAPH_MLFLOW_URI": "http://mlflow:5000/"}
    )

    registry = open_model_registry(ModelRegistryConfig.from_settings(settings))

    assert isinstance(registry, ServerModelRegistry)
    assert registry.tracking_uri == registry.ui_hint == "http://mlflow:5000"


def test_an_unknown_or_relative_uri_is_refused_with_an_example() -> None:
    with pytest.raises(ValueError, match="TRADEGRAPH_MLFLOW_URI=http://"):
        open_model_registry(ModelRegistryConfig(tracking_uri="file:///tmp/mlruns"))
    with pytest.raises(ValueError, match="absolute"):
        open_model_registry(ModelRegistryConfig(tracking_uri="sqlite:///mlflow.db"))


def test_the_resource_opens_the_registry_its_fields_name(tmp_path: Path) -> None:
    resource = ModelRegistryResource(
        tracking_uri=f"sqlite:///{tmp_path / 'm.db'}", artifacts_dir=str(tmp_path / "art")
    )

    with resource.open() as registry:
        assert isinstance(registry, EmbeddedModelRegistry)
        assert (registry.database, registry.artifacts_dir) == (tmp_path / "m.db", tmp_path / "art")
        assert registry.versions("tradegraph-BTCUSDT") == []
    assert (tmp_path / "m.db").exists()
