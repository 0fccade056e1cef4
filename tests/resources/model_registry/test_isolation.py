"""Two registries in one process, and MLflow's process-wide state around them."""

from __future__ import annotations

import os
from pathlib import Path

import mlflow
import pytest

from resources.model_registry.embedded import EmbeddedModelRegistry
from resources.model_registry.server import ServerModelRegistry
from testkit.servers import MlflowServer
from tests.resources.model_registry.conftest import Data


def test_two_registries_in_one_process_keep_their_models_apart(
    tmp_path: Path, classifier: object, regressor: object, data: Data
) -> None:
    # Arrange
    one = EmbeddedModelRegistry(tmp_path / "one" / "mlflow.db", tmp_path / "one" / "artifacts")
    two = EmbeddedModelRegistry(tmp_path / "two" / "mlflow.db", tmp_path / "two" / "artifacts")
    common = {
        "input_example": data.features.head(2),
        "params": {},
        "metrics": {},
        "tags": {},
        "artifacts": {},
    }

    # Act: interleaved
    one.register(name="tradegraph-A", model=classifier, **common)  # type: ignore[arg-type]
    two.register(name="tradegraph-B", model=regressor, **common)  # type: ignore[arg-type]
    one.register(name="tradegraph-A", model=classifier, **common)  # type: ignore[arg-type]

    # Assert
    assert [v.version for v in one.versions("tradegraph-A")] == [1, 2]
    assert one.versions("tradegraph-B") == []
    assert [v.version for v in two.versions("tradegraph-B")] == [1]
    assert two.versions("tradegraph-A") == []
    assert type(two.load("tradegraph-B", version=1)) is type(regressor)
    # every artifact of each registry is in its own folder
    assert list((tmp_path / "one" / "artifacts").rglob("MLmodel"))
    assert list((tmp_path / "two" / "artifacts").rglob("MLmodel"))
    assert not (Path.cwd() / "mlruns").exists()


def test_the_users_mlflow_uri_and_http_settings_are_left_as_they_were(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    mlflow_server: MlflowServer,
    classifier: object,
    data: Data,
) -> None:
    # Arrange: a user's own MLflow setup in the same process
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://user-mlflow:5000")
    monkeypatch.delenv("MLFLOW_HTTP_REQUEST_TIMEOUT", raising=False)
    mlflow.set_tracking_uri("http://user-mlflow:5000")
    try:
        server = ServerModelRegistry(mlflow_server.tracking_uri, request_timeout_s=7, max_retries=1)
        embedded = EmbeddedModelRegistry(tmp_path / "mlflow.db", tmp_path / "artifacts")

        # Act
        for registry in (server, embedded):
            version = registry.register(
                name=f"iso-{os.getpid()}",
                model=classifier,
                input_example=data.features.head(2),
                params={},
                metrics={},
                tags={},
                artifacts={},
            )
            registry.load(version.name, version=version.version)

        # Assert
        assert mlflow.get_tracking_uri() == "http://user-mlflow:5000"
        assert os.environ["MLFLOW_TRACKING_URI"] == "http://user-mlflow:5000"
        assert "MLFLOW_HTTP_REQUEST_TIMEOUT" not in os.environ
    finally:
        mlflow.set_tracking_uri(None)  # type: ignore[arg-type]
