"""The production service-state store: ClickHouse tables every host and the Dagster daemon can read.

Services beat every second or so, so the client uses short timeouts: a ClickHouse that is down or hung
costs a service a few seconds per beat (reported as :class:`ServiceStateUnavailableError`, which the
services log and ride out), never the 300 s a bulk insert may wait. The tables are created on the first
call, not in the constructor, so a service starts while ClickHouse is still away.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from resources.clickhouse import parse_endpoint, wrapped_errors
from resources.clickhouse import sql as ch_sql
from resources.service_state import clickhouse_sql as sql
from resources.service_state import codec
from resources.service_state.base import (
    Heartbeat,
    LiveGapFill,
    RestartState,
    ServiceInstance,
    ServiceStateStore,
    ServiceStateUnavailableError,
)


class ClickHouseServiceStateError(RuntimeError):
    """A ClickHouse statement of the state store failed for a reason retrying will not cure."""


class ClickHouseServiceState(ServiceStateStore):
    """Service state in ``database`` on the ClickHouse server at ``url`` (18.16 or newer)."""

    def __init__(
        self,
        url: str,
        *,
        database: str = "tradegraph",
        heartbeats_table: str = "service_heartbeats",
        state_table: str = "service_restart_state",
        gaps_table: str = "live_gap_fills",
        cursor_table: str = "service_source_cursors",
        connect_timeout_s: float = 2.0,
        send_receive_timeout_s: float = 5.0,
    ) -> None:
        self.database = ch_sql.identifier(database)
        self.heartbeats_table = ch_sql.identifier(heartbeats_table)
        self.state_table = ch_sql.identifier(state_table)
        self.gaps_table = ch_sql.identifier(gaps_table)
        self.cursor_table = ch_sql.identifier(cursor_table)
        # The short timeouts hold whatever the (shared) URL says.
        endpoint = parse_endpoint(
            url, connect_timeout_s=connect_timeout_s, send_receive_timeout_s=send_receive_timeout_s
        )
        self.host = endpoint.address
        self._client = endpoint.client()
        self._lock = threading.Lock()
        self._ready = False

    # -- plumbing ---------------------------------------------------------------------------------

    @contextmanager
    def _wrapped(self, operation: str) -> Iterator[None]:
        try:
            with wrapped_errors(
                f"service state on ClickHouse at {self.host} ({self.database})",
                operation,
                error=ClickHouseServiceStateError,
                unavailable=ServiceStateUnavailableError,
                # Only a lost, refused or timed-out connection is "not now" for the state store; every
                # server error is a ClickHouseServiceStateError.
                transient_codes=frozenset(),
            ):
                yield
        except ServiceStateUnavailableError:
            self._client.disconnect()  # a half-read answer must not meet the next query
            raise

    def _execute(self, query: str, params: Mapping[str, Any] | Sequence[Any] | None, operation: str) -> Any:
        with self._lock, self._wrapped(operation):
            if not self._ready:
                self._client.execute(ch_sql.create_database(self.database))
                self._client.execute(sql.create_heartbeats(self.database, self.heartbeats_table))
                self._client.execute(sql.create_restart_state(self.database, self.state_table))
                self._client.execute(sql.create_restart_state(self.database, self.cursor_table))
                self._client.execute(sql.create_gap_fills(self.database, self.gaps_table))
                self._ready = True
            return self._client.execute(query, params)

    # -- ServiceStateStore ------------------------------------------------------------------------

    def write_heartbeat(self, beat: Heartbeat) -> None:
        """Replace the heartbeat of ``beat.instance`` (a new version of its row)."""
        self._execute(
            sql.insert_heartbeat(self.database, self.heartbeats_table),
            [codec.heartbeat_row(beat)],
            "write heartbeat",
        )

    def heartbeats(self, service: str | None = None) -> list[Heartbeat]:
        """The newest heartbeat of every instance (of ``service``), newest first."""
        query = sql.select_heartbeats(self.database, self.heartbeats_table, with_service=service is not None)
        rows = self._execute(query, {"service": service} if service is not None else None, "read heartbeats")
        return [codec.heartbeat_from(tuple(row)) for row in rows]

    def save_restart_state(self, instance: ServiceInstance, state: RestartState) -> None:
        """Replace the restart state of ``instance`` (a new version of its row)."""
        self._save_text(self.state_table, instance, codec.state_to_json(state), "save restart state")

    def restart_state(self, instance: ServiceInstance) -> RestartState | None:
        """The restart state ``instance`` saved last, or None."""
        text = self._load_text(self.state_table, instance, "read restart state")
        return None if text is None else codec.state_from_json(text)

    def save_cursor(self, instance: ServiceInstance, cursor: str) -> None:
        """Replace the cursor of ``instance`` (a new version of its row)."""
        self._save_text(self.cursor_table, instance, cursor, "save cursor")

    def cursor(self, instance: ServiceInstance) -> str | None:
        """The cursor ``instance`` saved last, or None."""
        return self._load_text(self.cursor_table, instance, "read cursor")

    def _save_text(self, table: str, instance: ServiceInstance, text: str, operation: str) -> None:
        row = (*codec.instance_row(instance), time.time_ns() // 1_000, text)
        self._execute(sql.insert_restart_state(self.database, table), [row], operation)

    def _load_text(self, table: str, instance: ServiceInstance, operation: str) -> str | None:
        rows = self._execute(
            sql.select_restart_state(self.database, table), {"instance_key": instance.key}, operation
        )
        return str(rows[0][0]) if rows else None

    def record_gap_fills(self, fills: Sequence[LiveGapFill]) -> None:
        """Append ``fills`` (a fill recorded twice is one row to readers)."""
        if not fills:
            return
        rows = [codec.gap_fill_row(fill) for fill in fills]
        self._execute(sql.insert_gap_fills(self.database, self.gaps_table), rows, "record gap fills")

    def gap_fills(self, day: dt.date) -> list[LiveGapFill]:
        """Live gap fills of ``day``, ordered by venue, symbol and first id."""
        rows = self._execute(
            sql.select_gap_fills(self.database, self.gaps_table), {"day": day}, "read gap fills"
        )
        return [codec.gap_fill_from(tuple(row)) for row in rows]

    def close(self) -> None:
        """Close the connection (a later call reconnects)."""
        with self._lock:
            self._client.disconnect()
