"""FrameReader on scripted socket reads: frames split anywhere, long frames, fragments, control frames."""

from __future__ import annotations

import pytest
from websocket import ABNF, WebSocketConnectionClosedException, WebSocketProtocolException

from resources.exchange_feed.frames import FrameReader


def frame(payload: bytes, opcode: int = ABNF.OPCODE_TEXT, fin: bool = True) -> bytes:
    """A server frame (unmasked) as it travels on the wire."""
    return ABNF(fin=int(fin), opcode=opcode, mask_value=0, data=payload).format()


class FakeSocket:
    """Returns the scripted chunks one per recv; then the peer closes (b"")."""

    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = list(chunks)

    def recv(self, size: int) -> bytes:
        return self.chunks.pop(0)[:size] if self.chunks else b""


class FakeWebSocket:
    def __init__(self, chunks: list[bytes]) -> None:
        self.sock = FakeSocket(chunks)
        self.pongs: list[bytes] = []

    def pong(self, payload: bytes) -> None:
        self.pongs.append(payload)


def read_all(ws: FakeWebSocket) -> tuple[list[bytes], bytes | None]:
    reader = FrameReader(ws)  # type: ignore[arg-type]
    messages: list[bytes] = []

    def on_messages(payloads: list[bytes], receive_us: int) -> int:
        messages.extend(payloads)
        return len(payloads)

    while True:
        try:
            _, _, close = reader.read(on_messages, lambda: 0)
        except WebSocketConnectionClosedException:
            return messages, None
        if close is not None:
            return messages, close


def test_frames_split_at_every_byte_are_reassembled_in_order() -> None:
    payloads = [b'{"e":"trade","t":%d}' % i for i in range(5)] + [b"x" * 300, b"y" * 70_000]
    wire = b"".join(frame(p) for p in payloads)

    # Arrange: one byte per recv, the worst case for partial headers, lengths and payloads
    ws = FakeWebSocket([wire[i : i + 1] for i in range(len(wire))])

    # Act
    messages, close = read_all(ws)

    # Assert: 16-bit and 64-bit lengths included
    assert messages == payloads and close is None


def test_fragments_are_joined_and_pings_between_them_answered() -> None:
    wire = (
        frame(b'{"a":', fin=False)
        + frame(b"hello", opcode=ABNF.OPCODE_PING)
        + frame(b"1", opcode=ABNF.OPCODE_CONT, fin=False)
        + frame(b"}", opcode=ABNF.OPCODE_CONT)
        + frame(b"ignored", opcode=ABNF.OPCODE_PONG)
        + frame(b"\x03\xe9going away", opcode=ABNF.OPCODE_CLOSE)
        + frame(b"after the close: not read")
    )
    ws = FakeWebSocket([wire])

    messages, close = read_all(ws)

    assert messages == [b'{"a":1}'] and ws.pongs == [b"hello"] and close == b"\x03\xe9going away"


def test_protocol_violations_raise() -> None:
    masked = ABNF(fin=1, opcode=ABNF.OPCODE_TEXT, mask_value=1, data=b"hi").format()  # as clients send
    stray_continuation = frame(b"x", opcode=ABNF.OPCODE_CONT)
    for wire in (masked, stray_continuation):
        with pytest.raises(WebSocketProtocolException):
            read_all(FakeWebSocket([wire]))


def test_messages_before_a_protocol_violation_in_the_same_read_are_delivered() -> None:
    # Arrange: two good frames and a masked one (a protocol violation) in one read
    masked = ABNF(fin=1, opcode=ABNF.OPCODE_TEXT, mask_value=1, data=b"hi").format()
    reader = FrameReader(FakeWebSocket([frame(b"one") + frame(b"two") + masked]))  # type: ignore[arg-type]
    delivered: list[bytes] = []

    def on_messages(payloads: list[bytes], receive_us: int) -> int:
        delivered.extend(payloads)
        return len(payloads)

    # Act / Assert: the error is raised, and what came before it was handed over first
    with pytest.raises(WebSocketProtocolException):
        reader.read(on_messages, lambda: 0)
    assert delivered == [b"one", b"two"]


def test_one_read_is_handed_over_as_one_list_with_one_receive_time() -> None:
    # Arrange: short (7-bit length), 16-bit and 64-bit frames and a ping in one read, a partial frame after
    payloads = [b"a" * 10, b"b" * 200, b"c" * 70_000, b"d" * 125]
    wire = b"".join(frame(p) for p in payloads[:2]) + frame(b"hi", opcode=ABNF.OPCODE_PING)
    wire += b"".join(frame(p) for p in payloads[2:]) + frame(b"e" * 300)[:5]
    ws = FakeWebSocket([wire])
    reader = FrameReader(ws)  # type: ignore[arg-type]
    calls: list[tuple[list[bytes], int]] = []

    def on_messages(batch: list[bytes], receive_us: int) -> int:
        calls.append((batch, receive_us))
        return 2 * len(batch)

    # Act
    messages, total, close = reader.read(on_messages, lambda: 42)

    # Assert
    assert calls == [(payloads, 42)] and (messages, total, close) == (4, 8, None)
    assert ws.pongs == [b"hi"]
