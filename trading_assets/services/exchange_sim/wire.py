"""Pure functions from trade batches to the exact bytes Binance and Finnhub put on the wire.

Formats (docs/MEASUREMENTS.md, public documentation):

- Binance trade event ``{"e":"trade","E":<event ms>,"s":"BTCUSDT","t":<id>,"p":"<price>","q":"<qty>",
  "T":<trade ms>,"m":<buyer is maker>,"M":true}``; a combined stream wraps it as
  ``{"stream":"btcusdt@trade","data":<event>}``. Prices and quantities are 8-decimal strings, as Binance
  sends them.
- Finnhub ``{"type":"trade","data":[{"p":7296.89,"s":"BINANCE:BTCUSDT","t":1575526691134,"v":0.011467,
  "c":null}, ...]}``.
- Binance REST trades ``[{"id":..,"price":"..","qty":"..","quoteQty":"..","time":<ms>,"isBuyerMaker":..,
  "isBestMatch":true}]``.

Websocket frames (RFC 6455) from a server are unmasked: ``FIN|opcode``, a length (7 bits, or 126 plus 16
bits, or 127 plus 64 bits), then the payload. Formatting uses one ``bytes %`` per trade over columns
turned into Python lists in one go; that is about 1.5 us per Binance frame here.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence

import numpy as np

from trading_assets.services.exchange_sim.sources import TradeBatch

OP_CONTINUATION = 0x0
OP_TEXT = 0x1
OP_BINARY = 0x2
OP_CLOSE = 0x8
OP_PING = 0x9
OP_PONG = 0xA

# Headers of unmasked final text frames by payload length, looked up instead of built per frame.
_TEXT_HEADERS: tuple[bytes, ...] = tuple(
    bytes((0x81, n)) if n < 126 else b"\x81\x7e" + n.to_bytes(2, "big") for n in range(65536)
)
_BOOL = (b"false", b"true")


def frame(payload: bytes, opcode: int = OP_TEXT) -> bytes:
    """One final, unmasked server frame."""
    n = len(payload)
    if opcode == OP_TEXT and n < 65536:
        return _TEXT_HEADERS[n] + payload
    first = bytes((0x80 | opcode,))
    if n < 126:
        return first + bytes((n,)) + payload
    if n < 65536:
        return first + b"\x7e" + n.to_bytes(2, "big") + payload
    return first + b"\x7f" + n.to_bytes(8, "big") + payload


def text_frames(payloads: Sequence[bytes]) -> list[bytes]:
    """Each payload as one text frame."""
    headers = _TEXT_HEADERS
    if all(len(p) < 65536 for p in payloads):
        return [headers[len(p)] + p for p in payloads]
    return [frame(p) for p in payloads]


def join_selected(frames: Sequence[bytes], rows: np.ndarray) -> bytes:
    """The frames at ``rows`` concatenated in that order (one buffer for one transport write)."""
    count = len(rows)
    if count == 0:
        return b""
    if count == 1:
        return frames[int(rows[0])]
    return b"".join(operator.itemgetter(*rows.tolist())(frames))


def close_frame(code: int, reason: str = "") -> bytes:
    """A close frame with a status code and a reason."""
    return frame(code.to_bytes(2, "big") + reason.encode()[:120], OP_CLOSE)


def binance_stream_name(symbol: str) -> str:
    """The trade stream of a symbol: ``btcusdt@trade``."""
    return f"{symbol.lower()}@trade"


def binance_trade_payloads(
    batch: TradeBatch, symbols: Sequence[str], event_ms: int, *, combined: bool
) -> list[bytes]:
    """One Binance trade event per trade; wrapped as combined-stream messages when ``combined``."""
    names = [s.encode() for s in symbols]
    if combined:
        prefixes = [
            b'{"stream":"%s@trade","data":{"e":"trade","E":%d,"s":"%s","t":' % (n.lower(), event_ms, n)
            for n in names
        ]
        template = b'%s%d,"p":"%.8f","q":"%.8f","T":%d,"m":%s,"M":true}}'
    else:
        prefixes = [b'{"e":"trade","E":%d,"s":"%s","t":' % (event_ms, n) for n in names]
        template = b'%s%d,"p":"%.8f","q":"%.8f","T":%d,"m":%s,"M":true}'
    bools = _BOOL
    return [
        template % (prefixes[s], i, p, q, t, bools[m])
        for s, i, p, q, t, m in zip(
            batch.symbol.tolist(),
            batch.trade_id.tolist(),
            batch.price.tolist(),
            batch.qty.tolist(),
            (batch.time_us // 1000).tolist(),
            batch.buyer_maker.tolist(),
            strict=True,
        )
    ]


def finnhub_symbol(symbol: str) -> str:
    """Finnhub's name of a Binance symbol: ``BINANCE:BTCUSDT``."""
    return f"BINANCE:{symbol}"


