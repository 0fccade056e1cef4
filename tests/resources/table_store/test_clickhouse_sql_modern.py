"""The table store's SQL, written for ClickHouse 18.16, also runs on a current ClickHouse (chdb 26.x).

Every statement of ``resources.table_store.clickhouse_sql`` is rendered exactly as clickhouse-driver
renders it for the server (its own parameter escaping) and run in-process through chdb, on rows inserted
with SQL ``VALUES`` so the answers can be checked. The same statements run on 18.16 in the contract suite.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pytest

from resources.clickhouse.sql import partition_id
from resources.table_store import TableSpec
from resources.table_store import clickhouse_sql as sql
from tests.resources.clickhouse.modern import Modern, modern_database, statements_of
from tests.resources.table_store.helpers import DAY1, DAY2, SIGNALS, in_key_order, rows
from trading_assets.core.time import US_PER_DAY, day_start_us

DATABASE = "table_store_modern"
_tables = itertools.count()


@pytest.fixture(scope="module")
def modern(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Modern]:
    with modern_database(tmp_path_factory.mktemp("chdb"), DATABASE) as db:
        yield db


def insert(modern: Modern, table: str, data: pa.Table) -> None:
    modern.insert(sql.insert(DATABASE, table, SIGNALS), (row.values() for row in data.to_pylist()))


def as_rows(result: pa.Table) -> list[dict[str, Any]]:
    """Result rows as SIGNALS rows (``active`` comes back as UInt8 0/1)."""
    return [{**row, "active": bool(row["active"])} for row in result.to_pylist()]


def spec_of(name: str) -> TableSpec:
    """SIGNALS under another table name (one fresh table per test)."""
    return TableSpec(name=name, schema=SIGNALS.schema, time_column=SIGNALS.time_column, key=SIGNALS.key)


@pytest.fixture
def signals_table(modern: Modern) -> str:
    """A fresh SIGNALS-shaped table holding rows of DAY1 (count 3) and DAY2 (count 2)."""
    name = f"signals_{next(_tables)}"
    spec = spec_of(name)
    modern.run(sql.create_table(DATABASE, spec))
    modern.run(sql.create_table(DATABASE, spec))  # idempotent
    insert(modern, name, rows(DAY1, count=3))
    insert(modern, name, rows(DAY2, count=2))
    return name


def day_range(day: Any) -> dict[str, int]:
    start = day_start_us(day)
    return {"start_us": start, "end_us": start + US_PER_DAY}


def test_every_statement_of_the_module_is_covered_here() -> None:
    # Helpers that render parts of statements (covered through the statements).
    statements = statements_of(sql) - {"partition_expression", "column_types"}

    assert statements == {
        "create_table",
        "create_staging",
        "drop_table",
        "insert",
        "replace_partition",
        "sweep_replaced_parts",
        "drop_partition",
        "select_range",
        "partitions",
        "table_columns",
    }


def test_select_range_returns_the_rows_in_key_order_with_filters(modern: Modern, signals_table: str) -> None:
    spec = spec_of(signals_table)

    whole_day = modern.run(sql.select_range(DATABASE, spec, []), day_range(DAY1))
    filtered = modern.run(
        sql.select_range(DATABASE, spec, ["symbol", "active"]),
        {**day_range(DAY1), "filter_0": ("ETHUSDT",), "filter_1": (1,)},
    )
    two_symbols = modern.run(
        sql.select_range(DATABASE, spec, ["symbol"]), {**day_range(DAY2), "filter_0": ("ETHUSDT", "BTCUSDT")}
    )

    assert whole_day.column_names == list(SIGNALS.columns)
    assert as_rows(whole_day) == in_key_order(rows(DAY1, count=3))
    assert [(r["symbol"], r["time_us"]) for r in as_rows(filtered)] == [("ETHUSDT", day_start_us(DAY1))] * 2
    assert as_rows(two_symbols) == in_key_order(rows(DAY2, count=2))


def test_partitions_are_days_and_table_columns_match_the_spec(modern: Modern, signals_table: str) -> None:
    identity = {"database": DATABASE, "table": signals_table}

    partitions = modern.rows(sql.partitions(), identity)
    columns = dict(modern.rows(sql.table_columns(), identity))

    assert partitions == [(str(partition_id(DAY1)), 12), (str(partition_id(DAY2)), 8)]
    assert columns == dict(sql.column_types(SIGNALS))


def test_replace_partition_swaps_one_day_from_a_staging_table_and_the_sweep_keeps_every_day(
    modern: Modern, signals_table: str
) -> None:
    staging = f"{signals_table}__staging_test"
    replacement = rows(DAY1, count=1, score=7.0)
    modern.run(sql.create_staging(DATABASE, staging, signals_table))
    insert(modern, staging, replacement)

    modern.run(sql.replace_partition(DATABASE, signals_table, staging), {"partition": partition_id(DAY1)})
    modern.run(sql.sweep_replaced_parts(DATABASE, signals_table))  # drops nothing stored
    modern.run(sql.drop_table(DATABASE, staging))
    modern.run(sql.drop_table(DATABASE, staging))  # absent: no error

    spec = spec_of(signals_table)
    assert as_rows(modern.run(sql.select_range(DATABASE, spec, []), day_range(DAY1))) == in_key_order(
        replacement
    )
    assert as_rows(modern.run(sql.select_range(DATABASE, spec, []), day_range(DAY2))) == in_key_order(
        rows(DAY2, count=2)
    )
    partitions = modern.rows(sql.partitions(), {"database": DATABASE, "table": signals_table})
    assert partitions == [(str(partition_id(DAY1)), 4), (str(partition_id(DAY2)), 8)]  # no partition 0


def test_drop_partition_removes_only_that_day(modern: Modern, signals_table: str) -> None:
    modern.run(sql.drop_partition(DATABASE, signals_table), {"partition": partition_id(DAY1)})
    modern.run(sql.drop_partition(DATABASE, signals_table), {"partition": 20000101})  # absent: no error

    partitions = modern.rows(sql.partitions(), {"database": DATABASE, "table": signals_table})

    assert partitions == [(str(partition_id(DAY2)), 8)]


@pytest.mark.parametrize("bad", ["", "1abc", "t; DROP TABLE x", "a.b", "table-store", "t`"])
def test_identifiers_are_validated_before_any_sql_is_rendered(bad: str) -> None:
    with pytest.raises(ValueError, match="invalid ClickHouse identifier"):
        sql.drop_table(bad, "signals")
    with pytest.raises(ValueError, match="invalid ClickHouse identifier"):
        sql.create_staging("tradegraph", bad, "signals")
    with pytest.raises(ValueError, match="invalid ClickHouse identifier"):
        sql.select_range("tradegraph", SIGNALS, [bad])
