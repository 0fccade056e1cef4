from pathlib import Path

import dagster as dg
import pytest

from resources.service_state import EmbeddedServiceState, Heartbeat, ServiceInstance
from resources.service_state.resource import ServiceStateResource
from sensors.stream_health import StaleStreamError, assess, build_stream_health_sensor, stream_health_sensor
from trading_assets.services.heartbeat import now_us

STREAMER_A = ServiceInstance(
    service="streamer", venues=("sim",), symbols=("BTCUSDT", "ETHUSDT"), host="h", name="a"
)
STREAMER_B = ServiceInstance(service="streamer", venues=("sim",), symbols=("SOLUSDT",), host="h", name="b")
LOADER = ServiceInstance(service="loader", venues=("sim",), symbols=(), host="h")


def _beat(
    instance: ServiceInstance,
    *,
    age_s: float,
    trade_age_s: float = 1.0,
    ticks: int = 10,
    stopped: bool = False,
) -> Heartbeat:
    now = now_us()
    return Heartbeat(
        instance=instance,
        pid=4242,
        wall_time_us=now - int(age_s * 1e6),
        status="stopped" if stopped else "running",
        ticks=ticks,
        last_trade_time_us=now - int(trade_age_s * 1e6),
    )


def _resources(tmp_path: Path, *beats: Heartbeat) -> dict[str, object]:
    path = tmp_path / "state.sqlite"
    with EmbeddedServiceState(path) as state:
        for beat in beats:
            state.write_heartbeat(beat)
    return {"service_state": ServiceStateResource(backend="embedded", sqlite_path=str(path))}


def test_fresh_instances_are_healthy_with_their_figures() -> None:
    health = assess(
        [_beat(STREAMER_A, age_s=1), _beat(STREAMER_B, age_s=1, ticks=5), _beat(LOADER, age_s=2)],
        now=now_us(),
    )

    assert health.healthy
    assert [i.status for i in health.instances] == ["alive", "alive", "alive"]
    assert health.metadata["streamer_ticks"] == 15 and health.metadata["loader_ticks"] == 10
    assert 0.9 < health.metadata["freshness_s"] < 5


def test_a_dead_instance_is_named_while_another_of_its_service_is_alive() -> None:
    beats = [
        _beat(STREAMER_A, age_s=120),
        _beat(STREAMER_B, age_s=1),
        _beat(LOADER, age_s=1, trade_age_s=900),
    ]

    health = assess(beats, now=now_us())

    assert not health.healthy
    assert {i.instance: i.status for i in health.instances} == {
        STREAMER_A: "dead",
        STREAMER_B: "alive",
        LOADER: "alive",
    }
    (dead,) = [p for p in health.problems if "is dead" in p]
    assert STREAMER_A.label in dead and "last heartbeat 120 s ago" in dead and STREAMER_A.key in dead
    assert any("newest loaded trade is 900 s old" in p for p in health.problems)


def test_a_cleanly_stopped_instance_is_no_problem_but_a_service_without_any_running_is() -> None:
    beats = [_beat(STREAMER_A, age_s=500, stopped=True), _beat(LOADER, age_s=1)]

    health = assess(beats, now=now_us())

    assert health.instances[0].status == "stopped"
    assert health.problems == ("streamer: no instance is running; is `tradegraph stream` running?",)


def test_sensor_records_each_instance_when_healthy(tmp_path: Path) -> None:
    resources = _resources(
        tmp_path, _beat(STREAMER_A, age_s=0.5), _beat(STREAMER_B, age_s=0.5), _beat(LOADER, age_s=0.5)
    )

    with dg.build_sensor_context(instance=dg.DagsterInstance.ephemeral(), resources=resources) as context:
        result = stream_health_sensor(context)

    (observation,) = result.asset_events
    assert observation.asset_key == dg.AssetKey("tick_stream")
    assert observation.metadata["healthy"].value is True
    status = observation.metadata["instance_status"].value
    assert {key: s["status"] for key, s in status.items()} == {
        STREAMER_A.key: "alive",
        STREAMER_B.key: "alive",
        LOADER.key: "alive",
    }
    assert STREAMER_B.label in observation.metadata["instances"].value


