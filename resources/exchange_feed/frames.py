"""Reading server websocket frames (RFC 6455) straight from the socket, many per ``recv``.

websocket-client issues two or three ``recv`` calls and builds several objects per frame, which with
Binance's one trade per frame took most of a core at 50k frames/s; one ``recv`` here serves hundreds of
frames, and their payloads go to the parser as one list, so that it can work on them together. A timeout
in the middle of a frame loses nothing: the reader keeps the partial frame and completes it on the next
call.
"""

from __future__ import annotations

import struct
from collections.abc import Callable

import websocket
from websocket import ABNF, WebSocketConnectionClosedException, WebSocketProtocolException

_OPCODE_CLOSE = ABNF.OPCODE_CLOSE
_OPCODE_PING = ABNF.OPCODE_PING
_CHUNK_BYTES = 256 * 1024
_WHOLE_TEXT = 0x81  # first header byte of an unfragmented text frame
_WHOLE_TEXT_16 = 0x817E  # its first two header bytes when a 16-bit length follows (no mask)
_HEADER = struct.Struct(">HH")  # the first two header bytes, and a 16-bit length


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
        self, on_messages: Callable[[list[bytes], int], int], receive_us: Callable[[], int]
    ) -> tuple[int, int, bytes | None]:
        """One ``recv`` (waiting up to the socket timeout, which raises ``TimeoutError``); the complete
        data messages in it go, in order and as one list, to ``on_messages(payloads, receive_time_us)``
        (not called when there is none).

        Returns (data messages, what ``on_messages`` returned, the close frame's payload or None).
        """
        chunk = self._sock.recv(self._chunk)
        if not chunk:
            raise WebSocketConnectionClosedException("Connection to remote host was lost.")
        now_us = receive_us()  # one receive time for everything that arrived together
        buf = self._rest + chunk if self._rest else chunk
        payloads: list[bytes] = []
        append = payloads.append
        try:
            pos, close = self._split(buf, append)
        except WebSocketProtocolException:
            if payloads:  # what arrived before the violation is delivered, as frame by frame it would be
                on_messages(payloads, now_us)
            raise
        self._rest = buf[pos:]
        total = on_messages(payloads, now_us) if payloads else 0
        return len(payloads), total, close

    def _split(self, buf: bytes, append: Callable[[bytes], None]) -> tuple[int, bytes | None]:
        """Hand every complete data message in ``buf`` to ``append``; return where the first incomplete
        frame starts (or the end), and the close frame's payload if one came (reading stops there)."""
        end, pos = len(buf), 0
        close: bytes | None = None
        header = _HEADER.unpack_from
        whole = self._fragments is None
        while end - pos >= 2:
            if whole and end - pos >= 4:
                # The usual frames, handled inline: a whole text message, unmasked, 16- or 7-bit length.
                first, size = header(buf, pos)
                if first == _WHOLE_TEXT_16:
                    stop = pos + 4 + size
                    if stop > end:
                        break  # incomplete: kept for the next recv
                    append(buf[pos + 4 : stop])
                    pos = stop
                    continue
                if first >> 8 == _WHOLE_TEXT and first & 0xFF < 126:
                    stop = pos + 2 + (first & 0xFF)
                    if stop > end:
                        break
                    append(buf[pos + 2 : stop])
                    pos = stop
                    continue
            frame_end, close = self._other_frame(buf, pos, append)
            if frame_end < 0:
                break
            pos = frame_end
            if close is not None:
                break
            whole = self._fragments is None
        return pos, close

    def _other_frame(self, buf: bytes, pos: int, append: Callable[[bytes], None]) -> tuple[int, bytes | None]:
        """Handle the frame at ``pos`` (any kind); return where it ends (-1: incomplete) and, for a close
        frame, its payload. Complete data messages go to ``append``."""
        end = len(buf)
        b1, b2 = buf[pos], buf[pos + 1]
        if b2 & 0x80:
            raise WebSocketProtocolException("the server sent a masked frame")
        if b1 & 0x70:
            raise WebSocketProtocolException("reserved bits set in a frame; no extension was negotiated")
        size, head = b2 & 0x7F, pos + 2
        if size == 126:
            if end - head < 2:
                return -1, None
            size, head = int.from_bytes(buf[head : head + 2], "big"), head + 2
        elif size == 127:
            if end - head < 8:
                return -1, None
            size, head = int.from_bytes(buf[head : head + 8], "big"), head + 8
        stop = head + size
        if stop > end:
            return -1, None
        payload, opcode, fin = buf[head:stop], b1 & 0x0F, b1 & 0x80
        if opcode in (1, 2) and fin and self._fragments is None:
            append(payload)
        elif opcode >= 8:
            if opcode == _OPCODE_CLOSE:
                return stop, payload
            if opcode == _OPCODE_PING:
                self._ws.pong(payload)
        elif opcode in (1, 2) and self._fragments is None:
            self._fragments = [payload]
        elif opcode == 0 and self._fragments is not None:
            self._fragments.append(payload)
            if fin:
                message, self._fragments = b"".join(self._fragments), None
                append(message)
        else:
            raise WebSocketProtocolException(f"unexpected frame (opcode {opcode}) in a fragmented message")
        return stop, None
