"""The SQL every ClickHouse store shares (databases, identifiers, day partitions) runs on a current
ClickHouse (chdb) as on 18.16, where the stores' contract suites run it."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator

import pytest

from resources.clickhouse import ClickHouseWorkload, sql
from resources.clickhouse.workload import OPTIONAL_SETTINGS
from tests.resources.clickhouse.modern import Modern, modern_database, statements_of
from trading_assets.core.time import day_bounds_us

DATABASE = "clickhouse_shared_modern"


@pytest.fixture(scope="module")
def modern(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Modern]:
    with modern_database(tmp_path_factory.mktemp("chdb"), DATABASE) as db:
        yield db


def test_every_statement_of_the_module_is_covered_here() -> None:
    statements = statements_of(sql)

    assert statements == {
        "identifier",
        "qualified",
        "create_database",
        "drop_database",
        "day_partition_expression",
        "partition_id",
        "partition_day",
    }


def test_a_database_is_created_once_and_dropped_quietly_when_absent(modern: Modern) -> None:
    modern.run(sql.create_database("shared_scratch"))
    modern.run(sql.create_database("shared_scratch"))  # idempotent

    created = modern.rows("SELECT name FROM system.databases WHERE name = 'shared_scratch'")
    modern.run(sql.drop_database("shared_scratch"))
    modern.run(sql.drop_database("shared_scratch"))  # absent: no error

    assert created == [("shared_scratch",)]
    assert modern.rows("SELECT name FROM system.databases WHERE name = 'shared_scratch'") == []


def test_rows_are_partitioned_by_the_utc_day_of_their_time_column(modern: Modern) -> None:
    # Arrange: a table partitioned as the stores partition theirs, rows at both edges of two days
    day = dt.date(2024, 2, 29)
    start, end = day_bounds_us(day)
    table = sql.qualified(DATABASE, "by_day")
    modern.run(
        f"CREATE TABLE {table} (time_us Int64) ENGINE = MergeTree "
        f"PARTITION BY {sql.day_partition_expression('time_us')} ORDER BY time_us"
    )
    modern.insert(f"INSERT INTO {table} (time_us) VALUES", [(start,), (end - 1,), (end,)])

    # Act
    partitions = modern.rows(
        "SELECT partition_id, sum(rows) FROM system.parts WHERE database = %(database)s "
        "AND table = 'by_day' AND active GROUP BY partition_id ORDER BY partition_id",
        {"database": DATABASE},
    )

    # Assert: the ids are the days' partition numbers, and read back as the days
    assert partitions == [
        (str(sql.partition_id(day)), 2),
        (str(sql.partition_id(day + dt.timedelta(days=1))), 1),
    ]
    assert [sql.partition_day(pid) for pid, _ in partitions] == [day, day + dt.timedelta(days=1)]


@pytest.mark.parametrize("bad", ["", "1abc", "t; DROP TABLE x", "a.b", "table-store", "t`", "ticks "])
def test_identifiers_are_validated_before_any_sql_is_rendered(bad: str) -> None:
    with pytest.raises(ValueError, match=re.escape(f"invalid ClickHouse identifier {bad!r}")):
        sql.create_database(bad)
    with pytest.raises(ValueError, match="invalid ClickHouse identifier"):
        sql.qualified("tradegraph", bad)
    with pytest.raises(ValueError, match="invalid ClickHouse identifier"):
        sql.day_partition_expression(bad)


def test_a_current_clickhouse_knows_every_read_setting_of_the_workload(modern: Modern) -> None:
    # The stores send these to a server that lists them (known_settings); 18.16 lacks os_thread_priority.
    sent = ClickHouseWorkload(read_os_thread_priority=19).read_settings()

    known = modern.rows(
        "SELECT name FROM system.settings WHERE name IN %(names)s", {"names": tuple(sorted(sent))}
    )

    assert set(sent) >= OPTIONAL_SETTINGS
    assert {name for (name,) in known} == set(sent)
