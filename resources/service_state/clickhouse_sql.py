"""Every SQL statement of the ClickHouse service-state store, rendered for given identifiers.

Kept apart from the client so that ``tests/resources/service_state/test_clickhouse_sql_modern.py`` runs
exactly these statements on a current ClickHouse (chdb) while the store runs them on 18.16.

Identifiers are validated (by :func:`resources.clickhouse.sql.identifier`, which module also has the
statements on whole databases) and only then formatted in; values travel as clickhouse-driver parameters
(``%(name)s``) or as insert data, never formatted into the text. 18.16 limits: no Map or JSON types (the
detail and the restart state are JSON text), and the version column of a ReplacingMergeTree is unsigned.
Per-instance tables keep every write until a merge; readers take the newest version per instance with
``FINAL``.
"""

from __future__ import annotations

from resources.clickhouse.sql import qualified as _qualified
from resources.service_state.codec import GAP_COLUMNS, HEARTBEAT_COLUMNS, INSTANCE_COLUMNS

STATE_COLUMNS: tuple[str, ...] = (*INSTANCE_COLUMNS, "saved_us", "state")
"""Columns of the restart-state table."""


_INSTANCE_DDL = "instance_key String, service String, name String, host String, venues String, symbols String"


def create_heartbeats(database: str, table: str) -> str:
    """The heartbeat table: one row per instance after merges, the newest ``wall_time_us`` wins."""
    return (
        f"CREATE TABLE IF NOT EXISTS {_qualified(database, table)} ({_INSTANCE_DDL}, "
        "pid Int64, wall_time_us UInt64, status String, ticks Int64, "
        "last_trade_time_us Nullable(Int64), detail String) "
        "ENGINE = ReplacingMergeTree(wall_time_us) ORDER BY instance_key"
    )


def create_restart_state(database: str, table: str) -> str:
    """The restart-state table: one row per instance after merges, the newest ``saved_us`` wins."""
    return (
        f"CREATE TABLE IF NOT EXISTS {_qualified(database, table)} ({_INSTANCE_DDL}, "
        "saved_us UInt64, state String) "
        "ENGINE = ReplacingMergeTree(saved_us) ORDER BY instance_key"
    )


def create_gap_fills(database: str, table: str) -> str:
    """The live gap-fill record, by month; a fill written twice (a retried insert) is one row after FINAL."""
    return (
        f"CREATE TABLE IF NOT EXISTS {_qualified(database, table)} ("
        "instance_key String, venue String, symbol String, day Date, first_id Int64, last_id Int64, "
        "filled Int64, recorded_us UInt64) "
        "ENGINE = ReplacingMergeTree(recorded_us) PARTITION BY toYYYYMM(day) "
        "ORDER BY (day, venue, symbol, first_id, last_id, instance_key)"
    )


def insert(database: str, table: str, columns: tuple[str, ...]) -> str:
    """``INSERT INTO .. (columns) VALUES`` for clickhouse-driver's row data."""
    return f"INSERT INTO {_qualified(database, table)} ({', '.join(columns)}) VALUES"


def insert_heartbeat(database: str, table: str) -> str:
    """Insert heartbeat rows (:data:`~resources.service_state.codec.HEARTBEAT_COLUMNS`)."""
    return insert(database, table, HEARTBEAT_COLUMNS)


def insert_restart_state(database: str, table: str) -> str:
    """Insert restart-state rows (:data:`STATE_COLUMNS`)."""
    return insert(database, table, STATE_COLUMNS)


def insert_gap_fills(database: str, table: str) -> str:
    """Insert live gap-fill rows (:data:`~resources.service_state.codec.GAP_COLUMNS`)."""
    return insert(database, table, GAP_COLUMNS)


def select_heartbeats(database: str, table: str, *, with_service: bool) -> str:
    """The newest heartbeat per instance, newest first; ``%(service)s`` filters when ``with_service``."""
    where = " WHERE service = %(service)s" if with_service else ""
    return (
        f"SELECT {', '.join(HEARTBEAT_COLUMNS)} FROM {_qualified(database, table)} FINAL{where} "
        "ORDER BY wall_time_us DESC"
    )


def select_restart_state(database: str, table: str) -> str:
    """The newest restart state of instance ``%(instance_key)s``."""
    return (
        f"SELECT state FROM {_qualified(database, table)} FINAL "
        "WHERE instance_key = %(instance_key)s ORDER BY saved_us DESC LIMIT 1"
    )


def select_gap_fills(database: str, table: str) -> str:
    """Live gap fills of day ``%(day)s``."""
    return (
        f"SELECT {', '.join(GAP_COLUMNS)} FROM {_qualified(database, table)} FINAL "
        "WHERE day = %(day)s ORDER BY venue, symbol, first_id, instance_key"
    )
