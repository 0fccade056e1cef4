"""Reading back what the registry stored, with MLflow's own client (what a user sees in the MLflow UI)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from mlflow.models import Model
from mlflow.tracking import MlflowClient

from resources.model_registry import ModelRegistry


@dataclass(frozen=True)
class StoredRun:
    params: dict[str, str]
    metrics: dict[str, float]
    tags: dict[str, str]
    artifacts: dict[str, bytes]
    status: str


def client_of(registry: ModelRegistry) -> MlflowClient:
    return MlflowClient(tracking_uri=registry.tracking_uri, registry_uri=registry.tracking_uri)


def stored_run(registry: ModelRegistry, run_id: str, tmp: Path) -> StoredRun:
    """The run's parameters, metrics, tags and top-level artifact files."""
    client = client_of(registry)
    run = client.get_run(run_id)
    artifacts: dict[str, bytes] = {}
    for info in client.list_artifacts(run_id):
        if not info.is_dir:
            local = client.download_artifacts(run_id, info.path, str(tmp))
            artifacts[info.path] = Path(local).read_bytes()
    return StoredRun(
        params=dict(run.data.params),
        metrics=dict(run.data.metrics),
        tags=dict(run.data.tags),
        artifacts=artifacts,
        status=run.info.status,
    )


def stored_model(registry: ModelRegistry, name: str, version: int, tmp: Path) -> tuple[Model, pd.DataFrame]:
    """The version's MLmodel (flavours, signature) and its input example, downloaded from the artifacts."""
    import mlflow.artifacts

    client = client_of(registry)
    # The version's source is the logged model (models:/m-...); this is where its files are.
    location = client.get_model_version_download_uri(name, str(version))
    local = mlflow.artifacts.download_artifacts(
        artifact_uri=location, dst_path=str(tmp), tracking_uri=registry.tracking_uri
    )
    model = Model.load(local)
    example = model.load_input_example(local)
    assert isinstance(example, pd.DataFrame)
    return model, example
