import os
from pathlib import Path

import dagster as dg
import pytest

from sensors.stream_health import StaleStreamError, assess, stream_health_sensor
from trading_assets.services.heartbeat import Heartbeat, now_us, write_heartbeat


def _beat(service: str, *, age_s: float, trade_age_s: float = 1.0, ticks: int = 10) -> Heartbeat:
    now = now_us()
    return Heartbeat(
        service=service,
        pid=os.getpid(),
        wall_time_us=now - int(age_s * 1e6),
        ticks=ticks,
        last_trade_time_us=now - int(trade_age_s * 1e6),
    )


def test_fresh_services_are_healthy_with_their_figures() -> None:
    health = assess(
        {"streamer": _beat("streamer", age_s=1), "loader": _beat("loader", age_s=2)}, now=now_us()
    )

    assert health.healthy
    assert health.metadata["loader_ticks"] == 10
    assert 0.9 < health.metadata["freshness_s"] < 5


def test_a_silent_service_and_old_data_are_named() -> None:
    beats = {"streamer": _beat("streamer", age_s=120), "loader": _beat("loader", age_s=1, trade_age_s=900)}

    health = assess(beats, now=now_us())

    assert not health.healthy
    assert any(p.startswith("streamer: last heartbeat 120 s ago") for p in health.problems)
    assert any("newest loaded trade is 900 s old" in p for p in health.problems)


def test_sensor_records_an_observation_when_healthy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRADEGRAPH_HOME", str(tmp_path))
    write_heartbeat(tmp_path, _beat("streamer", age_s=0.5))
    write_heartbeat(tmp_path, _beat("loader", age_s=0.5))

    with dg.build_sensor_context(instance=dg.DagsterInstance.ephemeral()) as context:
        result = stream_health_sensor(context)

    (observation,) = result.asset_events
    assert observation.asset_key == dg.AssetKey("tick_stream")
    assert observation.metadata["healthy"].value is True


def test_sensor_fails_loudly_and_still_records_when_stale(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRADEGRAPH_HOME", str(tmp_path))
    write_heartbeat(tmp_path, _beat("streamer", age_s=300))
    write_heartbeat(tmp_path, _beat("loader", age_s=300))
    instance = dg.DagsterInstance.ephemeral()

    with (
        dg.build_sensor_context(instance=instance) as context,
        pytest.raises(StaleStreamError, match="streamer"),
    ):
        stream_health_sensor(context)

    recorded = instance.fetch_observations(dg.AssetKey("tick_stream"), limit=5).records
    assert len(recorded) == 1
    assert recorded[0].asset_observation.metadata["healthy"].value is False


def test_sensor_skips_with_advice_when_no_service_ever_ran(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRADEGRAPH_HOME", str(tmp_path))

    with dg.build_sensor_context() as context:
        result = stream_health_sensor(context)

    assert "start `tradegraph run`" in str(result.skip_reason)
