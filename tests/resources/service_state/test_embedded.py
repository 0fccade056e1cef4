"""The SQLite store shared by processes of one host: concurrent writers, read-only lookers, a busy file."""

from __future__ import annotations

import multiprocessing
import sqlite3
from pathlib import Path

import pytest

from resources.service_state import (
    EmbeddedServiceState,
    Heartbeat,
    RestartState,
    ServiceInstance,
    ServiceStateUnavailableError,
)

BEATS = 60


def _instance(i: int) -> ServiceInstance:
    return ServiceInstance(
        service="streamer", venues=("sim",), symbols=(f"SYM{i}USDT",), host="h", name=f"n{i}"
    )


def _service(path: str, i: int) -> None:
    """One service process: beats and saves its restart state BEATS times, as fast as it can."""
    instance = _instance(i)
    with EmbeddedServiceState(Path(path)) as state:
        for n in range(BEATS):
            state.save_restart_state(instance, RestartState(last_ids={"sim": {f"SYM{i}USDT": n}}, gaps={}))
            state.write_heartbeat(
                Heartbeat(instance=instance, pid=i, wall_time_us=1_000 + n, ticks=n, last_trade_time_us=None)
            )


def test_processes_writing_at_once_each_keep_their_newest_record(tmp_path: Path) -> None:
    # Arrange
    path = tmp_path / "state" / "service_state.sqlite"
    context = multiprocessing.get_context("fork")
    processes = [context.Process(target=_service, args=(str(path), i)) for i in range(4)]

    # Act: four processes write at the same time
    for process in processes:
        process.start()
    for process in processes:
        process.join(60)

    # Assert: every process finished cleanly and each instance's newest beat and state are there
    assert [p.exitcode for p in processes] == [0, 0, 0, 0]
    with EmbeddedServiceState(path) as reader:
        beats = {b.instance: b.ticks for b in reader.heartbeats()}
        assert beats == {_instance(i): BEATS - 1 for i in range(4)}
        for i in range(4):
            state = reader.restart_state(_instance(i))
            assert state is not None and state.last_ids == {"sim": {f"SYM{i}USDT": BEATS - 1}}


def test_a_reader_never_creates_the_database(tmp_path: Path) -> None:
    path = tmp_path / "state" / "service_state.sqlite"

    with EmbeddedServiceState(path) as reader:
        assert reader.heartbeats() == [] and reader.restart_state(_instance(0)) is None

    assert not path.parent.exists()


def test_a_database_locked_past_the_busy_timeout_is_reported_unavailable(tmp_path: Path) -> None:
    # Arrange: another process holds the write lock
    path = tmp_path / "service_state.sqlite"
    EmbeddedServiceState(path).write_heartbeat(
        Heartbeat(instance=_instance(0), pid=1, wall_time_us=1, ticks=0, last_trade_time_us=None)
    )
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    writer = EmbeddedServiceState(path, busy_timeout_s=0.2)

    # Act / Assert
    try:
        with pytest.raises(ServiceStateUnavailableError, match=r"service_state\.sqlite"):
            writer.write_heartbeat(
                Heartbeat(instance=_instance(1), pid=2, wall_time_us=2, ticks=0, last_trade_time_us=None)
            )
    finally:
        holder.execute("ROLLBACK")
        holder.close()
        writer.close()