def test_sensor_fails_naming_the_dead_instance_while_the_other_is_alive(tmp_path: Path) -> None:
    # Arrange: streamer A went silent 10 s ago (killed), B and the loader beat
    resources = _resources(
        tmp_path, _beat(STREAMER_A, age_s=10), _beat(STREAMER_B, age_s=0.5), _beat(LOADER, age_s=0.5)
    )
    sensor = build_stream_health_sensor(max_silence_s=5)
    instance = dg.DagsterInstance.ephemeral()

    # Act / Assert: the tick fails naming A only, and the observation is recorded all the same
    with (
        dg.build_sensor_context(instance=instance, resources=resources) as context,
        pytest.raises(StaleStreamError) as failure,
    ):
        sensor(context)
    assert "streamer a@h" in str(failure.value) and "streamer b@h" not in str(failure.value)
    (record,) = instance.fetch_observations(dg.AssetKey("tick_stream"), limit=5).records
    metadata = record.asset_observation.metadata
    assert metadata["healthy"].value is False
    assert metadata["instance_status"].value[STREAMER_A.key]["status"] == "dead"
    assert metadata["instance_status"].value[STREAMER_B.key]["status"] == "alive"


def test_sensor_skips_with_advice_when_no_service_ever_ran(tmp_path: Path) -> None:
    with dg.build_sensor_context(resources=_resources(tmp_path)) as context:
        result = stream_health_sensor(context)

    assert "start `tradegraph run`" in str(result.skip_reason)


def test_sensor_skips_when_every_instance_stopped_cleanly(tmp_path: Path) -> None:
    resources = _resources(
        tmp_path, _beat(STREAMER_A, age_s=900, stopped=True), _beat(LOADER, age_s=900, stopped=True)
    )

    with dg.build_sensor_context(resources=resources) as context:
        result = stream_health_sensor(context)

    assert "stopped cleanly" in str(result.skip_reason)


SOURCE = ServiceInstance(service="source", venues=(), symbols=(), host="h", name="entsoe_prices")


def _source_beat(*, age_s: float, consecutive_failures: float, failures: float) -> Heartbeat:
    beat = _beat(SOURCE, age_s=age_s)
    detail = {"consecutive_failures": consecutive_failures, "failures": failures, "fetches": 40.0}
    return Heartbeat(
        instance=beat.instance,
        pid=beat.pid,
        wall_time_us=beat.wall_time_us,
        status=beat.status,
        ticks=beat.ticks,
        last_trade_time_us=beat.last_trade_time_us,
        detail=detail,
    )


def test_a_source_whose_fetches_keep_failing_is_a_problem_naming_it() -> None:
    beats = [
        _beat(STREAMER_A, age_s=1),
        _beat(LOADER, age_s=1),
        _source_beat(age_s=1, consecutive_failures=5, failures=7),
    ]

    health = assess(beats, now=now_us())

    assert not health.healthy
    assert len(health.problems) == 1
    assert (
        "source entsoe_prices is failing: its last 5 fetches failed (7 failures in all)" in health.problems[0]
    )


def test_a_source_that_failed_once_and_recovered_is_healthy_and_a_dead_one_is_not() -> None:
    recovered = [_beat(STREAMER_A, age_s=1), _beat(LOADER, age_s=1)]
    recovered.append(_source_beat(age_s=1, consecutive_failures=0, failures=2))
    dead = [_beat(STREAMER_A, age_s=1), _beat(LOADER, age_s=1)]
    dead.append(_source_beat(age_s=600, consecutive_failures=0, failures=0))

    assert assess(recovered, now=now_us()).healthy
    dead_health = assess(dead, now=now_us())
    assert not dead_health.healthy
    assert "source entsoe_prices@h" in dead_health.problems[0] and "is dead" in dead_health.problems[0]
