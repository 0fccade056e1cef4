"""The reconnecting websocket loop every venue feed shares, on websocket-client's low-level API.

websocket-client opens the connection (TCP, TLS, handshake) and sends (subscriptions, pings, pongs,
close). Frames are read by :class:`FrameReader` straight from the socket in large chunks:
websocket-client issues two or three ``recv`` calls and builds several objects per frame, which with
Binance's one trade per frame took most of a core at 50k frames/s; one ``recv`` here serves hundreds of
frames. One thread reads in a tight loop and hands the data messages of each read, as one list, to the
venue's :class:`FrameParser` (about a microsecond a frame); everything else runs once per flush (``flush_every_ticks`` or
``flush_interval_s``): delivering ticks, client pings, stale detection, the venue's housekeeping and the
stop check. The socket timeout equals the flush interval, so an idle connection still wakes up for them.

Server pings are answered with a pong as they are read. A timeout in the middle of a frame loses
nothing: the reader keeps the partial frame and completes it on the next call.
"""

from __future__ import annotations

import abc
import dataclasses
import logging
import threading
import time
from dataclasses import dataclass

import websocket
from websocket import (
    WebSocketException,
    WebSocketTimeoutException,
)

from resources.exchange_feed.backoff import backoff_delay
from resources.exchange_feed.base import ExchangeFeed, FeedConfig, FeedEvent, FeedSink, FeedStats, SerialSink
from resources.exchange_feed.frames import FrameReader
from resources.exchange_feed.wire import FrameParser, ParsedBatch

log = logging.getLogger(__name__)


