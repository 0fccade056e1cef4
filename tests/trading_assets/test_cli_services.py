"""``tradegraph services``: the instances in the service state, and retiring one the sensor calls dead."""

from pathlib import Path

import pytest

from resources.service_state import EmbeddedServiceState, Heartbeat, ServiceInstance, embedded_state_path
from sensors.stream_health import assess
from trading_assets.cli import main
from trading_assets.services.heartbeat import now_us

OLD = ServiceInstance(service="streamer", venues=("sim",), symbols=("BTCUSDT",), host="h", name="old")
NEW = ServiceInstance(service="streamer", venues=("sim",), symbols=("BTCUSDT", "ETHUSDT"), host="h")


def test_services_lists_instances_and_retiring_a_dead_one_clears_the_sensor(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Arrange: an instance killed long ago (its symbols moved to a new one) and a live one
    monkeypatch.setenv("TRADEGRAPH_HOME", str(tmp_path))
    state = EmbeddedServiceState(embedded_state_path(tmp_path))
    now = now_us()
    state.write_heartbeat(
        Heartbeat(instance=OLD, pid=1, wall_time_us=now - 3_600_000_000, ticks=5, last_trade_time_us=None)
    )
    state.write_heartbeat(Heartbeat(instance=NEW, pid=2, wall_time_us=now, ticks=9, last_trade_time_us=None))
    assert [i.status for i in assess(state.heartbeats(), now=now).instances if i.instance == OLD] == ["dead"]

    # Act
    listed = main(["services"])
    listing = capsys.readouterr().out
    retired = main(["services", "--retire", OLD.key])
    unknown = main(["services", "--retire", "streamer/nope/h/sim/all"])

    # Assert
    assert listed == 0 and OLD.key in listing and NEW.key in listing
    assert retired == 0 and unknown == 1
    health = assess(state.heartbeats(), now=now_us())
    assert {i.instance: i.status for i in health.instances} == {OLD: "stopped", NEW: "alive"}
    assert state.heartbeat(OLD) is not None and state.heartbeat(OLD).ticks == 5  # type: ignore[union-attr]
    state.close()
