"""Upgrading a streamer from the one-file restart state: each instance takes its own part, once."""

import json
from pathlib import Path

from resources.service_state import EmbeddedServiceState, RestartState, ServiceInstance
from trading_assets.services.state_migration import legacy_state_path, migrate_legacy_state


def _instance(*symbols: str) -> ServiceInstance:
    return ServiceInstance(service="streamer", venues=("sim",), symbols=symbols, host="h")


def test_each_instance_takes_only_its_own_part_of_the_legacy_file_once(tmp_path: Path) -> None:
    # Arrange: the file a streamer before service instances left (two venues, three symbols, a gap)
    path = legacy_state_path(tmp_path)
    path.parent.mkdir(parents=True)
    path.write_text(
        json.dumps(
            {
                "last_ids": {
                    "sim": {"BTCUSDT": 10, "ETHUSDT": 20, "SOLUSDT": 30},
                    "binance": {"BTCUSDT": 99},
                },
                "gaps": {"sim": {"ETHUSDT": [[15, 17]], "SOLUSDT": [[25, 26]]}},
            }
        )
    )
    store = EmbeddedServiceState(tmp_path / "state.sqlite")
    a, b, other = _instance("BTCUSDT", "ETHUSDT"), _instance("SOLUSDT"), _instance("XRPUSDT")

    # Act
    migrated = [migrate_legacy_state(store, i, tmp_path) for i in (a, b, other)]
    migrated_a = store.restart_state(a)
    store.save_restart_state(a, RestartState(last_ids={"sim": {"BTCUSDT": 11, "ETHUSDT": 21}}, gaps={}))
    again = migrate_legacy_state(store, a, tmp_path)

    # Assert: a and b got their own symbols of their venue only; nothing for XRPUSDT; never twice
    assert migrated == [True, True, False] and again is False
    assert migrated_a == RestartState(
        last_ids={"sim": {"BTCUSDT": 10, "ETHUSDT": 20}}, gaps={"sim": {"ETHUSDT": [(15, 17)]}}
    )
    assert store.restart_state(b) == RestartState(
        last_ids={"sim": {"SOLUSDT": 30}}, gaps={"sim": {"SOLUSDT": [(25, 26)]}}
    )
    assert store.restart_state(a) == RestartState(last_ids={"sim": {"BTCUSDT": 11, "ETHUSDT": 21}}, gaps={})
    assert store.restart_state(other) is None
    store.close()