class _Stale(Exception):
    """No data frame for longer than ``stale_after_s``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class _Session:
    """How one connection went."""

    reason: str
    """Why it ended (or why it could not be opened)."""
    connected_s: float = 0.0
    """How long it was up; 0 when the connect failed."""
    ticks: int = 0
    """Trades it delivered."""
    clean: bool = False
    """The venue closed it with a normal close frame (code 1000 or 1001)."""


class WebSocketFeed(ExchangeFeed):
    """An :class:`ExchangeFeed` over one websocket connection; venues fill in the hooks below."""

    def __init__(self, config: FeedConfig, *, venue: str) -> None:
        self.config = config
        self.venue = venue
        self.stats = FeedStats()
        """Running counters, for metrics."""

    # --- hooks for venues -------------------------------------------------------------------------

    @abc.abstractmethod
    def _new_parser(self) -> FrameParser:
        """A fresh parser for a new connection."""

    @abc.abstractmethod
    def _url(self) -> str:
        """The URL to connect to; may hold secrets, so it is never logged (see :meth:`_display_url`)."""

    def _display_url(self) -> str:
        """The URL as it may appear in logs and events."""
        return self._url()

    def _mask(self, text: str) -> str:
        """``text`` with every secret of this feed masked; applied to whatever is logged or reported."""
        return text

    def _subscribe_messages(self) -> list[str]:
        """Messages to send right after connecting."""
        return []

    def _on_start(self, sink: FeedSink, stop: threading.Event) -> None:
        """Called once when :meth:`run` starts, before the first connection (e.g. start workers)."""

    def _on_finish(self) -> None:
        """Called once when :meth:`run` returns (e.g. stop workers)."""

    def _housekeeping(self, sink: FeedSink, now: float) -> None:
        """Called after every flush with the monotonic time, in the read thread; keep it short."""

    def _deliver(self, batch: ParsedBatch, sink: FeedSink) -> None:
        """Hand a parsed batch to the sink; venues override to dedup or track ids first."""
        if batch.ticks.num_rows:
            sink.on_ticks(batch.ticks)
        self._deliver_rest(batch, sink)

    # --- the loop ---------------------------------------------------------------------------------

    def run(self, sink: FeedSink, stop: threading.Event) -> None:
        """Stream into ``sink`` until ``stop`` is set, reconnecting with backoff; see :class:`ExchangeFeed`."""
        serial = SerialSink(sink)
        # The first Arrow conversion of a process imports pandas (about 0.3 s, pyarrow's doing): pay it
        # now rather than in the read loop with frames queueing up.
        self._new_parser().take()
        self._on_start(serial, stop)
        try:
            self._loop(serial, stop)
        finally:
            self._on_finish()

    def _loop(self, sink: FeedSink, stop: threading.Event) -> None:
        cfg = self.config
        attempt = 0  # reconnects since the last connection that worked
        while not stop.is_set():
            session = self._session(sink, stop)
            if stop.is_set():
                break
            worked = session.ticks > 0 or session.connected_s >= cfg.healthy_after_s
            if worked or session.clean:
                attempt = 0  # the venue was fine: start the backoff afresh
            if worked and session.clean:
                # The venue ended a working connection politely (e.g. Binance's 24 h limit, a server that
                # rotates connections): come back at once, every second away is trades to fetch over REST.
                delay = 0.0
            else:
                delay = backoff_delay(attempt, initial_s=cfg.backoff_initial_s, max_s=cfg.backoff_max_s)
                attempt += 1
            self.stats.reconnects += 1
            self.stats.backoff_s += delay
            log.log(
                logging.INFO if delay == 0.0 else logging.WARNING,
                "%s feed: %s; reconnecting in %.2f s (attempt %d)",
                self.venue,
                session.reason,
                delay,
                attempt,
            )
            sink.on_event(
                FeedEvent(
                    kind="reconnect",
                    venue=self.venue,
                    detail=f"{session.reason}; reconnecting in {delay:.2f} s",
                    count=attempt,
                )
            )
            stop.wait(delay)

    def _session(self, sink: FeedSink, stop: threading.Event) -> _Session:
        """Connect, subscribe and read until the connection ends; say how it ended."""
        cfg = self.config
        try:
            ws = websocket.create_connection(
                self._url(),
                timeout=cfg.connect_timeout_s,
                # orjson validates UTF-8 itself; a bad frame becomes a malformed frame, not a dropped link.
                skip_utf8_validation=True,
                enable_multithread=False,  # only the read thread sends (pings, pongs, subscriptions)
            )
        except (WebSocketException, OSError) as exc:
            detail = self._mask(f"connect to {self._display_url()} failed: {type(exc).__name__}: {exc}")
            if isinstance(exc, websocket.WebSocketBadStatusException):
                sink.on_event(FeedEvent(kind="venue_error", venue=self.venue, detail=detail))
            return _Session(reason=detail)
        connected_at = time.monotonic()
        ticks_before = self.stats.ticks
        self.stats.connections += 1
        log.info("%s feed: connected to %s", self.venue, self._display_url())
        sink.on_event(
            FeedEvent(
                kind="connected", venue=self.venue, detail=self._display_url(), count=self.stats.connections
            )
        )
        parser = self._new_parser()
        clean = False
        try:
            for message in self._subscribe_messages():
                ws.send(message)
            reason, clean = self._read(ws, parser, sink, stop)
        except _Stale as exc:
            reason = str(exc)
            sink.on_event(FeedEvent(kind="stale", venue=self.venue, detail=reason))
        except (WebSocketException, OSError) as exc:
            reason = self._mask(f"connection lost: {type(exc).__name__}: {exc}")
        finally:
            # What arrived before the drop is delivered, and its ids count for gap detection.
            self._flush(parser, sink)
            self._close(ws)
        if not stop.is_set():
            sink.on_event(FeedEvent(kind="disconnected", venue=self.venue, detail=reason))
        return _Session(
            reason=reason,
            connected_s=time.monotonic() - connected_at,
            ticks=self.stats.ticks - ticks_before,
            clean=clean,
        )

    def _read(
        self, ws: websocket.WebSocket, parser: FrameParser, sink: FeedSink, stop: threading.Event
    ) -> tuple[str, bool]:
        """Read until the connection ends; return why, and whether the venue closed it cleanly."""
        cfg = self.config
        ws.settimeout(cfg.flush_interval_s)
        read, add_many = FrameReader(ws).read, parser.add_many
        clock, wall_ns = time.monotonic, time.time_ns

        def receive_us() -> int:
            return wall_ns() // 1_000

        flush_every, flush_interval, stale_after = (
            cfg.flush_every_ticks,
            cfg.flush_interval_s,
            cfg.stale_after_s,
        )
        now = clock()
        last_data, next_ping, next_flush = now, now + cfg.ping_interval_s, now + flush_interval
        pending = 0
        while True:
            try:
                messages, ticks, close = read(add_many, receive_us)
            except (TimeoutError, WebSocketTimeoutException):
                now = clock()
            else:
                if close is not None:
                    return f"closed by the venue: {_close_reason(close)}", _clean_close(close)
                pending += ticks
                now = clock()
                if messages:  # pings and pongs do not count as data for stale detection
                    last_data = now
            if pending >= flush_every or now >= next_flush:
                self._flush(parser, sink)
                pending, next_flush = 0, now + flush_interval
                if stop.is_set():
                    return "stopped", False
                if now - last_data >= stale_after:
                    raise _Stale(f"no data frame for {now - last_data:.1f} s (stale_after_s={stale_after})")
                if now >= next_ping:
                    ws.ping()
                    next_ping = now + cfg.ping_interval_s
                self._housekeeping(sink, now)

    def _flush(self, parser: FrameParser, sink: FeedSink) -> None:
        batch = parser.take()
        self._deliver(batch, sink)
        # Counted once handled: a reader that sees the frames counted sees their duplicates counted too.
        stats = self.stats
        stats.frames += batch.frames
        stats.ticks += batch.ticks.num_rows
        stats.control_frames += batch.control_frames

    def _deliver_rest(self, batch: ParsedBatch, sink: FeedSink) -> None:
        """Malformed frames and venue errors of a batch (the part every venue handles alike)."""
        self.stats.malformed += len(batch.malformed)
        for frame in batch.malformed:
            reason = self._mask(frame.reason)
            raw = self._mask(frame.raw.decode("utf-8", "backslashreplace"))
            masked = frame
            if reason != frame.reason or raw != frame.raw.decode("utf-8", "backslashreplace"):
                # A secret echoed by the venue must not reach the dead-letter record either.
                masked = dataclasses.replace(frame, reason=reason, raw=raw.encode())
            log.warning("%s feed: malformed frame: %s", self.venue, reason)
            sink.on_malformed(masked)
        for message in batch.venue_errors:
            detail = self._mask(message)
            log.error("%s feed: venue error: %s", self.venue, detail)
            sink.on_event(FeedEvent(kind="venue_error", venue=self.venue, detail=detail))

    def _close(self, ws: websocket.WebSocket) -> None:
        try:
            ws.close(timeout=self.config.close_timeout_s)
        except (WebSocketException, OSError) as exc:
            # The link is usually already broken here; the close only releases the socket.
            log.debug("%s feed: close failed: %s", self.venue, self._mask(str(exc)))


def _clean_close(data: bytes) -> bool:
    """A close frame saying all is well: no code, 1000 (normal) or 1001 (going away, e.g. a restart)."""
    return len(data) < 2 or int.from_bytes(data[:2], "big") in (1000, 1001)


def _close_reason(data: bytes) -> str:
    if len(data) >= 2:
        code = int.from_bytes(data[:2], "big")
        return f"code {code} {data[2:].decode('utf-8', 'replace')}".strip()
    return "no close code"
