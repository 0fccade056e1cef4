"""The model registry on an MLflow tracking server (``mlflow server``), reached over HTTP."""

from __future__ import annotations

from resources.model_registry.mlflow_registry import MlflowModelRegistry


class ServerModelRegistry(MlflowModelRegistry):
    """MLflow at ``tracking_uri`` (``http://host:port``); artifacts go where the server keeps them.

    MLflow's HTTP client reads its timeout and retries from environment variables on every request; they
    are set from the arguments around each operation only (see
    :mod:`resources.model_registry.mlflow_scope`).
    """

    def __init__(
        self,
        tracking_uri: str,
        *,
        request_timeout_s: int = 30,
        max_retries: int = 3,
        backoff_factor: int = 1,
    ) -> None:
        if not tracking_uri.startswith(("http://", "https://")):
            raise ValueError(f"an MLflow server URI is http(s)://host:port, got {tracking_uri!r}")
        if request_timeout_s < 1 or max_retries < 0 or backoff_factor < 0:
            raise ValueError(
                "request_timeout_s must be >= 1 s, max_retries and backoff_factor >= 0; "
                f"got {request_timeout_s}, {max_retries}, {backoff_factor}"
            )
        super().__init__(
            tracking_uri.rstrip("/"),
            environ={
                "MLFLOW_HTTP_REQUEST_TIMEOUT": str(request_timeout_s),
                "MLFLOW_HTTP_REQUEST_MAX_RETRIES": str(max_retries),
                # MLflow parses the factor as an int: 1 waits about 0, 2, 4 s between retries.
                "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": str(backoff_factor),
            },
        )

    @property
    def ui_hint(self) -> str:
        return self.tracking_uri

    def _fix_hint(self) -> str:
        return f"is the MLflow server at {self.tracking_uri} running and reachable?"
