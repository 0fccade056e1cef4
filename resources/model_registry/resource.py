"""The model registry as a Dagster resource: assets declare ``model_registry: ModelRegistryResource``.

Every field is set by whoever builds the resource (``definitions.py`` from the settings, tests directly)
and shown as is in the Dagster UI; nothing here reads the environment.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg

from resources.model_registry.base import ModelRegistry
from resources.model_registry.factory import ModelRegistryConfig, open_model_registry


class ModelRegistryResource(dg.ConfigurableResource):
    """Opens the MLflow model registry (a tracking server, or MLflow on a local sqlite file)."""

    tracking_uri: str
    """``sqlite:///<home>/mlflow.db`` (embedded) or ``http(s)://host:port`` of an MLflow server."""
    artifacts_dir: str | None = None
    """Artifacts folder of the embedded registry, conventionally ``<home>/mlflow-artifacts``."""
    request_timeout_s: int = 30
    """Seconds to wait for one HTTP response from an MLflow server."""
    max_retries: int = 3
    """Retries of a failed HTTP request to an MLflow server."""

    def config(self) -> ModelRegistryConfig:
        """The typed config of the fields."""
        return ModelRegistryConfig(
            tracking_uri=self.tracking_uri,
            artifacts_dir=Path(self.artifacts_dir) if self.artifacts_dir else None,
            request_timeout_s=self.request_timeout_s,
            max_retries=self.max_retries,
        )

    @contextmanager
    def open(self) -> Iterator[ModelRegistry]:
        """The registry, closed again when the block ends."""
        registry = open_model_registry(self.config())
        try:
            yield registry
        finally:
            registry.close()
