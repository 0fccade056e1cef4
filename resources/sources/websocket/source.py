"""A websocket stream of JSON messages as a source: connect, subscribe, read messages into typed records.

A fetch reads what arrives for up to its timeout (or until ``max_per_fetch`` records, or ``linger_s``
after the first record, so a busy stream is published in small, frequent batches). A dropped connection
raises :class:`SourceUnavailableError` after the records read before the drop were handed over; the next
fetch connects again (the poller backs off). A plain websocket cannot replay what was sent while the
connection was down: the cursor stays empty, and a stream with ids and a history (an exchange) is
better served by its venue adapter, which fills such gaps.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

import orjson
import pyarrow as pa
import websocket

from resources.sources.base import (
    RecordSchema,
    Rejected,
    Source,
    SourceBatch,
    SourceSpec,
    SourceUnavailableError,
)
from resources.sources.columns import RowBuilder, schema_of

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class WebsocketConfig:
    """Options of a websocket source."""

    name: str
    """The source's name."""
    url: str
    """Websocket URL, e.g. ``ws://127.0.0.1:8765/stream?streams=btcusdt@trade``."""
    columns: dict[str, str]
    """Record columns and their types (string, int64, float64, bool, time)."""
    time_column: str
    """Column the value is for (a ``time`` column); its day is the partition."""
    key: tuple[str, ...]
    """Columns that name one record (a message seen twice is stored once)."""
    fields: dict[str, str] = field(default_factory=dict)
    """Dotted path of each column in the message (default: the column's own name)."""
    series: tuple[str, ...] = ()
    """Columns that name one series."""
    version_column: str | None = None
    """Column of the publish time, for streams that revise values."""
    periods_per_day: int | None = None
    """Values per series in a complete day, if the stream has such an expectation."""
    subscribe: str | None = None
    """Text sent after connecting (a JSON subscription request), if the stream wants one."""
    unwrap: str | None = None
    """Dotted path of the payload inside each message (``data`` for Binance combined streams); a list
    there gives one record per element."""
    match: dict[str, str] = field(default_factory=dict)
    """Only payloads whose fields equal these are records (e.g. ``{"e": "trade"}``); others are skipped."""
    connect_timeout_s: float = 10.0
    """Timeout of the connect and handshake."""
    linger_s: float = 0.05
    """Once a record arrived, read on for at most this long before handing the batch over."""
    max_per_fetch: int = 20_000
    """Records one fetch returns at most."""


def _path(message: object, dotted: str) -> object:
    value = message
    for part in dotted.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


class WebsocketSource(Source):
    """One websocket connection, opened on the first fetch and again after a drop."""

    def __init__(self, config: WebsocketConfig) -> None:
        self.config = config
        records = RecordSchema(
            schema=schema_of(config.columns),
            time_column=config.time_column,
            key=tuple(config.key),
            series=tuple(config.series),
            version_column=config.version_column,
        )
        self.spec = SourceSpec(
            name=config.name, kind="websocket", records=records, periods_per_day=config.periods_per_day
        )
        self._ws: websocket.WebSocket | None = None

    def _connect(self) -> websocket.WebSocket:
        if self._ws is None:
            try:
                ws = websocket.create_connection(self.config.url, timeout=self.config.connect_timeout_s)
                if self.config.subscribe is not None:
                    ws.send(self.config.subscribe)
            except (OSError, websocket.WebSocketException) as exc:
                raise SourceUnavailableError(f"websocket {self.config.url}: cannot connect: {exc!r}") from exc
            log.info("source %s connected to %s", self.config.name, self.config.url)
            self._ws = ws
        return self._ws

    def _payloads(self, message: object) -> Iterator[object]:
        payload = message if self.config.unwrap is None else _path(message, self.config.unwrap)
        items = payload if isinstance(payload, list) else [payload]
        for item in items:
            if all(str(_path(item, key)) == value for key, value in self.config.match.items()):
                yield item

    def fetch(self, cursor: str | None, *, timeout_s: float) -> SourceBatch:
        ws = self._connect()
        rows = RowBuilder(self.config.columns)
        rejected: list[Rejected] = []
        deadline = time.monotonic() + timeout_s
        dropped: Exception | None = None
        while len(rows) < self.config.max_per_fetch:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            ws.settimeout(remaining)
            try:
                frame = ws.recv()
            except websocket.WebSocketTimeoutException:
                break
            except (OSError, websocket.WebSocketException) as exc:
                dropped = exc
                break
            if not frame:
                continue
            try:
                message = orjson.loads(frame)
            except orjson.JSONDecodeError as exc:
                payload = frame.encode() if isinstance(frame, str) else frame
                rejected.append(Rejected(payload=payload, reason=f"message is not JSON: {exc}"))
                continue
            for item in self._payloads(message):
                fields = {
                    column: _path(item, self.config.fields.get(column, column))
                    for column in self.config.columns
                }
                reason = rows.add(fields)
                if reason is not None:
                    rejected.append(Rejected(payload=orjson.dumps(item), reason=reason))
            if len(rows):
                deadline = min(deadline, time.monotonic() + self.config.linger_s)
        if dropped is not None:
            self.close()
            if not len(rows) and not rejected:
                raise SourceUnavailableError(f"websocket {self.config.url}: connection lost: {dropped!r}")
            log.warning(
                "source %s: connection lost (%r); reconnecting on the next fetch", self.config.name, dropped
            )
        table: pa.Table = rows.table()
        return SourceBatch(records=table, cursor=cursor, rejected=tuple(rejected))

    def close(self) -> None:
        """Close the connection (the next fetch opens a new one)."""
        if self._ws is not None:
            try:
                self._ws.close(timeout=1)
            except (OSError, websocket.WebSocketException) as exc:
                log.debug("closing %s: %r", self.config.url, exc)
            self._ws = None
