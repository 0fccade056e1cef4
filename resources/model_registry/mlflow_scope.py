"""Run MLflow calls with one registry's tracking URI and HTTP settings, without leaking them.

MLflow keeps two kinds of process-wide state this package must set per registry:

- the fluent tracking URI: ``mlflow.xgboost.log_model`` and ``load_model`` take no URI and use
  ``mlflow.get_tracking_uri()`` (and the registry URI, which follows it unless set);
- the HTTP client's timeout and retries, read from ``MLFLOW_HTTP_REQUEST_*`` environment variables on every
  request (``mlflow.utils.rest_utils.http_request`` in mlflow 3.17).

:func:`mlflow_scope` sets both for the duration of one registry operation and restores the previous
values after, under one process-wide lock, so two registries with different URIs in one process (tests,
the demo) never see each other's. Registry operations of one process therefore run one at a time; Dagster
runs each step in its own process, so this costs nothing there.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

_LOCK = threading.RLock()
"""Held for every registry operation of this process (re-entrant: operations call each other)."""

_URI_VARIABLES = ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")


@contextmanager
def mlflow_scope(tracking_uri: str, environ: Mapping[str, str]) -> Iterator[None]:
    """Within the block MLflow's fluent API uses ``tracking_uri`` and the variables ``environ`` names.

    Everything is put back as it was afterwards, also the variables a user set before.
    """
    import mlflow.tracking._model_registry.utils as registry_utils
    import mlflow.tracking._tracking_service.utils as tracking_utils

    with _LOCK:
        names = (*_URI_VARIABLES, *environ)
        saved_env = {name: os.environ.get(name) for name in names}
        saved_tracking = tracking_utils._tracking_uri
        saved_registry = registry_utils._registry_uri
        try:
            os.environ.update(environ)
            # Assigned, not set with mlflow.set_tracking_uri: that also resets MLflow's tracer provider
            # and, on restore to None, would delete a MLFLOW_TRACKING_URI the user had set.
            tracking_utils._tracking_uri = tracking_uri  # type: ignore[assignment]  # typed None there
            registry_utils._registry_uri = tracking_uri  # type: ignore[assignment]
            yield
        finally:
            tracking_utils._tracking_uri = saved_tracking
            registry_utils._registry_uri = saved_registry
            for name, value in saved_env.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
