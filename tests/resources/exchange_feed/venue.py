"""A scripted venue for feed tests: websocket + Binance REST on 127.0.0.1, in a background thread.

This is a test double of the venue's *wire* (real websocket frames over real TCP, real HTTP), not a mock
of our code. Each websocket connection plays the next script of actions; every request and every
message the client sends is recorded for assertions.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Self

import orjson
from aiohttp import WSMsgType, web


@dataclass(frozen=True)
class Send:
    """Send one text frame (``bytes`` that are not UTF-8 go out as a binary frame)."""

    frame: bytes | str


@dataclass(frozen=True)
class Ping:
    """Send a websocket ping (the client must answer with a pong)."""

    payload: bytes = b"venue-ping"


@dataclass(frozen=True)
class Sleep:
    """Pause the script."""

    seconds: float


@dataclass(frozen=True)
class Drop:
    """Close the TCP connection abruptly: no websocket close frame."""


@dataclass(frozen=True)
class Close:
    """Close the websocket cleanly with a close frame."""

    code: int = 1000
    message: bytes = b"bye"


@dataclass(frozen=True)
class Reject:
    """Refuse the websocket handshake with an HTTP error (only as a script's first action)."""

    status: int
    body: str


Action = Send | Ping | Sleep | Drop | Close | Reject


@dataclass
class Connection:
    """What one websocket connection saw."""

    path: str
    query: dict[str, str]
    received: list[str] = field(default_factory=list)
    pings: int = 0
    pongs: int = 0


@dataclass
class RestRequest:
    """One REST request."""

    path: str
    query: dict[str, str]
    api_key: str | None
    status: int


def binance_trade(symbol: str, trade_id: int, *, combined: bool = True) -> bytes:
    """A Binance trade event in the documented format, deterministic in (symbol, id)."""
    event = {
        "e": "trade",
        "E": 1_700_000_000_000 + trade_id,
        "s": symbol,
        "t": trade_id,
        "p": f"{100 + trade_id % 97 / 100:.8f}",
        "q": f"{0.001 * (1 + trade_id % 7):.8f}",
        "T": 1_700_000_000_000 + trade_id - 1,
        "m": trade_id % 3 == 0,
        "M": True,
    }
    return orjson.dumps({"stream": f"{symbol.lower()}@trade", "data": event} if combined else event)


def binance_rest_trade(symbol: str, trade_id: int) -> dict[str, object]:
    """The same trade as :func:`binance_trade`, as ``historicalTrades`` lists it."""
    event = orjson.loads(binance_trade(symbol, trade_id, combined=False))
    return {
        "id": trade_id,
        "price": event["p"],
        "qty": event["q"],
        "quoteQty": "0",
        "time": event["T"],
        "isBuyerMaker": event["m"],
        "isBestMatch": True,
    }


class ScriptedVenue:
    """Serves ``scripts[i]`` to the i-th websocket connection; later connections stay open and silent."""

    def __init__(
        self,
        scripts: Sequence[Sequence[Action]],
        *,
        rest_trades: dict[str, list[int]] | None = None,
        rest_failures: Sequence[tuple[int, dict[str, str], str]] = (),
    ) -> None:
        """``rest_trades``: trade ids per symbol that ``historicalTrades`` serves. ``rest_failures``:
        (status, headers, body) answers given to the first REST requests, in order."""
        self.scripts = [list(s) for s in scripts]
        self.rest_trades = {s: sorted(ids) for s, ids in (rest_trades or {}).items()}
        self.rest_failures = list(rest_failures)
        self.connections: list[Connection] = []
        self.rest_requests: list[RestRequest] = []
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="scripted-venue", daemon=True)
        self._runner: web.AppRunner | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def ws_base(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    @property
    def http_base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Self:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("scripted venue did not start within 10 s")
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        app = web.Application()
        app.router.add_get("/api/v3/historicalTrades", self._rest)
        app.router.add_get("/api/v3/trades", self._rest)
        app.router.add_get("/{tail:.*}", self._websocket)
        # No access log: it would print query strings, tokens included, into the captured logs.
        self._runner = web.AppRunner(app, shutdown_timeout=1, access_log=None)
        self._loop.run_until_complete(self._runner.setup())
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        self._loop.run_until_complete(site.start())
        self.port = self._runner.addresses[0][1]
        self._ready.set()
        self._loop.run_forever()

    async def _shutdown(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _rest(self, request: web.Request) -> web.Response:
        query = dict(request.query)
        if self.rest_failures:
            status, headers, body = self.rest_failures.pop(0)
            response = web.Response(status=status, headers=headers, text=body)
        else:
            ids = self.rest_trades.get(query.get("symbol", ""), [])
            first, limit = int(query.get("fromId", 0)), int(query.get("limit", 500))
            if request.path == "/api/v3/trades":  # the newest trades, oldest first
                first = ids[-limit] if 0 < limit <= len(ids) else 0
            page = [binance_rest_trade(query["symbol"], i) for i in ids if i >= first][:limit]
            response = web.Response(body=orjson.dumps(page), content_type="application/json")
        self.rest_requests.append(
            RestRequest(
                path=request.path,
                query=query,
                api_key=request.headers.get("X-MBX-APIKEY"),
                status=response.status,
            )
        )
        return response

    async def _websocket(self, request: web.Request) -> web.StreamResponse:
        index = len(self.connections)
        script = self.scripts[index] if index < len(self.scripts) else []
        connection = Connection(path=request.path, query=dict(request.query))
        self.connections.append(connection)
        if script and isinstance(script[0], Reject):
            return web.Response(status=script[0].status, text=script[0].body)
        # autoping off: the reader below sees (and counts) the client's pings and pongs itself.
        ws = web.WebSocketResponse(autoping=False)
        await ws.prepare(request)
        reader = asyncio.ensure_future(self._read(ws, connection))
        self._tasks.add(reader)
        try:
            for action in script:
                if isinstance(action, Send):
                    frame = action.frame
                    if isinstance(frame, bytes):
                        try:
                            frame = frame.decode()
                        except UnicodeDecodeError:
                            await ws.send_bytes(frame)
                            continue
                    await ws.send_str(frame)
                elif isinstance(action, Ping):
                    await ws.ping(action.payload)
                elif isinstance(action, Sleep):
                    await asyncio.sleep(action.seconds)
                elif isinstance(action, Drop):
                    transport = request.transport
                    assert transport is not None
                    # Let the reader drain what the client sent: closing a socket with unread input
                    # sends RST, and an RST makes the client's kernel discard frames not yet read.
                    await asyncio.sleep(0.05)
                    transport.write_eof()  # flush, then FIN: no websocket close frame
                    await asyncio.sleep(0.05)
                    transport.close()
                    return ws
                elif isinstance(action, Close):
                    await ws.close(code=action.code, message=action.message)
                    return ws
            await reader  # stay open (silent) until the client goes away
        finally:
            reader.cancel()
            self._tasks.discard(reader)
        return ws

    async def _read(self, ws: web.WebSocketResponse, connection: Connection) -> None:
        async for message in ws:
            if message.type == WSMsgType.TEXT:
                connection.received.append(message.data)
            elif message.type == WSMsgType.PING:
                connection.pings += 1
                await ws.pong(message.data)
            elif message.type == WSMsgType.PONG:
                connection.pongs += 1


def wait_for(predicate: Callable[[], bool], *, timeout_s: float, what: str) -> None:
    """Poll ``predicate`` every 10 ms; fail naming ``what`` after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(0.01)
