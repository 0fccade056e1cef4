"""The server registry when the MLflow server is not there: a clear error, soon."""

from __future__ import annotations

import pytest

from resources.model_registry import ModelRegistryError
from resources.model_registry.server import ServerModelRegistry
from testkit.servers.base import free_port
from tests.resources.model_registry.conftest import Data


@pytest.mark.timeout(60)  # MLflow's defaults (7 retries, 120 s timeout) would take minutes here
def test_a_server_that_is_down_fails_with_the_uri_and_what_to_check(classifier: object, data: Data) -> None:
    # Arrange: a port nothing listens on
    uri = f"http://127.0.0.1:{free_port()}"
    registry = ServerModelRegistry(uri, request_timeout_s=2, max_retries=1)

    # Act / Assert: reads and the registration both fail with the registry's error
    with pytest.raises(
        ModelRegistryError, match=r"is the MLflow server at http://127\.0\.0\.1:\d+ running"
    ) as read:
        registry.versions("tradegraph-BTCUSDT")
    assert uri in str(read.value) and "listing the versions of 'tradegraph-BTCUSDT'" in str(read.value)
    with pytest.raises(ModelRegistryError, match="registering a version of 'tradegraph-BTCUSDT'"):
        registry.register(
            name="tradegraph-BTCUSDT",
            model=classifier,
            input_example=data.features.head(2),
            params={},
            metrics={},
            tags={},
            artifacts={},
        )


def test_the_server_registry_refuses_a_uri_that_is_not_http() -> None:
    with pytest.raises(ValueError, match="http"):
        ServerModelRegistry("sqlite:////tmp/mlflow.db")
