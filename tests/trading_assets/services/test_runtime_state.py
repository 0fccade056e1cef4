"""``tradegraph stream`` waits for an unreachable service-state store instead of streaming without its
restart state (which would leave the trades missed while it was down unfilled)."""

import threading
from pathlib import Path

import pytest

from resources.bus.embedded import EmbeddedTickBus
from resources.service_state import (
    EmbeddedServiceState,
    RestartState,
    ServiceInstance,
    ServiceStateUnavailableError,
)
from trading_assets.core.settings import Settings
from trading_assets.services import runtime


class _AwayAtFirst(EmbeddedServiceState):
    def __init__(self, path: Path, failures: int) -> None:
        super().__init__(path)
        self.failures = failures
        self.reads = 0

    def restart_state(self, instance: ServiceInstance) -> RestartState | None:
        self.reads += 1
        if self.failures > 0:
            self.failures -= 1
            raise ServiceStateUnavailableError("away (test)")
        return super().restart_state(instance)


def _settings(tmp_path: Path) -> Settings:
    # A venue nobody listens on: the feed keeps reconnecting, which is all this test needs.
    return Settings.from_env(
        {
            "TRADEGRAPH_HOME": str(tmp_path),
            "TRADEGRAPH_SYMBOLS": "BTCUSDT",
            "TRADEGRAPH_SIM_WS_URL": "ws://127.0.0.1:9",
        }
    )


def test_the_streamer_waits_for_its_restart_state_then_resumes_from_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Arrange: the store holds this instance's state but cannot be reached for the first two reads
    monkeypatch.setattr(runtime, "STATE_RETRY_S", 0.01)
    settings = _settings(tmp_path)
    store = _AwayAtFirst(tmp_path / "state.sqlite", failures=2)
    store.save_restart_state(
        runtime.streamer_instance(settings), RestartState(last_ids={"sim": {"BTCUSDT": 41}}, gaps={})
    )
    stop = threading.Event()
    threading.Timer(1.0, stop.set).start()

    # Act
    streamer = runtime.run_streamer(settings, EmbeddedTickBus(), store, stop)

    # Assert: it read until the store answered, and streamed from the saved ids
    assert streamer is not None and store.reads >= 3
    assert streamer.last_ids() == {"sim": {"BTCUSDT": 41}}


def test_a_streamer_stopped_while_waiting_for_its_state_never_streams(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runtime, "STATE_RETRY_S", 0.01)
    store = _AwayAtFirst(tmp_path / "state.sqlite", failures=10**9)
    stop = threading.Event()
    threading.Timer(0.3, stop.set).start()

    assert runtime.run_streamer(_settings(tmp_path), EmbeddedTickBus(), store, stop) is None
    assert store.reads > 1
