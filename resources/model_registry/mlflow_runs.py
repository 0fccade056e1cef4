"""Runs, experiments and registered models on MLflow: created when missing, written in batches MLflow takes."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from resources.model_registry.base import ParamValue

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

NOT_FOUND = "RESOURCE_DOES_NOT_EXIST"
"""MLflow's error code for a missing model, version, run or experiment."""
EXISTS = "RESOURCE_ALREADY_EXISTS"
"""MLflow's error code when something created concurrently already exists."""


def experiment_id(client: MlflowClient, experiment: str, *, artifact_location: str | None) -> str:
    """The id of ``experiment``, created when missing (another process may create it at the same time)."""
    from mlflow.exceptions import MlflowException

    found = client.get_experiment_by_name(experiment)
    if found is not None:
        return found.experiment_id
    try:
        return client.create_experiment(experiment, artifact_location=artifact_location)
    except MlflowException as exc:
        if exc.error_code != EXISTS:
            raise
        found = client.get_experiment_by_name(experiment)
        if found is None:
            raise
        return found.experiment_id


def ensure_registered_model(client: MlflowClient, name: str) -> None:
    """Create the registered model ``name`` unless it exists (another process may create it at once)."""
    from mlflow.exceptions import MlflowException

    try:
        client.get_registered_model(name)
    except MlflowException as exc:
        if exc.error_code != NOT_FOUND:
            raise
        try:
            client.create_registered_model(name)
        except MlflowException as again:
            # Another process registered the first version of the same name at the same time.
            if again.error_code != EXISTS:
                raise


def log_to(
    client: MlflowClient,
    run_id: str,
    *,
    params: Mapping[str, ParamValue],
    metrics: Mapping[str, float],
    tags: Mapping[str, str] | None,
    artifacts: Mapping[str, bytes],
) -> None:
    """Log parameters, metrics (step 0, now), tags and artifact files (name -> content) to a run."""
    from mlflow.entities import Metric, Param, RunTag

    now_ms = int(time.time() * 1000)
    metric_list = [Metric(key, float(value), now_ms, 0) for key, value in metrics.items()]
    param_list = [Param(key, str(value)) for key, value in params.items()]
    tag_list = [RunTag(key, value) for key, value in (tags or {}).items()]
    # MLflow takes at most 1000 metrics and 100 parameters and tags per batch (a search logs more).
    for start in range(0, len(metric_list), 1000):
        client.log_batch(run_id, metrics=metric_list[start : start + 1000])
    for start in range(0, max(len(param_list), len(tag_list)), 100):
        client.log_batch(run_id, params=param_list[start : start + 100], tags=tag_list[start : start + 100])
    if artifacts:
        with tempfile.TemporaryDirectory(prefix="tradegraph-artifacts-") as tmp:
            for file_name, content in artifacts.items():
                (Path(tmp) / file_name).write_bytes(content)
            client.log_artifacts(run_id, tmp)


def check_artifact_names(artifacts: Mapping[str, bytes]) -> None:
    """Refuse names with a folder in them: artifacts are files at the top of their run."""
    for file_name in artifacts:
        if not file_name or Path(file_name).name != file_name or file_name in (".", ".."):
            raise ValueError(f"artifact name {file_name!r} must be a plain file name, e.g. equity_curve.png")
