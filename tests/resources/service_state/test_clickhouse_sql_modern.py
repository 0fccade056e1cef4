"""The service-state SQL, written for ClickHouse 18.16 (and run there by the contract suite), also runs on
a current ClickHouse (chdb): every statement rendered as clickhouse-driver renders it, rows inserted with
SQL ``VALUES`` escaped as the driver escapes parameters."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest

from resources.service_state import Heartbeat, RestartState, ServiceInstance, codec
from resources.service_state import clickhouse_sql as sql
from tests.resources.clickhouse.modern import Modern, modern_database, statements_of

DATABASE = "service_state_modern"
A = ServiceInstance(service="streamer", venues=("sim",), symbols=("BTCUSDT",), host="h")
B = ServiceInstance(service="loader", venues=("sim",), symbols=(), host="h")
DAY = dt.date(2024, 3, 1)


@pytest.fixture(scope="module")
def modern(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Modern]:
    with modern_database(tmp_path_factory.mktemp("chdb"), DATABASE) as db:
        for _ in range(2):  # every CREATE is idempotent
            db.run(sql.create_heartbeats(DATABASE, "beats"))
            db.run(sql.create_restart_state(DATABASE, "state"))
            db.run(sql.create_gap_fills(DATABASE, "gaps"))
        yield db


def test_every_statement_of_the_module_is_covered_here() -> None:
    statements = statements_of(sql)

    assert statements == {
        "create_heartbeats",
        "create_restart_state",
        "create_gap_fills",
        "insert",
        "insert_heartbeat",
        "insert_restart_state",
        "insert_gap_fills",
        "select_heartbeats",
        "select_restart_state",
        "select_gap_fills",
    }


def test_heartbeats_keep_the_newest_row_per_instance(modern: Modern) -> None:
    def beat(instance: ServiceInstance, wall: int, last: int | None) -> tuple[Any, ...]:
        return codec.heartbeat_row(
            Heartbeat(instance=instance, pid=1, wall_time_us=wall, ticks=wall, last_trade_time_us=last)
        )

    insert = sql.insert_heartbeat(DATABASE, "beats")
    modern.insert(insert, [beat(A, 10, 5)])
    modern.insert(insert, [beat(A, 30, None), beat(B, 20, 7)])

    rows = modern.rows(sql.select_heartbeats(DATABASE, "beats", with_service=False))
    beats = [codec.heartbeat_from(row) for row in rows]
    assert [(b.instance, b.wall_time_us, b.last_trade_time_us) for b in beats] == [(A, 30, None), (B, 20, 7)]
    only = modern.rows(sql.select_heartbeats(DATABASE, "beats", with_service=True), {"service": "loader"})
    assert [codec.heartbeat_from(row).instance for row in only] == [B]


def test_restart_state_is_the_newest_saved(modern: Modern) -> None:
    insert = sql.insert_restart_state(DATABASE, "state")
    old = RestartState(last_ids={"sim": {"BTCUSDT": 1}}, gaps={})
    new = RestartState(last_ids={"sim": {"BTCUSDT": 9}}, gaps={"sim": {"BTCUSDT": [(3, 4)]}})
    modern.insert(insert, [(*codec.instance_row(A), 2, codec.state_to_json(new))])
    modern.insert(insert, [(*codec.instance_row(A), 1, codec.state_to_json(old))])

    rows = modern.rows(sql.select_restart_state(DATABASE, "state"), {"instance_key": A.key})
    assert [codec.state_from_json(r[0]) for r in rows] == [new]
    assert modern.rows(sql.select_restart_state(DATABASE, "state"), {"instance_key": B.key}) == []


def test_gap_fills_of_a_day_once_each(modern: Modern) -> None:
    insert = sql.insert_gap_fills(DATABASE, "gaps")
    fill = (A.key, "sim", "BTCUSDT", DAY, 5, 9, 5, 100)
    modern.insert(insert, [fill, (A.key, "sim", "BTCUSDT", DAY + dt.timedelta(days=1), 20, 21, 2, 100)])
    modern.insert(insert, [fill])  # a retried write

    rows = modern.rows(sql.select_gap_fills(DATABASE, "gaps"), {"day": DAY})
    assert [r[4:7] for r in rows] == [(5, 9, 5)]
