"""The fan-out: Binance and Finnhub websocket sessions, subscriptions, and sending each batch to them.

Routes (on the websocket port):

- ``/stream?streams=btcusdt@trade/ethusdt@trade``: Binance combined streams (``{"stream":..,"data":..}``);
- ``/ws/btcusdt@trade`` (or ``/ws``): Binance raw streams (the bare event);
- on both, the live methods ``SUBSCRIBE``, ``UNSUBSCRIBE`` and ``LIST_SUBSCRIPTIONS``;
- ``/finnhub?token=..`` (also ``/?token=..``, Finnhub's own path): Finnhub trades; a missing or wrong
  token is refused with HTTP 401 during the handshake.

Each batch is formatted once per wire flavour and only when some connection needs it; every connection
then receives its subset as one blob (:func:`wire.join_selected`).
"""

from __future__ import annotations

import asyncio
import logging
import time

import numpy as np
import orjson

from trading_assets.services.exchange_sim import wire
from trading_assets.services.exchange_sim.faults import Emission, FaultCounters
from trading_assets.services.exchange_sim.sources import TradeBatch
from trading_assets.services.exchange_sim.websocket import Rejection, WsConnection

log = logging.getLogger(__name__)

BINANCE_RAW, BINANCE_COMBINED, FINNHUB = "binance_raw", "binance_combined", "finnhub"


class _BatchFrames:
    """One batch's wire forms, each built on first use and shared by all connections."""

    def __init__(
        self, batch: TradeBatch, emission: Emission, symbols: tuple[str, ...], event_ms: int
    ) -> None:
        self.batch, self.emission, self.symbols, self.event_ms = batch, emission, symbols, event_ms
        order = emission.order
        garbage = order < 0
        # Garbage entries point past the trade frames, at the frame of their (kind, symbol).
        self.ext_index = np.where(garbage, len(batch) + (-order - 1) * len(symbols) + emission.symbol, order)
        self.is_trade = ~garbage
        self._binance: dict[bool, list[bytes]] = {}
        self._blob_all: dict[bool, tuple[bytes, int, int]] = {}
        self._finnhub: list[bytes] | None = None
        self._finnhub_all: tuple[bytes, int, int] | None = None

    def binance_frames(self, combined: bool) -> list[bytes]:
        if combined not in self._binance:
            payloads = wire.binance_trade_payloads(self.batch, self.symbols, self.event_ms, combined=combined)
            protocol = BINANCE_COMBINED if combined else BINANCE_RAW
            payloads += [
                wire.garbage_payload(kind, protocol, symbol)
                for kind in range(len(wire.GARBAGE_KINDS))
                for symbol in self.symbols
            ]
            self._binance[combined] = wire.text_frames(payloads)
        return self._binance[combined]

    def binance_blob(self, combined: bool, mask: np.ndarray | None) -> tuple[bytes, int, int]:
        """(frames blob, frame count, trade count) for the entries in ``mask`` (None: all)."""
        if mask is None and combined in self._blob_all:
            return self._blob_all[combined]
        rows = self.ext_index if mask is None else self.ext_index[mask]
        trades = int(np.count_nonzero(self.is_trade if mask is None else self.is_trade[mask]))
        result = (wire.join_selected(self.binance_frames(combined), rows), len(rows), trades)
        if mask is None:
            self._blob_all[combined] = result
        return result

    def finnhub_blob(self, mask: np.ndarray | None, per_frame: int) -> tuple[bytes, int, int]:
        """(frames blob, frame count, trade count): runs of trades packed ``per_frame`` to a message."""
        if mask is None and self._finnhub_all is not None:
            return self._finnhub_all
        if self._finnhub is None:
            self._finnhub = wire.finnhub_trade_items(self.batch, self.symbols)
        items = self._finnhub
        order = self.emission.order if mask is None else self.emission.order[mask]
        symbol = self.emission.symbol if mask is None else self.emission.symbol[mask]
        frames: list[bytes] = []
        trades = 0
        start = 0
        for stop in [*np.flatnonzero(order < 0).tolist(), len(order)]:
            run = order[start:stop].tolist()
            trades += len(run)
            for first in range(0, len(run), per_frame):
                frames.append(
                    wire.frame(wire.finnhub_trade_message([items[i] for i in run[first : first + per_frame]]))
                )
            if stop < len(order):
                kind = int(-order[stop] - 1)
                frames.append(
                    wire.frame(wire.garbage_payload(kind, FINNHUB, self.symbols[int(symbol[stop])]))
                )
            start = stop + 1
        result = (b"".join(frames), len(frames), trades)
        if mask is None:
            self._finnhub_all = result
        return result