def finnhub_trade_items(batch: TradeBatch, symbols: Sequence[str]) -> list[bytes]:
    """One Finnhub trade object per trade (prices and volumes as JSON numbers, shortest repr)."""
    names = [finnhub_symbol(s).encode() for s in symbols]
    # Round away binary noise (65011.560000000005) so numbers look like Finnhub's (65011.56).
    return [
        b'{"p":%a,"s":"%s","t":%d,"v":%a,"c":null}' % (p, names[s], t, q)
        for s, p, t, q in zip(
            batch.symbol.tolist(),
            np.round(batch.price, 8).tolist(),
            (batch.time_us // 1000).tolist(),
            np.round(batch.qty, 8).tolist(),
            strict=True,
        )
    ]


def finnhub_trade_message(items: Sequence[bytes]) -> bytes:
    """A Finnhub ``trade`` message carrying ``items``."""
    return b'{"type":"trade","data":[' + b",".join(items) + b"]}"


FINNHUB_PING = b'{"type":"ping"}'


def finnhub_error(message: str) -> bytes:
    """A Finnhub error message."""
    return b'{"type":"error","msg":"%s"}' % message.replace('"', "'").encode()


def rest_trades(
    trade_id: np.ndarray, price: np.ndarray, qty: np.ndarray, time_us: np.ndarray, buyer_maker: np.ndarray
) -> bytes:
    """A Binance ``/api/v3/trades`` / ``historicalTrades`` JSON body for the given rows."""
    bools = _BOOL
    items = [
        b'{"id":%d,"price":"%.8f","qty":"%.8f","quoteQty":"%.8f","time":%d,"isBuyerMaker":%s,"isBestMatch":true}'
        % (i, p, q, p * q, t, bools[m])
        for i, p, q, t, m in zip(
            trade_id.tolist(),
            price.tolist(),
            qty.tolist(),
            (time_us // 1000).tolist(),
            buyer_maker.tolist(),
            strict=True,
        )
    ]
    return b"[" + b",".join(items) + b"]"


GARBAGE_KINDS: tuple[str, ...] = ("non_json", "truncated_json", "wrong_fields")
"""The kinds of garbage frame, in the order of their codes 0, 1, 2."""


def garbage_payload(kind: int, protocol: str, symbol: str) -> bytes:
    """A garbage message of ``kind`` (index into :data:`GARBAGE_KINDS`) for ``binance_raw``,
    ``binance_combined`` or ``finnhub``; always valid UTF-8 so it is a legal text frame."""
    name = GARBAGE_KINDS[kind]
    if name == "non_json":
        return b"<html><body>502 Bad Gateway</body></html>"
    stream = binance_stream_name(symbol).encode()
    sym = symbol.encode()
    if protocol == "finnhub":
        if name == "truncated_json":
            return b'{"type":"trade","data":[{"p":1.5,"s":"BINANCE:%s","t":17' % sym
        return b'{"type":"trade","data":[{"price":"abc","symbol":"BINANCE:%s"}]}' % sym
    if protocol == "binance_combined":
        if name == "truncated_json":
            return b'{"stream":"%s","data":{"e":"trade","E":17356896000' % stream
        return b'{"stream":"%s","data":{"e":"trade","s":"%s","price":"abc","id":"x"}}' % (stream, sym)
    if name == "truncated_json":
        return b'{"e":"trade","E":17356896000,"s":"%s","t":' % sym
    return b'{"e":"trade","s":"%s","price":"abc","id":"x"}' % sym
