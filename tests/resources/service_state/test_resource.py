"""The Dagster resource and the factory build the same store from the same settings."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from resources.service_state import Heartbeat, ServiceInstance
from resources.service_state.clickhouse import ClickHouseServiceState
from resources.service_state.embedded import EmbeddedServiceState
from resources.service_state.factory import open_service_state
from resources.service_state.resource import ServiceStateResource
from trading_assets.core.settings import Settings, SettingsError

STREAMER = ServiceInstance(service="streamer", venues=("sim",), symbols=("BTCUSDT",), host="h")


def test_the_resource_reads_what_a_service_wrote_through_the_factory(tmp_path: Path) -> None:
    # Arrange: a service (factory from its settings) beats; the daemon's resource is built from the same
    settings = Settings.from_env({"TRADEGRAPH_HOME": str(tmp_path)})
    with open_service_state(settings) as state:
        state.write_heartbeat(
            Heartbeat(instance=STREAMER, pid=1, wall_time_us=5, ticks=3, last_trade_time_us=None)
        )
    resource = ServiceStateResource.from_settings(settings)

    # Act
    with resource.open() as store:
        beats = store.heartbeats()

    # Assert
    assert isinstance(store, EmbeddedServiceState) and store.path.is_relative_to(tmp_path)
    assert [b.instance for b in beats] == [STREAMER]


def test_clickhouse_is_chosen_by_setting_and_a_password_is_never_a_shown_value(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = "clickhouse://reader:s3cret@127.0.0.1:9000/default"
    monkeypatch.setenv("TRADEGRAPH_CLICKHOUSE_URL", url)
    settings = Settings.from_env({"TRADEGRAPH_SERVICE_STATE": "clickhouse", "TRADEGRAPH_CLICKHOUSE_URL": url})

    resource = ServiceStateResource.from_settings(settings)

    assert resource.backend == "clickhouse"
    assert "s3cret" not in repr(resource.clickhouse_url)  # an EnvVar, resolved when a run starts

    @dg.asset
    def probe(service_state: ServiceStateResource) -> str:
        with service_state.open() as store:
            assert isinstance(store, ClickHouseServiceState)
            return store.host  # no connection is made until the first call

    result = dg.materialize([probe], resources={"service_state": resource})
    assert result.output_for_node("probe") == "127.0.0.1:9000"


def test_a_bad_backend_names_the_variable_and_a_good_value() -> None:
    with pytest.raises(
        SettingsError, match=r"TRADEGRAPH_SERVICE_STATE='sqlite'.*TRADEGRAPH_SERVICE_STATE=clickhouse"
    ):
        Settings.from_env({"TRADEGRAPH_SERVICE_STATE": "sqlite"})
