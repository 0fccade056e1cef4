"""A small RFC 6455 websocket server on a bare asyncio protocol, built for sending fast.

Libraries send one frame per call; here the fan-out hands each connection one ``bytes`` blob holding
every frame of a batch and it goes out with a single ``transport.write``. The protocol does the
handshake (``Sec-WebSocket-Accept = base64(sha1(key + GUID))``), reads and unmasks client frames
(text messages, ping, pong, close, fragments) and reports writability changes, so the sender can pause
instead of letting buffers grow. Routing and message meaning belong to a :class:`WsHandler`.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import time
from typing import Protocol
from urllib.parse import parse_qs, urlsplit

from trading_assets.services.exchange_sim import wire

log = logging.getLogger(__name__)

_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
MAX_REQUEST_BYTES = 16 * 1024
MAX_MESSAGE_BYTES = 64 * 1024
"""Client messages are subscriptions and pongs; anything bigger is refused with close code 1009."""


def accept_key(key: str) -> str:
    """The ``Sec-WebSocket-Accept`` answer to a client's ``Sec-WebSocket-Key``."""
    return base64.b64encode(hashlib.sha1(key.encode() + _GUID).digest()).decode()


def unmask(payload: bytes, mask: bytes) -> bytes:
    """XOR ``payload`` with the repeating 4-byte client mask (whole-integer XOR, no Python loop)."""
    n = len(payload)
    if n == 0:
        return b""
    key = (mask * (n // 4 + 1))[:n]
    return (int.from_bytes(payload, "little") ^ int.from_bytes(key, "little")).to_bytes(n, "little")


class Rejection(Exception):
    """A handshake refused with an HTTP status (e.g. 401 for a missing Finnhub token)."""

    def __init__(self, status: int, reason: str, body: str) -> None:
        super().__init__(f"{status} {reason}: {body}")
        self.status, self.reason, self.body = status, reason, body


class WsHandler(Protocol):
    """What the server calls into: routing, messages and lifecycle of connections."""

    def accept(self, conn: WsConnection, path: str, query: dict[str, list[str]]) -> None:
        """Register an upgraded connection for ``path``; raise :class:`Rejection` to refuse it."""

    def on_message(self, conn: WsConnection, payload: bytes) -> None:
        """A complete text or binary message from the client."""

    def on_pong(self, conn: WsConnection) -> None:
        """A pong frame arrived."""

    def on_lost(self, conn: WsConnection) -> None:
        """The connection is gone (closed, aborted or failed)."""

    def on_writable_change(self, conn: WsConnection, paused: bool) -> None:
        """The connection's send buffer crossed the high (paused) or low (resumed) water mark."""


class WsConnection(asyncio.Protocol):
    """One client connection: handshake, then websocket frames both ways."""

    def __init__(self, handler: WsHandler, high_water_bytes: int) -> None:
        self.handler = handler
        self.high_water_bytes = high_water_bytes
        self.transport: asyncio.Transport | None = None
        self.peer = ""
        self.path = ""
        self.upgraded = False
        self.closing = False
        self.paused = False
        self.paused_since = 0.0
        self.frames_sent = 0
        self.trades_sent = 0
        self.bytes_sent = 0
        self.kind = ""
        """Set by the handler: ``binance_raw``, ``binance_combined`` or ``finnhub``."""
        self.subscriptions: set[int] = set()
        """Symbol indexes this connection receives (managed by the handler)."""
        self._buffer = bytearray()
        self._fragments: list[bytes] = []

    # asyncio callbacks -------------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.set_write_buffer_limits(high=self.high_water_bytes, low=self.high_water_bytes // 4)
        peer = transport.get_extra_info("peername")
        self.peer = f"{peer[0]}:{peer[1]}" if peer else "?"

    def connection_lost(self, exc: Exception | None) -> None:
        if self.upgraded:
            self.upgraded = False
            self.handler.on_lost(self)

    def pause_writing(self) -> None:
        self.paused, self.paused_since = True, time.monotonic()
        if self.upgraded:
            self.handler.on_writable_change(self, True)

    def resume_writing(self) -> None:
        self.paused = False
        if self.upgraded:
            self.handler.on_writable_change(self, False)

    def data_received(self, data: bytes) -> None:
        if self.closing:
            return  # refused or closing: nothing more from this client matters
        self._buffer += data
        if not self.upgraded:
            self._handshake()
        if self.upgraded:
            self._read_frames()

    # sending -----------------------------------------------------------------------------------------
    def send_raw(self, blob: bytes, *, frames: int = 1, trades: int = 0) -> None:
        """Write prebuilt frames (one or many concatenated) with one transport write."""
        if self.transport is None or self.closing or not blob:
            return
        self.transport.write(blob)
        self.frames_sent += frames
        self.trades_sent += trades
        self.bytes_sent += len(blob)

    def send_text(self, payload: bytes) -> None:
        """One text message (control answers: subscription results, errors, Finnhub pings)."""
        self.send_raw(wire.frame(payload))

    def send_ping(self, payload: bytes = b"") -> None:
        """A websocket ping frame; the client must answer with a pong."""
        self.send_raw(wire.frame(payload, wire.OP_PING))

    def close(self, code: int = 1000, reason: str = "") -> None:
        """Close politely: a close frame, then the socket once the buffer is flushed."""
        if self.transport is None or self.closing:
            return
        self.send_raw(wire.close_frame(code, reason))
        self.closing = True
        self.transport.close()

    def abort(self) -> None:
        """Drop the TCP connection at once, without a close frame (fault injection, slow clients)."""
        if self.transport is not None:
            self.closing = True
            self.transport.abort()

    def buffered_bytes(self) -> int:
        """Bytes written but not yet taken by the kernel."""
        return 0 if self.transport is None else self.transport.get_write_buffer_size()

    # handshake ---------------------------------------------------------------------------------------
    def _reject(self, status: int, reason: str, body: str, extra: str = "") -> None:
        assert self.transport is not None
        payload = body.encode()
        self.transport.write(
            f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {len(payload)}\r\n"
            f"{extra}Connection: close\r\n\r\n".encode()
            + payload
        )
        self.closing = True
        self.transport.close()

    def _handshake(self) -> None:
        end = self._buffer.find(b"\r\n\r\n")
        if end < 0:
            if len(self._buffer) > MAX_REQUEST_BYTES:
                self._reject(431, "Request Header Fields Too Large", '{"error":"request header too large"}')
            return
        head = bytes(self._buffer[:end]).decode("latin-1")
        del self._buffer[: end + 4]
        lines = head.split("\r\n")
        parts = lines[0].split(" ")
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        if len(parts) != 3 or parts[0] != "GET":
            self._reject(405, "Method Not Allowed", '{"error":"only GET upgrades to a websocket"}')
            return
        if "websocket" not in headers.get("upgrade", "").lower() or "sec-websocket-key" not in headers:
            self._reject(400, "Bad Request", '{"error":"websocket upgrade expected"}')
            return
        if headers.get("sec-websocket-version") != "13":
            self._reject(
                426,
                "Upgrade Required",
                '{"error":"websocket version 13 required"}',
                "Sec-WebSocket-Version: 13\r\n",
            )
            return
        target = urlsplit(parts[1])
        self.path = target.path
        try:
            self.handler.accept(self, target.path, parse_qs(target.query))
        except Rejection as rejection:
            log.info("refused websocket %s from %s: %s", parts[1], self.peer, rejection)
            self._reject(rejection.status, rejection.reason, rejection.body)
            return
        assert self.transport is not None
        self.transport.write(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Accept: " + accept_key(headers["sec-websocket-key"]).encode() + b"\r\n\r\n"
        )
        self.upgraded = True
        log.debug("websocket %s %s from %s", self.kind, parts[1], self.peer)

    # client frames -----------------------------------------------------------------------------------
    def _read_frames(self) -> None:
        buf = self._buffer
        while len(buf) >= 2 and self.upgraded and not self.closing:
            first, second = buf[0], buf[1]
            length, offset = second & 0x7F, 2
            if length == 126:
                if len(buf) < 4:
                    return
                length, offset = int.from_bytes(buf[2:4], "big"), 4
            elif length == 127:
                if len(buf) < 10:
                    return
                length, offset = int.from_bytes(buf[2:10], "big"), 10
            if not second & 0x80:
                self.close(1002, "client frames must be masked")
                return
            if length > MAX_MESSAGE_BYTES:
                self.close(1009, "message too big")
                return
            if len(buf) < offset + 4 + length:
                return
            mask = bytes(buf[offset : offset + 4])
            payload = unmask(bytes(buf[offset + 4 : offset + 4 + length]), mask)
            del buf[: offset + 4 + length]
            self._on_frame(bool(first & 0x80), first & 0x0F, payload)

    def _on_frame(self, fin: bool, opcode: int, payload: bytes) -> None:
        if opcode == wire.OP_PING:
            self.send_raw(wire.frame(payload, wire.OP_PONG))
        elif opcode == wire.OP_PONG:
            self.handler.on_pong(self)
        elif opcode == wire.OP_CLOSE:
            code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else 1000
            self.close(code if code in (1000, 1001) else 1000)
        elif opcode in (wire.OP_TEXT, wire.OP_BINARY, wire.OP_CONTINUATION):
            self._fragments.append(payload)
            if sum(len(part) for part in self._fragments) > MAX_MESSAGE_BYTES:
                self.close(1009, "message too big")
            elif fin:
                message, self._fragments = b"".join(self._fragments), []
                self.handler.on_message(self, message)
        else:
            self.close(1002, f"unknown opcode {opcode}")


async def serve(handler: WsHandler, host: str, port: int, high_water_bytes: int) -> asyncio.Server:
    """Listen for websocket clients on ``host:port`` (0: a free port)."""
    loop = asyncio.get_running_loop()
    return await loop.create_server(lambda: WsConnection(handler, high_water_bytes), host, port, backlog=128)