class StreamHub:
    """All websocket sessions of the exchange; implements :class:`websocket.WsHandler`."""

    def __init__(
        self,
        *,
        symbols: tuple[str, ...],
        counters: FaultCounters,
        finnhub_token: str | None,
        finnhub_trades_per_frame: int,
    ) -> None:
        self.symbols = symbols
        self.counters = counters
        self.finnhub_token = finnhub_token
        self.finnhub_trades_per_frame = finnhub_trades_per_frame
        self._index = {symbol: i for i, symbol in enumerate(symbols)}
        self.connections: set[WsConnection] = set()
        self.opened = {BINANCE_RAW: 0, BINANCE_COMBINED: 0, FINNHUB: 0}
        self.pongs = 0
        self.frames_sent = self.trades_sent = self.bytes_sent = 0
        self.subscribed_ever: set[int] = set()
        """ids of connections that have subscribed to at least one stream (for ``wait_for_subscribers``)."""
        self._subscribers_changed = asyncio.Event()
        self._paused: set[WsConnection] = set()
        self._writable = asyncio.Event()
        self._writable.set()

    # WsHandler -------------------------------------------------------------------------------------
    def accept(self, conn: WsConnection, path: str, query: dict[str, list[str]]) -> None:
        if path in ("/finnhub", "/"):
            token = (query.get("token") or [""])[0]
            if not token or (self.finnhub_token is not None and token != self.finnhub_token):
                raise Rejection(401, "Unauthorized", '{"error":"Invalid API key"}')
            conn.kind = FINNHUB
        elif path == "/stream":
            conn.kind = BINANCE_COMBINED
            conn.subscriptions = self._parse_streams((query.get("streams") or [""])[0].split("/"))
        elif path == "/ws" or path.startswith("/ws/"):
            conn.kind = BINANCE_RAW
            conn.subscriptions = self._parse_streams(path[len("/ws/") :].split("/"))
        else:
            raise Rejection(404, "Not Found", '{"error":"unknown path; use /stream, /ws or /finnhub"}')
        self.connections.add(conn)
        self.opened[conn.kind] += 1
        self._note_subscriptions(conn)
        log.info("%s connection from %s, %d streams", conn.kind, conn.peer, len(conn.subscriptions))

    def on_message(self, conn: WsConnection, payload: bytes) -> None:
        if conn.kind == FINNHUB:
            self._finnhub_message(conn, payload)
        else:
            self._binance_message(conn, payload)
        self._note_subscriptions(conn)

    def _note_subscriptions(self, conn: WsConnection) -> None:
        if conn.subscriptions and id(conn) not in self.subscribed_ever:
            self.subscribed_ever.add(id(conn))
            self._subscribers_changed.set()

    async def wait_for_subscribers(self, count: int, stop: asyncio.Event) -> None:
        """Return once ``count`` connections have subscribed to something (or ``stop`` is set)."""
        while len(self.subscribed_ever) < count and not stop.is_set():
            self._subscribers_changed.clear()
            try:
                await asyncio.wait_for(self._subscribers_changed.wait(), 0.2)
            except TimeoutError:
                continue  # re-check the stop event

    def on_pong(self, conn: WsConnection) -> None:
        self.pongs += 1

    def on_lost(self, conn: WsConnection) -> None:
        self.connections.discard(conn)
        self.frames_sent += conn.frames_sent
        self.trades_sent += conn.trades_sent
        self.bytes_sent += conn.bytes_sent
        self.on_writable_change(conn, False)
        log.info("%s connection from %s closed after %d trades", conn.kind, conn.peer, conn.trades_sent)

    def on_writable_change(self, conn: WsConnection, paused: bool) -> None:
        if paused:
            self._paused.add(conn)
            self._writable.clear()
        else:
            self._paused.discard(conn)
            if not self._paused:
                self._writable.set()

    # subscriptions ---------------------------------------------------------------------------------
    def _parse_streams(self, names: list[str]) -> set[int]:
        """Symbol indexes of the ``<symbol>@trade`` streams among ``names``; others carry nothing here."""
        found: set[int] = set()
        for name in names:
            symbol, _, kind = name.partition("@")
            index = self._index.get(symbol.upper())
            if kind == "trade" and index is not None:
                found.add(index)
        return found

    def _binance_message(self, conn: WsConnection, payload: bytes) -> None:
        try:
            message = orjson.loads(payload)
        except orjson.JSONDecodeError as exc:
            conn.send_text(orjson.dumps({"code": 3, "msg": f"Invalid JSON: {exc}"}))
            return
        if not isinstance(message, dict) or "method" not in message:
            conn.send_text(orjson.dumps({"code": 2, "msg": "Invalid request: missing field `method`"}))
            return
        method, request_id, params = message.get("method"), message.get("id"), message.get("params", [])
        if not isinstance(params, list) or not all(isinstance(p, str) for p in params):
            conn.send_text(
                orjson.dumps(
                    {"code": 2, "msg": "Invalid request: params must be stream names", "id": request_id}
                )
            )
            return
        if method == "SUBSCRIBE":
            conn.subscriptions |= self._parse_streams(params)
            conn.send_text(orjson.dumps({"result": None, "id": request_id}))
        elif method == "UNSUBSCRIBE":
            conn.subscriptions -= self._parse_streams(params)
            conn.send_text(orjson.dumps({"result": None, "id": request_id}))
        elif method == "LIST_SUBSCRIPTIONS":
            streams = [wire.binance_stream_name(self.symbols[i]) for i in sorted(conn.subscriptions)]
            conn.send_text(orjson.dumps({"result": streams, "id": request_id}))
        else:
            conn.send_text(
                orjson.dumps(
                    {
                        "code": 2,
                        "msg": f"Invalid request: unknown variant {method}, expected "
                        "one of SUBSCRIBE, UNSUBSCRIBE, LIST_SUBSCRIPTIONS",
                        "id": request_id,
                    }
                )
            )

    def _finnhub_message(self, conn: WsConnection, payload: bytes) -> None:
        try:
            message = orjson.loads(payload)
        except orjson.JSONDecodeError:
            conn.send_text(wire.finnhub_error("Invalid JSON"))
            return
        kind = message.get("type") if isinstance(message, dict) else None
        symbol = message.get("symbol") if isinstance(message, dict) else None
        if kind not in ("subscribe", "unsubscribe") or not isinstance(symbol, str):
            conn.send_text(wire.finnhub_error("Unknown message type or missing symbol"))
            return
        exchange, _, name = symbol.partition(":")
        index = self._index.get(name) if exchange == "BINANCE" else None
        if index is None:
            return  # Finnhub stays silent about symbols it has no trades for
        if kind == "subscribe":
            conn.subscriptions.add(index)
        else:
            conn.subscriptions.discard(index)

    # sending ---------------------------------------------------------------------------------------
    def publish(self, batch: TradeBatch, emission: Emission, event_ms: int) -> None:
        """Send one batch, as ``emission`` orders it, to every subscribed connection."""
        if not self.connections or not len(emission.order):
            return
        frames = _BatchFrames(batch, emission, self.symbols, event_ms)
        everything = len(self.symbols)
        for conn in list(self.connections):
            if not conn.subscriptions or conn.closing:
                continue
            mask = (
                None
                if len(conn.subscriptions) == everything
                else np.isin(emission.symbol, np.fromiter(conn.subscriptions, np.int32))
            )
            if conn.kind == FINNHUB:
                blob, count, trades = frames.finnhub_blob(mask, self.finnhub_trades_per_frame)
            else:
                blob, count, trades = frames.binance_blob(conn.kind == BINANCE_COMBINED, mask)
            conn.send_raw(blob, frames=count, trades=trades)

    @property
    def paused(self) -> bool:
        """Whether some client's send buffer is above the high-water mark."""
        return bool(self._paused)

    async def wait_writable(self, timeout_s: float) -> bool:
        """Wait until no client is above the high-water mark; False on timeout."""
        try:
            await asyncio.wait_for(self._writable.wait(), timeout_s)
        except TimeoutError:
            return False
        return True

    def ping(self) -> None:
        """A websocket ping frame to every connection."""
        payload = str(int(time.time() * 1000)).encode()
        for conn in list(self.connections):
            conn.send_ping(payload)
            self.counters.ws_pings += 1

    def finnhub_ping(self) -> None:
        """A ``{"type":"ping"}`` message to every Finnhub connection."""
        for conn in list(self.connections):
            if conn.kind == FINNHUB:
                conn.send_text(wire.FINNHUB_PING)
                self.counters.finnhub_pings += 1

    def drop_all(self) -> int:
        """Abort every websocket without a close frame; returns how many."""
        dropped = list(self.connections)
        for conn in dropped:
            conn.abort()
        self.counters.drop_events += 1
        self.counters.dropped_connections += len(dropped)
        log.info("dropped %d websocket connections", len(dropped))
        return len(dropped)

    def disconnect_slow(self, now_s: float, timeout_s: float) -> None:
        """Abort clients that have kept the exchange paused for longer than ``timeout_s``."""
        for conn in list(self._paused):
            if conn.paused and now_s - conn.paused_since > timeout_s:
                log.warning("disconnecting %s: it read nothing for %.0f s", conn.peer, timeout_s)
                conn.abort()
                self.counters.slow_client_disconnects += 1

    def close_all(self) -> None:
        """Close every connection politely (server shutdown)."""
        for conn in list(self.connections):
            conn.close(1001, "server shutting down")

    def totals(self) -> dict[str, int]:
        """Frames, trades and bytes sent over all connections, closed and open."""
        live = list(self.connections)
        return {
            "frames_sent": self.frames_sent + sum(c.frames_sent for c in live),
            "trades_sent": self.trades_sent + sum(c.trades_sent for c in live),
            "bytes_sent": self.bytes_sent + sum(c.bytes_sent for c in live),
        }
