"""SQL every ClickHouse resource shares: validated identifiers, databases, and the UTC-day partitions.

Identifiers are validated against :data:`IDENTIFIER_PATTERN` and only then formatted into statements;
values never are (they travel as clickhouse-driver parameters). Runs on 18.16 and current ClickHouse
(``tests/resources/clickhouse/test_sql_modern.py`` runs it on chdb).
"""

from __future__ import annotations

import datetime as dt
import re

IDENTIFIER_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"
_IDENTIFIER_RE = re.compile(IDENTIFIER_PATTERN)


def identifier(name: str) -> str:
    """Return ``name`` if it is a safe SQL identifier, else raise ``ValueError`` naming it."""
    if not isinstance(name, str) or not _IDENTIFIER_RE.match(name):
        raise ValueError(f"invalid ClickHouse identifier {name!r}: it must match {IDENTIFIER_PATTERN}")
    return name


def qualified(database: str, table: str) -> str:
    """``database.table``, both validated."""
    return f"{identifier(database)}.{identifier(table)}"


def create_database(database: str) -> str:
    """``CREATE DATABASE IF NOT EXISTS``."""
    return f"CREATE DATABASE IF NOT EXISTS {identifier(database)}"


def drop_database(database: str) -> str:
    """``DROP DATABASE IF EXISTS`` (tests and tear-down)."""
    return f"DROP DATABASE IF EXISTS {identifier(database)}"


def day_partition_expression(time_column: str) -> str:
    """The partition key of a table partitioned by UTC day: the YYYYMMDD number of ``time_column``'s day
    (int64 microseconds since epoch). Parts also keep a min/max index on the column, so range conditions
    on it prune whole partitions."""
    return f"toYYYYMMDD(toDateTime(intDiv({identifier(time_column)}, 1000000), 'UTC'))"


def partition_id(day: dt.date) -> int:
    """The YYYYMMDD partition number of ``day``."""
    return day.year * 10_000 + day.month * 100 + day.day


def partition_day(partition: object) -> dt.date:
    """The day of a partition id as ``system.parts`` lists it (the text 'YYYYMMDD')."""
    return dt.datetime.strptime(str(partition), "%Y%m%d").date()
