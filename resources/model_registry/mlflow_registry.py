"""The model registry on MLflow: the code the server and the embedded (sqlite) registries share.

Every call goes through an explicit ``MlflowClient(tracking_uri=..., registry_uri=...)``; the two MLflow
functions that only read the process-wide URI (``mlflow.xgboost.log_model`` and ``load_model``) run inside
:func:`resources.model_registry.mlflow_scope.mlflow_scope`, as do all others so the HTTP timeout and
retries the registry was built with apply.
"""

from __future__ import annotations

import logging
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from typing import TYPE_CHECKING, Any, TypeVar

from resources.model_registry.base import (
    DEFAULT_EXPERIMENT,
    ModelNotFoundError,
    ModelRegistry,
    ModelRegistryError,
    ModelVersion,
    ParamValue,
    check_alias,
    check_name,
)
from resources.model_registry.mlflow_runs import (
    NOT_FOUND,
    check_artifact_names,
    ensure_registered_model,
    experiment_id,
    log_to,
)
from resources.model_registry.mlflow_scope import mlflow_scope
from resources.model_registry.mlflow_signature import model_signature

if TYPE_CHECKING:
    import pandas as pd
    from mlflow.entities.model_registry import ModelVersion as MlflowModelVersion
    from mlflow.tracking import MlflowClient

logger = logging.getLogger(__name__)

T = TypeVar("T")

MODEL_ARTIFACT = "model"
"""Name of the logged model inside its run."""


