"""The ClickHouse tick store's insert buffer: small, frequent inserts queryable at once, written as one part
per sync instead of one part per insert.

ClickHouse 18.16 writes every insert into a MergeTree as a part of its own and merges the parts later: at
20-50 inserts a second (the loader inserting every 20 ms at 5,000 ticks/s) that took 40-90 % of a core
of the 2-core machine the benchmarks run on, and the exchange-to-queryable latency's tail with it
(docs/BENCHMARKS.md, "The insert buffer"). A ``Buffer`` table (``<table>_buffer``) in front of the tick
table holds inserted rows in the server's memory, answers every ``SELECT`` on it from memory plus the tick
table, and moves its rows into the tick table when flushed. :meth:`InsertBuffer.sync` flushes it
(``OPTIMIZE TABLE`` on a Buffer table flushes it, synchronously) so that its caller knows when the rows are
on disk; the table's own flush (every ``BACKSTOP_S``) only backs it up.

Rows in the buffer are acknowledged but not durable: a server that stops (killed, crashed, restarted)
loses them. :meth:`InsertBuffer.sync` tells: each store writes a token of its own into a ``Memory`` table
(``<table>_buffer_alive``), which a server restart empties; a sync that no longer finds its token raises
:class:`~resources.tick_store.base.StoreRowsLostError` (and writes the token again), so the loader, which
commits its offsets only after a sync, rewinds its consumer to the committed offsets and inserts again
what it inserted since (the copies of what survived are removed by key, as after any redelivery). The
check errs on the safe side: a restart right after a successful flush also counts as a loss.
"""

from __future__ import annotations

import logging
import time
import uuid

import numpy as np

from resources.clickhouse import sql as ch_sql
from resources.tick_store import clickhouse_sql as sql
from resources.tick_store.base import StoreRowsLostError
from resources.tick_store.clickhouse_connection import Connections

log = logging.getLogger(__name__)

BACKSTOP_S = 10
"""The Buffer table flushes itself after this many seconds (or 1,000,000 rows or 100 MB), should nobody
sync it."""


class InsertBuffer:
    """A ``Buffer`` table in front of ``database.table``, created at its first use (see the module
    docstring)."""

    def __init__(self, db: Connections, *, database: str, table: str) -> None:
        self._db = db
        self._target = ch_sql.qualified(database, table)
        self.table = ch_sql.qualified(database, f"{table}_buffer")
        self._alive = ch_sql.qualified(database, f"{table}_buffer_alive")
        self._insert_sql = sql.insert(database, f"{table}_buffer")
        self._database, self._table = ch_sql.identifier(database), ch_sql.identifier(table)
        self._token = uuid.uuid4().hex
        self._ready = False
        self._unsynced_rows = 0

    def insert(self, columns: list[np.ndarray], rows: int) -> None:
        """Insert ``rows`` rows (``columns`` in the tick table's order) into the buffer."""
        self._prepare()
        self._db.insert(self._insert_sql, columns, f"buffered insert of {rows} rows")
        self._unsynced_rows += rows

    def sync(self) -> None:
        """Flush the buffer into the tick table; raise ``StoreRowsLostError`` when the server restarted
        since the last sync (rows inserted meanwhile may be gone)."""
        if not self._ready:
            return  # nothing was ever inserted through the buffer
        started = time.monotonic()
        self._db.execute_beside_inserts(f"OPTIMIZE TABLE {self.table}", operation="flush the insert buffer")
        alive = self._db.execute_beside_inserts(
            f"SELECT count() FROM {self._alive} WHERE token = %(token)s",
            {"token": self._token},
            operation="check the insert buffer survived",
        )
        rows, self._unsynced_rows = self._unsynced_rows, 0
        if not alive or int(alive[0][0]) == 0:
            self._mark()
            raise StoreRowsLostError(
                f"ClickHouse restarted since the last sync of {self.table}: up to {rows} rows inserted into "
                "its buffer meanwhile may be lost; insert them again"
            )
        log.debug("insert buffer synced: %d rows in %.1f ms", rows, (time.monotonic() - started) * 1000)

    def _prepare(self) -> None:
        """Create the buffer and the restart marker, and write this store's token (once)."""
        if self._ready:
            return
        self._db.execute_beside_inserts(
            f"CREATE TABLE IF NOT EXISTS {self.table} AS {self._target} ENGINE = Buffer({self._database}, "
            f"{self._table}, 1, {BACKSTOP_S}, {BACKSTOP_S}, 1000000, 1000000, 100000000, 100000000)",
            operation="create the insert buffer",
        )
        self._db.execute_beside_inserts(
            f"CREATE TABLE IF NOT EXISTS {self._alive} (token String) ENGINE = Memory",
            operation="create the insert buffer's restart marker",
        )
        self._mark()
        self._ready = True

    def _mark(self) -> None:
        """Write this store's token into the restart marker (a restart empties it)."""
        self._db.insert(
            f"INSERT INTO {self._alive} (token) VALUES",
            [np.array([self._token], dtype=object)],
            "mark the insert buffer",
        )
