"""The embedded service-state store: one SQLite database file, shared by every process of the host.

SQLite in WAL mode lets many processes read while one writes, and each write here is one statement (or
one transaction), so a reader never sees half a record. One row per instance holds its heartbeat and one
its restart state (replaced on every write); live gap fills are appended. A busy database (another
process writing) is waited on for ``busy_timeout_s``, then reported as unavailable.

Readers never create the file: a process that only looks (the stream-health sensor, the seal) sees an
empty store until some service wrote to it.
"""

from __future__ import annotations

import datetime as dt
import logging
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from resources.service_state import codec
from resources.service_state.base import (
    Heartbeat,
    LiveGapFill,
    RestartState,
    ServiceInstance,
    ServiceStateStore,
    ServiceStateUnavailableError,
)

log = logging.getLogger(__name__)

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS heartbeats (
        instance_key TEXT PRIMARY KEY, service TEXT NOT NULL, name TEXT NOT NULL, host TEXT NOT NULL,
        venues TEXT NOT NULL, symbols TEXT NOT NULL, pid INTEGER NOT NULL, wall_time_us INTEGER NOT NULL,
        status TEXT NOT NULL, ticks INTEGER NOT NULL, last_trade_time_us INTEGER, detail TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS restart_state (
        instance_key TEXT PRIMARY KEY, service TEXT NOT NULL, name TEXT NOT NULL, host TEXT NOT NULL,
        venues TEXT NOT NULL, symbols TEXT NOT NULL, saved_us INTEGER NOT NULL, state TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS source_cursors (
        instance_key TEXT PRIMARY KEY, service TEXT NOT NULL, name TEXT NOT NULL, host TEXT NOT NULL,
        venues TEXT NOT NULL, symbols TEXT NOT NULL, saved_us INTEGER NOT NULL, state TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS live_gap_fills (
        instance_key TEXT NOT NULL, venue TEXT NOT NULL, symbol TEXT NOT NULL, day TEXT NOT NULL,
        first_id INTEGER NOT NULL, last_id INTEGER NOT NULL, filled INTEGER NOT NULL,
        recorded_us INTEGER NOT NULL, UNIQUE (day, venue, symbol, first_id, last_id, instance_key))""",
)


def embedded_state_path(home: Path) -> Path:
    """Where the embedded store keeps its database under a tradegraph home folder."""
    return home / "state" / "service_state.sqlite"


def _placeholders(columns: Sequence[str]) -> str:
    return ", ".join("?" for _ in columns)


class EmbeddedServiceState(ServiceStateStore):
    """Service state in the SQLite file ``path`` (created with its folder on the first write)."""

    def __init__(self, path: Path, *, busy_timeout_s: float = 5.0) -> None:
        self.path = Path(path)
        self.busy_timeout_s = busy_timeout_s
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    # -- plumbing ---------------------------------------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # Autocommit (isolation_level=None): every statement is its own transaction unless BEGIN.
            conn = sqlite3.connect(
                self.path, timeout=self.busy_timeout_s, isolation_level=None, check_same_thread=False
            )
            conn.execute("PRAGMA journal_mode=WAL")
            # WAL + NORMAL: a committed write survives a process crash (the OS holds it); only a power
            # loss may drop the newest beats, which the next beat replaces anyway.
            conn.execute("PRAGMA synchronous=NORMAL")
            for statement in _SCHEMA:
                conn.execute(statement)
            self._conn = conn
        return self._conn

    @contextmanager
    def _db(self, operation: str, *, write: bool) -> Iterator[sqlite3.Connection | None]:
        """The connection (None for a read of a store nobody wrote yet), errors with context."""
        with self._lock:
            if not write and self._conn is None and not self.path.exists():
                yield None
                return
            try:
                yield self._connection()
            except sqlite3.OperationalError as exc:
                # "database is locked" after busy_timeout_s, disk full, unreadable file: not now.
                raise ServiceStateUnavailableError(
                    f"service state at {self.path}: {operation} failed: {exc}"
                ) from exc

    def _rows(self, query: str, params: Sequence[Any], operation: str) -> list[tuple[Any, ...]]:
        with self._db(operation, write=False) as conn:
            return [] if conn is None else list(conn.execute(query, params).fetchall())

    # -- ServiceStateStore ------------------------------------------------------------------------

    def write_heartbeat(self, beat: Heartbeat) -> None:
        """Replace the heartbeat of ``beat.instance``."""
        columns = codec.HEARTBEAT_COLUMNS
        with self._db("write heartbeat", write=True) as conn:
            assert conn is not None
            conn.execute(
                f"INSERT OR REPLACE INTO heartbeats ({', '.join(columns)}) VALUES ({_placeholders(columns)})",
                codec.heartbeat_row(beat),
            )

    def heartbeats(self, service: str | None = None) -> list[Heartbeat]:
        """The newest heartbeat of every instance (of ``service``), newest first."""
        query = f"SELECT {', '.join(codec.HEARTBEAT_COLUMNS)} FROM heartbeats"
        params: tuple[str, ...] = ()
        if service is not None:
            query, params = query + " WHERE service = ?", (service,)
        rows = self._rows(query + " ORDER BY wall_time_us DESC", params, "read heartbeats")
        return [codec.heartbeat_from(row) for row in rows]

    def save_restart_state(self, instance: ServiceInstance, state: RestartState) -> None:
        """Replace the restart state of ``instance``."""
        self._save_text("restart_state", instance, codec.state_to_json(state), "save restart state")

    def restart_state(self, instance: ServiceInstance) -> RestartState | None:
        """The restart state ``instance`` saved last, or None."""
        text = self._load_text("restart_state", instance, "read restart state")
        return None if text is None else codec.state_from_json(text)

    def save_cursor(self, instance: ServiceInstance, cursor: str) -> None:
        """Replace the cursor of ``instance``."""
        self._save_text("source_cursors", instance, cursor, "save cursor")

    def cursor(self, instance: ServiceInstance) -> str | None:
        """The cursor ``instance`` saved last, or None."""
        return self._load_text("source_cursors", instance, "read cursor")

    # ``table`` is one of this module's own table names, never user input.
    def _save_text(self, table: str, instance: ServiceInstance, text: str, operation: str) -> None:
        columns = (*codec.INSTANCE_COLUMNS, "saved_us", "state")
        row = (*codec.instance_row(instance), _now_us(), text)
        with self._db(operation, write=True) as conn:
            assert conn is not None
            conn.execute(
                f"INSERT OR REPLACE INTO {table} ({', '.join(columns)}) VALUES ({_placeholders(columns)})",
                row,
            )

    def _load_text(self, table: str, instance: ServiceInstance, operation: str) -> str | None:
        rows = self._rows(f"SELECT state FROM {table} WHERE instance_key = ?", (instance.key,), operation)
        return str(rows[0][0]) if rows else None

    def record_gap_fills(self, fills: Sequence[LiveGapFill]) -> None:
        """Append ``fills`` (a fill recorded twice is kept once)."""
        if not fills:
            return
        columns = codec.GAP_COLUMNS
        rows = [codec.gap_fill_row(fill, day_as_text=True) for fill in fills]
        with self._db("record gap fills", write=True) as conn:
            assert conn is not None
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.executemany(
                    f"INSERT OR IGNORE INTO live_gap_fills ({', '.join(columns)}) "
                    f"VALUES ({_placeholders(columns)})",
                    rows,
                )
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def gap_fills(self, day: dt.date) -> list[LiveGapFill]:
        """Live gap fills of ``day``, ordered by venue, symbol and first id."""
        rows = self._rows(
            f"SELECT {', '.join(codec.GAP_COLUMNS)} FROM live_gap_fills WHERE day = ? "
            "ORDER BY venue, symbol, first_id, instance_key",
            (day.isoformat(),),
            "read gap fills",
        )
        return [codec.gap_fill_from(row) for row in rows]

    def close(self) -> None:
        """Close the database connection (a later call opens it again)."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


def _now_us() -> int:
    return time.time_ns() // 1_000
