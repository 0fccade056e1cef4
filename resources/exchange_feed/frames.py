"""Reading server websocket frames (RFC 6455) straight from the socket, many per ``recv``.

websocket-client issues two or three ``recv`` calls and builds several objects per frame, which with
Binance's one trade per frame took most of a core at 50k frames/s; one ``recv`` here serves hundreds of
frames. A timeout in the middle of a frame loses nothing: the reader keeps the partial frame and
completes it on the next call.
"""

from __future__ import annotations

from collections.abc import Callable

import websocket
from websocket import ABNF, WebSocketConnectionClosedException, WebSocketProtocolException

_OPCODE_CLOSE = ABNF.OPCODE_CLOSE
_OPCODE_PING = ABNF.OPCODE_PING
_CHUNK_BYTES = 256 * 1024


class FrameReader:
    """Reads server frames (RFC 6455) from a connected websocket's socket, many per ``recv``.

    Handles what a server may send: unmasked text/binary frames, fragmented messages (continuation
    frames, control frames interleaved), pings (answered with a pong through websocket-client), pongs
    (ignored) and close. No extension is negotiated by websocket-client, so reserved bits are an error.
    """

    def __init__(self, ws: websocket.WebSocket, chunk_bytes: int = _CHUNK_BYTES) -> None:
        if ws.sock is None:
            raise ValueError("FrameReader needs a connected websocket")
        self._ws = ws
        self._sock = ws.sock
        self._chunk = chunk_bytes
        self._rest = b""  # an incomplete frame from the last recv
        self._fragments: list[bytes] | None = None  # a fragmented message being assembled

    def read(
        self, on_message: Callable[[bytes, int], int], receive_us: Callable[[], int]
    ) -> tuple[int, int, bytes | None]:
        """One ``recv`` (waiting up to the socket timeout, which raises ``TimeoutError``); every complete
        data message in it goes to ``on_message(payload, receive_time_us)``.

        Returns (data messages, the sum of what ``on_message`` returned, the close frame's payload or None).
        """
        chunk = self._sock.recv(self._chunk)
        if not chunk:
            raise WebSocketConnectionClosedException("Connection to remote host was lost.")
        now_us = receive_us()  # one receive time for everything that arrived together
        buf = self._rest + chunk if self._rest else chunk
        end, pos, messages, total = len(buf), 0, 0, 0
        while end - pos >= 2:
            b1, b2 = buf[pos], buf[pos + 1]
            if b2 & 0x80:
                raise WebSocketProtocolException("the server sent a masked frame")
            if b1 & 0x70:
                raise WebSocketProtocolException("reserved bits set in a frame; no extension was negotiated")
            size, head = b2 & 0x7F, pos + 2
            if size == 126:
                if end - head < 2:
                    break
                size, head = int.from_bytes(buf[head : head + 2], "big"), head + 2
            elif size == 127:
                if end - head < 8:
                    break
                size, head = int.from_bytes(buf[head : head + 8], "big"), head + 8
            stop = head + size
            if stop > end:
                break
            payload, pos, opcode, fin = buf[head:stop], stop, b1 & 0x0F, b1 & 0x80
            if opcode in (1, 2) and fin and self._fragments is None:  # the usual case: a whole message
                messages += 1
                total += on_message(payload, now_us)
            elif opcode >= 8:
                if opcode == _OPCODE_CLOSE:
                    self._rest = buf[pos:]
                    return messages, total, payload
                if opcode == _OPCODE_PING:
                    self._ws.pong(payload)
            elif opcode in (1, 2) and self._fragments is None:
                self._fragments = [payload]
            elif opcode == 0 and self._fragments is not None:
                self._fragments.append(payload)
                if fin:
                    message, self._fragments = b"".join(self._fragments), None
                    messages += 1
                    total += on_message(message, now_us)
            else:
                raise WebSocketProtocolException(
                    f"unexpected frame (opcode {opcode}) in a fragmented message"
                )
        self._rest = buf[pos:]
        return messages, total, None
