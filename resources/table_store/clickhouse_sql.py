"""Every SQL statement of the ClickHouse table store, rendered for given identifiers and table specs.

Kept apart from the client code so that ``tests/resources/table_store/test_clickhouse_sql_modern.py``
runs exactly these statements on a current ClickHouse (chdb) while the store runs them on 18.16.

Identifiers (database, table and column names) are validated by
:func:`resources.clickhouse.sql.identifier` (which module also has the statements on whole databases) and
only then formatted into the text. Values are never formatted in: statements carry clickhouse-driver
placeholders (``%(name)s``) that the driver fills with escaped literals.

The SQL is restricted to what ClickHouse 18.16 understands (no window functions, no DateTime64, no
CODEC); ``ALTER TABLE .. REPLACE PARTITION .. FROM`` is there since 18.x.
"""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa

from resources.clickhouse.sql import day_partition_expression, identifier
from resources.clickhouse.sql import qualified as _qualified
from resources.table_store.spec import TableSpec

CLICKHOUSE_TYPES: dict[pa.DataType, str] = {
    pa.string(): "String",
    pa.int8(): "Int8",
    pa.int16(): "Int16",
    pa.int32(): "Int32",
    pa.int64(): "Int64",
    pa.float32(): "Float32",
    pa.float64(): "Float64",
    pa.bool_(): "UInt8",
}
"""The ClickHouse column type of each supported Arrow type (18.16 has no Bool: UInt8 0/1)."""


def _columns(spec: TableSpec) -> str:
    return ", ".join(identifier(name) for name in spec.columns)


def partition_expression(spec: TableSpec) -> str:
    """The partition key: the YYYYMMDD number of the time column's UTC day."""
    return day_partition_expression(spec.time_column)


def column_types(spec: TableSpec) -> list[tuple[str, str]]:
    """(column, ClickHouse type) of the spec's table, in schema order."""
    return [(field.name, CLICKHOUSE_TYPES[field.type]) for field in spec.schema]


def create_table(database: str, spec: TableSpec) -> str:
    """The spec's table: a plain MergeTree (a day is replaced whole, never merged by key), one partition a day.

    ``old_parts_lifetime = 0``: the parts a ``REPLACE PARTITION`` swapped out may be deleted at once
    (:func:`sweep_replaced_parts`). ClickHouse 18.16 keeps them on disk for 8 minutes by default, and a
    server killed meanwhile loads them again as active next to the day's new parts: every earlier
    version of the day comes back (measured: three writes of 1, 2 and 3 rows read 6 rows after a kill).
    """
    columns = ",\n".join(f"    {identifier(name)} {kind}" for name, kind in column_types(spec))
    key = ", ".join(identifier(name) for name in spec.key)
    return (
        f"CREATE TABLE IF NOT EXISTS {_qualified(database, spec.name)} (\n"
        f"{columns}\n"
        ")\n"
        "ENGINE = MergeTree\n"
        f"PARTITION BY {partition_expression(spec)}\n"
        f"ORDER BY ({key})\n"
        "SETTINGS old_parts_lifetime = 0"
    )


def create_staging(database: str, staging: str, table: str) -> str:
    """An empty table ``staging`` with the structure, engine and partition key of ``table``."""
    return f"CREATE TABLE {_qualified(database, staging)} AS {_qualified(database, table)}"


def drop_table(database: str, table: str) -> str:
    """``DROP TABLE IF EXISTS`` (staging tables after a write)."""
    return f"DROP TABLE IF EXISTS {_qualified(database, table)}"


def insert(database: str, table: str, spec: TableSpec) -> str:
    """Insert statement with the spec's columns; the driver sends the rows (columnar) after ``VALUES``."""
    return f"INSERT INTO {_qualified(database, table)} ({_columns(spec)}) VALUES"


def replace_partition(database: str, table: str, staging: str) -> str:
    """Swap partition ``%(partition)s`` (integer YYYYMMDD) of ``table`` for that of ``staging``, atomically.

    Readers see the old parts or the new ones; ``staging`` keeps its copy (dropped afterwards).
    """
    return (
        f"ALTER TABLE {_qualified(database, table)} REPLACE PARTITION %(partition)s "
        f"FROM {_qualified(database, staging)}"
    )


def sweep_replaced_parts(database: str, table: str) -> str:
    """Delete from disk the parts a ``REPLACE PARTITION`` swapped out, now rather than in the background.

    Dropping partition 0 (no YYYYMMDD day is 0, so nothing is dropped) makes the server clear the
    table's old parts at once, as every ``DROP PARTITION`` does; with the table's ``old_parts_lifetime =
    0`` that includes the ones just replaced. Otherwise a server killed before its background cleanup
    (seconds) would bring them back (:func:`create_table`).
    """
    return f"ALTER TABLE {_qualified(database, table)} DROP PARTITION 0"


def drop_partition(database: str, table: str) -> str:
    """Delete partition ``%(partition)s`` (an integer YYYYMMDD); a missing partition is no error."""
    return f"ALTER TABLE {_qualified(database, table)} DROP PARTITION %(partition)s"


def select_range(database: str, spec: TableSpec, filter_columns: Sequence[str]) -> str:
    """Rows with ``%(start_us)s <= time_column < %(end_us)s``, in key order.

    For each of ``filter_columns`` (by position ``i``) the parameter ``filter_i`` is a tuple of the
    accepted values: ``column IN filter_i``. Any range works: nothing merges across partitions.
    """
    time = identifier(spec.time_column)
    conditions = [f"{time} >= %(start_us)s", f"{time} < %(end_us)s"]
    conditions += [f"{identifier(column)} IN %(filter_{i})s" for i, column in enumerate(filter_columns)]
    key = ", ".join(identifier(name) for name in spec.key)
    return (
        f"SELECT {_columns(spec)} FROM {_qualified(database, spec.name)}\n"
        f"WHERE {' AND '.join(conditions)}\n"
        f"ORDER BY {key}"
    )


def partitions() -> str:
    """Active rows per partition id ('YYYYMMDD') of table ``%(table)s`` in database ``%(database)s``."""
    return (
        "SELECT partition_id, sum(rows) AS rows FROM system.parts\n"
        "WHERE database = %(database)s AND table = %(table)s AND active\n"
        "GROUP BY partition_id\n"
        "ORDER BY partition_id"
    )


def table_columns() -> str:
    """(name, type) of the columns of table ``%(table)s`` in database ``%(database)s`` (18.16 has no
    ``position`` column to order them by; callers compare them as a mapping)."""
    return "SELECT name, type FROM system.columns\nWHERE database = %(database)s AND table = %(table)s"
