"""The embedded model registry: MLflow on a local sqlite file, artifacts in a local folder.

MLflow creates and migrates the sqlite schema when a client first opens a database whose tables are
missing. Several processes doing that at once on a fresh file race on the migration and fail (measured:
five processes registering at once on a new database all failed). The first use of a registry here
therefore takes an exclusive file lock beside the database, lets MLflow create the schema, creates the
experiments' artifact folder, and releases the lock; later processes find the tables and skip it.
"""

from __future__ import annotations

import fcntl
import logging
from pathlib import Path

from resources.model_registry.mlflow_registry import MlflowModelRegistry

logger = logging.getLogger(__name__)


class EmbeddedModelRegistry(MlflowModelRegistry):
    """MLflow on ``sqlite:///<database>``; experiments keep their artifacts under ``artifacts_dir``."""

    def __init__(self, database: Path, artifacts_dir: Path) -> None:
        self._database = Path(database).absolute()
        self._artifacts_dir = Path(artifacts_dir).absolute()
        super().__init__(f"sqlite:///{self._database}")

    @property
    def database(self) -> Path:
        """The sqlite file."""
        return self._database

    @property
    def artifacts_dir(self) -> Path:
        """Folder of the artifacts (models, plots), one sub-folder per experiment."""
        return self._artifacts_dir

    @property
    def ui_hint(self) -> str:
        return (
            f"mlflow ui --backend-store-uri {self.tracking_uri} --port 5000, then open http://127.0.0.1:5000"
        )

    def _artifact_location(self, experiment: str) -> str | None:
        return (self._artifacts_dir / experiment).as_uri()

    def _fix_hint(self) -> str:
        return f"check that {self._database} and {self._artifacts_dir} are writable and not corrupt"

    def _prepare(self) -> None:
        from mlflow.tracking import MlflowClient

        self._database.parent.mkdir(parents=True, exist_ok=True)
        self._artifacts_dir.mkdir(parents=True, exist_ok=True)
        lock_path = self._database.with_name(self._database.name + ".init.lock")
        with lock_path.open("a") as lock:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            try:
                # Opening both stores creates and migrates the schema when the tables are missing; MLflow
                # caches the stores per URI, so this process does it once.
                client = MlflowClient(tracking_uri=self.tracking_uri, registry_uri=self.tracking_uri)
                client.search_experiments(max_results=1)
                client.search_registered_models(max_results=1)
            finally:
                fcntl.flock(lock.fileno(), fcntl.LOCK_UN)
