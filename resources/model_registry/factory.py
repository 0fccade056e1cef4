"""Build the model registry a typed config names; the one place that maps a config to an implementation.

``sqlite:///<file>`` is the embedded registry (MLflow on a local file, artifacts in a local folder);
``http(s)://host:port`` an MLflow tracking server.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from resources.model_registry.base import ModelRegistry
from trading_assets.core.settings import Settings

ARTIFACTS_FOLDER = "mlflow-artifacts"
"""Folder of the embedded registry's artifacts under the tradegraph home (beside ``mlflow.db``)."""
_SQLITE = "sqlite:///"


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelRegistryConfig:
    """Which MLflow the model registry uses and how it is reached."""

    tracking_uri: str
    """``sqlite:///<file>`` (embedded) or ``http(s)://host:port`` of an MLflow tracking server."""
    artifacts_dir: Path | None = None
    """Folder of the artifacts for the embedded registry (conventionally ``<home>/mlflow-artifacts``);
    unset: ``mlflow-artifacts`` beside the sqlite file. Not used with a server, which keeps its own."""
    request_timeout_s: int = 30
    """Seconds to wait for one HTTP response from the server (connect and read)."""
    max_retries: int = 3
    """Retries of a failed HTTP request (connection refused, 5xx, 429) before giving up."""
    backoff_factor: int = 1
    """Exponential backoff between retries: 1 waits about 0, 2, 4 s."""

    @classmethod
    def from_settings(cls, settings: Settings) -> ModelRegistryConfig:
        """The registry the settings name (``TRADEGRAPH_MLFLOW_URI``, default ``sqlite:///<home>/mlflow.db``)."""
        return cls(tracking_uri=settings.mlflow_uri, artifacts_dir=settings.home / ARTIFACTS_FOLDER)


def open_model_registry(config: ModelRegistryConfig) -> ModelRegistry:
    """The registry ``config`` names; nothing is contacted or created until the first operation."""
    uri = config.tracking_uri
    if uri.startswith(_SQLITE):
        from resources.model_registry.embedded import EmbeddedModelRegistry

        database = Path(uri[len(_SQLITE) :])
        if not database.is_absolute() or not database.name:
            raise ValueError(
                f"the embedded model registry needs an absolute sqlite:////path/file.db, got {uri!r}"
            )
        artifacts = config.artifacts_dir or database.parent / ARTIFACTS_FOLDER
        return EmbeddedModelRegistry(database, artifacts)
    if uri.startswith(("http://", "https://")):
        from resources.model_registry.server import ServerModelRegistry

        return ServerModelRegistry(
            uri,
            request_timeout_s=config.request_timeout_s,
            max_retries=config.max_retries,
            backoff_factor=config.backoff_factor,
        )
    raise ValueError(
        f"MLflow tracking URI {uri!r} must be sqlite:////path/mlflow.db (embedded) or http(s)://host:port "
        "(an MLflow server); e.g. TRADEGRAPH_MLFLOW_URI=http://127.0.0.1:5000"
    )