class MlflowModelRegistry(ModelRegistry):
    """A :class:`ModelRegistry` on one MLflow tracking URI; subclasses say how it is reached."""

    def __init__(self, tracking_uri: str, *, environ: Mapping[str, str] | None = None) -> None:
        self._uri = tracking_uri
        # No progress bars on stderr when a model is downloaded to be loaded (library code logs).
        self._environ = {"MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false", **(environ or {})}
        self._client_cache: MlflowClient | None = None
        self._experiments: dict[str, str] = {}

    # -- hooks --------------------------------------------------------------------------------------

    def _prepare(self) -> None:
        """Runs (inside the scope) before the first operation; the embedded registry creates its database."""

    def _artifact_location(self, experiment: str) -> str | None:
        """Where a new experiment keeps its artifacts; ``None``: the server's default."""
        return None

    def _fix_hint(self) -> str:
        """What to check when an operation fails, appended to every error message."""
        return f"check the MLflow tracking URI {self._uri}"

    # -- plumbing -----------------------------------------------------------------------------------

    @property
    def tracking_uri(self) -> str:
        return self._uri

    @contextmanager
    def _operation(self, what: str) -> Iterator[MlflowClient]:
        """One registry operation: MLflow scoped to this registry; MLflow's errors made ours with context."""
        from mlflow.exceptions import MlflowException
        from sqlalchemy.exc import SQLAlchemyError

        try:
            with mlflow_scope(self._uri, self._environ), warnings.catch_warnings():
                # Two deprecation warnings inside mlflow 3.17 itself, on every registration; nothing a
                # caller can change (pandas 3 on the input example, SQLAlchemy 2.1 in the sqlite store).
                warnings.filterwarnings(
                    "ignore", message="Operation with range is deprecated", module=r"mlflow\.models\.utils"
                )
                warnings.filterwarnings(
                    "ignore",
                    message="The ``noload`` loader strategy is deprecated",
                    module=r"mlflow\.store\.",
                )
                if self._client_cache is None:
                    from mlflow.tracking import MlflowClient

                    self._prepare()
                    self._client_cache = MlflowClient(tracking_uri=self._uri, registry_uri=self._uri)
                yield self._client_cache
        except ModelRegistryError:
            raise
        except MlflowException as exc:
            if exc.error_code == NOT_FOUND:
                raise ModelNotFoundError(
                    f"{what} in the model registry at {self._uri}: {exc.message}"
                ) from exc
            raise ModelRegistryError(
                f"{what} failed in the model registry at {self._uri}: {exc.message}; {self._fix_hint()}"
            ) from exc
        except (OSError, SQLAlchemyError) as exc:
            # OSError: files of the embedded registry, or the network; SQLAlchemyError: its sqlite file
            # (locked for too long, corrupt), which MLflow does not always wrap.
            raise ModelRegistryError(
                f"{what} failed in the model registry at {self._uri}: {exc}; {self._fix_hint()}"
            ) from exc

    def _experiment_id(self, client: MlflowClient, experiment: str) -> str:
        """The id of ``experiment``, created on first use."""
        if experiment not in self._experiments:
            self._experiments[experiment] = experiment_id(
                client, experiment, artifact_location=self._artifact_location(experiment)
            )
        return self._experiments[experiment]

    # -- the interface ------------------------------------------------------------------------------

    def register(
        self,
        *,
        name: str,
        model: Any,
        input_example: pd.DataFrame,
        params: Mapping[str, ParamValue],
        metrics: Mapping[str, float],
        tags: Mapping[str, str],
        artifacts: Mapping[str, bytes],
        experiment: str = DEFAULT_EXPERIMENT,
    ) -> ModelVersion:
        import mlflow.xgboost
        from mlflow.entities import RunStatus

        check_name(name)
        check_artifact_names(artifacts)
        with self._operation(f"registering a version of {name!r}") as client:
            started = time.monotonic()
            # First, so a model the registry cannot describe (not binary) leaves no run behind.
            signature = model_signature(model, input_example)
            experiment_id = self._experiment_id(client, experiment)
            run = client.create_run(experiment_id, run_name=name, tags=dict(tags))
            run_id = run.info.run_id
            try:
                log_to(client, run_id, params=params, metrics=metrics, tags=None, artifacts=artifacts)
                # The logged model is created here, with the experiment and run, so log_model needs no
                # active run or active experiment (both process-wide in MLflow).
                logged = client.create_logged_model(
                    experiment_id, name=MODEL_ARTIFACT, source_run_id=run_id, tags=dict(tags)
                )
                info = mlflow.xgboost.log_model(
                    model,
                    name=MODEL_ARTIFACT,
                    signature=signature,
                    input_example=input_example,
                    # Given, so MLflow does not start a subprocess to infer them (seconds per model).
                    pip_requirements=mlflow.xgboost.get_default_pip_requirements(),
                    model_id=logged.model_id,
                    run_id=run_id,
                )
                ensure_registered_model(client, name)
                created = client.create_model_version(
                    name, source=info.model_uri, run_id=run_id, tags=dict(tags), model_id=info.model_id
                )
            except BaseException:
                client.set_terminated(run_id, status=RunStatus.to_string(RunStatus.FAILED))
                raise
            client.set_terminated(run_id)
            logger.info(
                "registered %s version %s (run %s) at %s in %.1f s",
                name,
                created.version,
                run_id,
                self._uri,
                time.monotonic() - started,
            )
            return self._version(client, name, int(created.version))

    def versions(self, name: str) -> list[ModelVersion]:
        check_name(name)
        with self._operation(f"listing the versions of {name!r}") as client:
            found: list[MlflowModelVersion] = []
            token: str | None = None
            while True:
                # The name is checked against a strict pattern above, so quoting it is safe.
                page = client.search_model_versions(f"name = '{name}'", page_token=token)
                found.extend(page)
                token = page.token
                if not token:
                    break
            if not found:
                return []
            # Search results carry the tags but not the aliases (mlflow 3.17 sqlite store): the
            # registered model lists them, alias -> version, in one more call.
            aliases: dict[int, list[str]] = {}
            for alias, number in client.get_registered_model(name).aliases.items():
                aliases.setdefault(int(number), []).append(alias)
            listed = [
                replace(_to_version(v), aliases=tuple(sorted(aliases.get(int(v.version), ())))) for v in found
            ]
            return sorted(listed, key=lambda v: v.version)

    def version(self, name: str, version: int) -> ModelVersion:
        check_name(name)
        with self._operation(f"reading version {version} of {name!r}") as client:
            return self._version(client, name, version)

    def _version(self, client: MlflowClient, name: str, version: int) -> ModelVersion:
        return _to_version(client.get_model_version(name, str(version)))

    def set_alias(self, name: str, alias: str, version: int) -> None:
        check_name(name)
        check_alias(alias)
        with self._operation(f"pointing alias {alias!r} of {name!r} at version {version}") as client:
            client.get_model_version(name, str(version))
            client.set_registered_model_alias(name, alias, str(version))

    def get_alias(self, name: str, alias: str) -> ModelVersion | None:
        check_name(name)
        check_alias(alias)
        with self._operation(f"reading alias {alias!r} of {name!r}") as client:
            return _none_if_missing(lambda: _to_version(client.get_model_version_by_alias(name, alias)))

    def delete_alias(self, name: str, alias: str) -> None:
        check_name(name)
        check_alias(alias)
        with self._operation(f"deleting alias {alias!r} of {name!r}") as client:
            if _none_if_missing(lambda: client.get_model_version_by_alias(name, alias)) is not None:
                client.delete_registered_model_alias(name, alias)

    def load(self, name: str, *, version: int | None = None, alias: str | None = None) -> Any:
        import mlflow.xgboost

        check_name(name)
        if (version is None) == (alias is None):
            raise ValueError("load needs exactly one of version= or alias=")
        ref = f"{name}@{check_alias(alias)}" if alias is not None else f"{name}/{version}"
        with self._operation(f"loading model {ref}") as client:
            # Resolved first so a missing version or alias raises ModelNotFoundError, not a download error.
            if alias is not None:
                if _none_if_missing(lambda: client.get_model_version_by_alias(name, alias)) is None:
                    raise ModelNotFoundError(f"model {name!r} has no alias {alias!r} at {self._uri}")
            else:
                client.get_model_version(name, str(version))
            with tempfile.TemporaryDirectory(prefix="tradegraph-model-") as tmp:
                return mlflow.xgboost.load_model(f"models:/{ref}", dst_path=tmp)

    def log_to_run(
        self,
        run_id: str,
        *,
        metrics: Mapping[str, float],
        artifacts: Mapping[str, bytes],
        params: Mapping[str, ParamValue] | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> None:
        check_artifact_names(artifacts)
        with self._operation(f"logging to run {run_id}") as client:
            client.get_run(run_id)
            log_to(client, run_id, params=params or {}, metrics=metrics, tags=tags, artifacts=artifacts)

    def set_version_tags(self, name: str, version: int, tags: Mapping[str, str]) -> None:
        check_name(name)
        with self._operation(f"tagging version {version} of {name!r}") as client:
            client.get_model_version(name, str(version))
            for key, value in tags.items():
                client.set_model_version_tag(name, str(version), key, value)


def _to_version(found: MlflowModelVersion) -> ModelVersion:
    return ModelVersion(
        name=found.name,
        version=int(found.version),
        run_id=found.run_id or "",
        tags=dict(found.tags or {}),
        aliases=tuple(sorted(found.aliases or ())),
        created_ms=int(found.creation_timestamp or 0),
    )


def _none_if_missing(read: Callable[[], T]) -> T | None:
    """``read()``, or ``None`` when MLflow says the model or alias does not exist."""
    from mlflow.exceptions import MlflowException

    try:
        return read()
    except MlflowException as exc:
        # A missing model is RESOURCE_DOES_NOT_EXIST; a missing alias of an existing model is reported
        # as INVALID_PARAMETER_VALUE "Registered model alias ... not found" (mlflow 3.17).
        if exc.error_code == NOT_FOUND or (
            exc.error_code == "INVALID_PARAMETER_VALUE"
            and "alias" in exc.message
            and "not found" in exc.message
        ):
            return None
        raise
