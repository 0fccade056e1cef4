"""What every service-state store does, on the SQLite file and on ClickHouse 18.16 alike."""

from __future__ import annotations

import datetime as dt

from resources.service_state import (
    Heartbeat,
    LiveGapFill,
    RestartState,
    ServiceInstance,
    ServiceStateStore,
)
from tests.resources.service_state.conftest import Reopen

DAY = dt.date(2024, 3, 1)
A = ServiceInstance(service="streamer", venues=("sim",), symbols=("BTCUSDT", "ETHUSDT"), host="h1")
B = ServiceInstance(service="streamer", venues=("sim",), symbols=("SOLUSDT",), host="h1")
LOADER = ServiceInstance(service="loader", venues=("sim",), symbols=(), host="h2")


def _beat(instance: ServiceInstance, wall_time_us: int, **kw: object) -> Heartbeat:
    fields: dict[str, object] = {"pid": 100, "ticks": 5, "last_trade_time_us": None, **kw}
    return Heartbeat(instance=instance, wall_time_us=wall_time_us, **fields)  # type: ignore[arg-type]


def _fill(
    symbol: str, first: int, last: int, *, day: dt.date = DAY, filled: int | None = None
) -> LiveGapFill:
    return LiveGapFill(
        instance_key=A.key,
        venue="sim",
        symbol=symbol,
        day=day,
        first_id=first,
        last_id=last,
        filled=last - first + 1 if filled is None else filled,
        recorded_us=1_000,
    )


def test_an_empty_store_has_nothing(state: ServiceStateStore) -> None:
    assert state.heartbeats() == []
    assert state.heartbeat(A) is None
    assert state.restart_state(A) is None
    assert state.cursor(A) is None
    assert state.gap_fills(DAY) == []


def test_each_instance_keeps_its_newest_heartbeat_and_readers_see_every_instance(backend: Reopen) -> None:
    # Arrange: two writers (as two processes) and a reader (as the Dagster daemon)
    writer_a, writer_b, reader = backend(), backend(), backend()

    # Act
    writer_a.write_heartbeat(_beat(A, 1_000, ticks=1))
    writer_b.write_heartbeat(_beat(B, 1_500, ticks=7, detail={"dead_letters": 2.0}))
    writer_a.write_heartbeat(_beat(A, 2_000, ticks=3, last_trade_time_us=1_900))
    writer_a.write_heartbeat(_beat(LOADER, 1_200, status="stopped"))

    # Assert: one beat per instance, the newest, newest first; filtered by service on request
    beats = reader.heartbeats()
    assert [(b.instance, b.wall_time_us, b.ticks) for b in beats] == [
        (A, 2_000, 3),
        (B, 1_500, 7),
        (LOADER, 1_200, 5),
    ]
    assert beats[0].last_trade_time_us == 1_900 and beats[1].detail == {"dead_letters": 2.0}
    assert beats[2].status == "stopped" and beats[0].status == "running"
    assert [b.instance for b in reader.heartbeats("streamer")] == [A, B]
    assert reader.heartbeat(B) == beats[1]


def test_restart_state_is_looked_up_by_instance_and_replaced(backend: Reopen) -> None:
    writer, reader = backend(), backend()
    first = RestartState(last_ids={"sim": {"BTCUSDT": 10, "ETHUSDT": 4}}, gaps={})
    newer = RestartState(last_ids={"sim": {"BTCUSDT": 12, "ETHUSDT": 4}}, gaps={"sim": {"BTCUSDT": [(5, 6)]}})
    other = RestartState(last_ids={"sim": {"SOLUSDT": 99}}, gaps={})

    writer.save_restart_state(A, first)
    writer.save_restart_state(B, other)
    writer.save_restart_state(A, newer)

    assert reader.restart_state(A) == newer
    assert reader.restart_state(B) == other
    # Same symbols under another name or host: another instance, with no state of its own yet
    assert (
        reader.restart_state(
            ServiceInstance(service="streamer", venues=("sim",), symbols=A.symbols, host="h9")
        )
        is None
    )


def test_source_cursor_is_looked_up_by_instance_replaced_and_apart_from_restart_state(
    backend: Reopen,
) -> None:
    prices = ServiceInstance(service="source", venues=(), symbols=(), host="h1", name="prices")
    load = ServiceInstance(service="source", venues=(), symbols=(), host="h1", name="load")
    writer, reader = backend(), backend()

    writer.save_cursor(prices, '{"etag": "a"}')
    writer.save_cursor(load, "page=7")
    writer.save_cursor(prices, '{"etag": "b"}')

    assert reader.cursor(prices) == '{"etag": "b"}'
    assert reader.cursor(load) == "page=7"
    assert reader.restart_state(prices) is None
    assert reader.cursor(A) is None


def test_gap_fills_are_appended_and_read_by_day(backend: Reopen) -> None:
    writer, reader = backend(), backend()
    next_day = DAY + dt.timedelta(days=1)

    writer.record_gap_fills([_fill("ETHUSDT", 20, 24), _fill("BTCUSDT", 5, 9, filled=4)])
    writer.record_gap_fills([_fill("BTCUSDT", 1, 2), _fill("BTCUSDT", 40, 41, day=next_day)])
    writer.record_gap_fills([])

    fills = reader.gap_fills(DAY)
    assert [(f.symbol, f.first_id, f.last_id, f.filled, f.missing) for f in fills] == [
        ("BTCUSDT", 1, 2, 2, 2),
        ("BTCUSDT", 5, 9, 4, 5),
        ("ETHUSDT", 20, 24, 5, 5),
    ]
    assert all(f.day == DAY and f.instance_key == A.key for f in fills)
    assert [f.first_id for f in reader.gap_fills(next_day)] == [40]


def test_a_fill_recorded_twice_is_read_once(state: ServiceStateStore) -> None:
    # A retried write (the first one reached the store, its answer did not) must not double the report.
    state.record_gap_fills([_fill("BTCUSDT", 5, 9)])
    state.record_gap_fills([_fill("BTCUSDT", 5, 9)])

    assert len(state.gap_fills(DAY)) == 1
