"""The ClickHouse tick store's connections: statements, inserts, and side-by-side reads of a day.

Kept apart from the store's logic (:mod:`resources.tick_store.clickhouse`): how calls reach the server,
how long they may wait, how their errors are named, and the tables created at the first call.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from typing import Any, TypeVar

import numpy as np
from clickhouse_driver import Client

from resources.clickhouse import parse_endpoint, wrapped_errors
from resources.clickhouse.workload import ClickHouseWorkload, known_settings
from resources.tick_store.base import StoreUnavailableError

T = TypeVar("T")
R = TypeVar("R")


class ClickHouseTickStoreError(RuntimeError):
    """A ClickHouse operation failed; the message names the server, the operation and the cause."""

    def __init__(self, message: str, *, host: str, operation: str) -> None:
        super().__init__(message)
        self.host = host
        self.operation = operation


class ClickHouseUnavailableError(ClickHouseTickStoreError, StoreUnavailableError):
    """ClickHouse cannot serve the call now (connection lost, server down or overloaded); retry later.

    The client reconnects by itself on the next call.
    """


class Connections:
    """One store's clients of one server, each used by one call at a time.

    - the statement connection (``send_receive_timeout_s``: an ``OPTIMIZE`` or an export may run long);
    - the insert connection (``insert_timeout_s`` for each send or receive: a hung server fails the insert
      instead of blocking the loader); calls on these two are serialised by one lock;
    - ``read_connections - 1`` more statement connections, used only by :meth:`map_reads` to read several
      (venue, symbol) pairs of a day side by side (the server works on one pair while this process decodes
      another; 1 reads one pair after the other).

    Nothing connects in the constructor: the first call connects and runs ``schema`` (the statements that
    create the store's tables), so a service started while the server is down gets
    :class:`ClickHouseUnavailableError` from its calls, and every later call reconnects after a loss.
    """

    def __init__(
        self,
        url: str,
        *,
        where: str,
        schema: Sequence[tuple[str, str]],
        connect_timeout_s: float,
        send_receive_timeout_s: float,
        insert_timeout_s: float,
        read_connections: int,
        workload: ClickHouseWorkload,
    ) -> None:
        if read_connections < 1:
            raise ValueError(f"read_connections must be at least 1, got {read_connections}")
        endpoint = parse_endpoint(
            url,
            connect_timeout_s=connect_timeout_s,
            send_receive_timeout_s=send_receive_timeout_s,
            url_timeouts_win=True,
        )
        self.host = endpoint.address
        self.where = where
        settings = dict(endpoint.settings)
        # Not a clickhouse-driver parameter (parse_url files unknown ones under settings): ours.
        self.insert_timeout_s = float(settings.pop("insert_timeout", insert_timeout_s))
        # Client-level use_numpy: results come back as NumPy columns (the per-query setting only
        # affects inserts).
        settings["use_numpy"] = True
        self._client = endpoint.client(settings=settings)
        self._insert_client = endpoint.client(settings=settings, send_receive_timeout=self.insert_timeout_s)
        self._lock = threading.Lock()
        self._readers = [(self._client, self._lock)] + [
            (endpoint.client(settings=settings), threading.Lock()) for _ in range(read_connections - 1)
        ]
        self._schema = list(schema)
        # Inserts ahead of every other statement (priority, max_threads per query).
        self._read_settings = workload.read_settings()
        self._insert_settings = workload.insert_settings()
        self._schema_ready = False

    def wrapped(self, operation: str) -> AbstractContextManager[None]:
        """Errors of the block raised as :class:`ClickHouseTickStoreError` (or the unavailable kind)
        naming the server, the table and ``operation``."""
        return wrapped_errors(
            f"ClickHouse at {self.host} ({self.where})",
            operation,
            error=functools.partial(ClickHouseTickStoreError, host=self.host, operation=operation),
            unavailable=functools.partial(ClickHouseUnavailableError, host=self.host, operation=operation),
        )

    def execute(
        self,
        query: str,
        params: Mapping[str, Any] | None = None,
        *,
        operation: str,
        settings: Mapping[str, Any] | None = None,
        reader: int = 0,
    ) -> Any:
        """Run a statement on the statement connection (or read connection ``reader``); columnar result."""
        if reader:
            self._ready()
        client, lock = self._readers[reader]
        with lock:
            if not reader:
                self._ensure_schema(client)
            with self.wrapped(operation):
                return client.execute(
                    query,
                    dict(params) if params else None,
                    columnar=True,
                    settings={**self._read_settings, **(settings or {})},
                )

    def insert(self, query: str, columns: list[np.ndarray], operation: str) -> None:
        """Send ``columns`` for an ``INSERT ... VALUES`` statement on the insert connection."""
        with self._lock:
            # On the insert connection: a loader then holds one connection, not two (an idle one keeps
            # a stopping server waiting).
            self._ensure_schema(self._insert_client)
            with self.wrapped(operation):
                self._insert_client.execute(query, columns, columnar=True, settings=self._insert_settings)

    def execute_beside_inserts(
        self, query: str, params: Mapping[str, Any] | None = None, *, operation: str
    ) -> Any:
        """Run a statement on the insert connection, with the inserts' settings, between two inserts (the
        insert buffer's flush and its checks); columnar result."""
        with self._lock:
            self._ensure_schema(self._insert_client)
            with self.wrapped(operation):
                return self._insert_client.execute(
                    query, dict(params) if params else None, columnar=True, settings=self._insert_settings
                )

    def map_reads(self, read: Callable[[int, T], R], items: Iterable[T]) -> list[R]:
        """``[read(reader, item) for item in items]``, in order, over the read connections side by side;
        ``read`` passes ``reader`` on to :meth:`execute`. The first error is raised."""
        todo = list(items)
        workers = min(len(self._readers), len(todo))
        if workers <= 1:
            return [read(0, item) for item in todo]
        results: list[Any] = [None] * len(todo)
        claimed = iter(range(len(todo)))
        claim = threading.Lock()

        def work(reader: int) -> None:
            while True:
                with claim:
                    index = next(claimed, None)
                if index is None:
                    return
                results[index] = read(reader, todo[index])

        self._ready()
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="tick-store-read") as pool:
            for future in [pool.submit(work, reader) for reader in range(workers)]:
                future.result()
        return results

    def _ready(self) -> None:
        """Create the tables first if no call has yet (other connections then find them)."""
        if not self._schema_ready:
            with self._lock:
                self._ensure_schema(self._client)

    def _ensure_schema(self, client: Client) -> None:
        """Run the schema statements on the first call that reaches the server and leave out the read
        settings it does not know (lock held)."""
        if self._schema_ready:
            return
        for statement, operation in self._schema:
            with self.wrapped(operation):
                client.execute(statement)
        with self.wrapped("settings the server knows"):
            self._read_settings = known_settings(
                client, self._read_settings, where=f"ClickHouse at {self.host}"
            )
        self._schema_ready = True

    def close(self) -> None:
        """Disconnect every client (18.16 delays its own shutdown while client connections stay open)."""
        with self._lock:
            self._client.disconnect()
            self._insert_client.disconnect()
        for client, lock in self._readers[1:]:
            with lock:
                client.disconnect()
