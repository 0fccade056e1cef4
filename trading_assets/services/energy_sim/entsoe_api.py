"""The simulator's ENTSO-E Transparency Platform API: ``GET /api?securityToken=..&documentType=..`` on 127.0.0.1.

Serves :mod:`.documents` as of the simulator's clock (injectable: tests set it, a replay runs it 100x),
with the platform's edges so connectors can be tested against them:

- no or a wrong ``securityToken``: 401;
- bad parameters: 400 with an Acknowledgement_MarketDocument; nothing published yet: 200 with the
  Acknowledgement "No matching data found" (reason 999), as the platform does since 2023;
- ``ETag`` / ``Last-Modified`` on every document, 304 for ``If-None-Match`` / ``If-Modified-Since``;
- an optional rate limit (requests per window, wall-clock), 429 with ``Retry-After`` in seconds;
- the ``Date`` header is the simulator's clock; ``offset`` skips TimeSeries as entsoe-py pages them.

A ThreadingHTTPServer in a daemon thread: ``with EntsoeApiServer(token=...) as api: api.url``.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import hashlib
import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self
from urllib.parse import parse_qs, urlsplit

from trading_assets.core.time import US_PER_DAY, day_from_number, day_of
from trading_assets.services.energy_sim.documents import (
    CATALOGUE,
    acknowledgement,
    market_document,
    published,
)
from trading_assets.services.energy_sim.shapes import MarketShape

log = logging.getLogger(__name__)

MAX_DAYS = 400


class ManualClock:
    """A clock tests set and advance (unix seconds)."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move the clock forward."""
        self.now += seconds


class ReplayClock:
    """Simulated time starting at ``start`` (unix seconds) and running ``speed`` times faster than the wall."""

    def __init__(self, start: float, speed: float = 1.0) -> None:
        self.start, self.speed = start, speed
        self._origin = time.monotonic()

    def __call__(self) -> float:
        return self.start + (time.monotonic() - self._origin) * self.speed


@dataclass(slots=True)
class ApiStats:
    """What the server answered, by kind (read by tests)."""

    requests: int = 0
    documents: int = 0
    not_modified: int = 0
    no_data: int = 0
    unauthorized: int = 0
    rate_limited: int = 0
    bad_requests: int = 0


class _Query(ValueError):
    """A query the platform refuses (400)."""


def _parse_api_time(text: str | None, name: str) -> int:
    if not text or len(text) != 12 or not text.isdigit():
        raise _Query(f"{name} must be given as yyyyMMddHHmm, got {text!r}")
    moment = dt.datetime.strptime(text, "%Y%m%d%H%M").replace(tzinfo=dt.UTC)
    return int(moment.timestamp()) * 1_000_000


class EntsoeApiServer:
    """The simulated ENTSO-E API on ``host:port`` (0: a free port)."""

    def __init__(
        self,
        *,
        token: str,
        shape: MarketShape | None = None,
        clock: Callable[[], float] = time.time,
        host: str = "127.0.0.1",
        port: int = 0,
        rate_limit: int | None = None,
        rate_window_s: float = 60.0,
        price_resolution_minutes: int = 60,
    ) -> None:
        self.token = token
        self.shape = shape if shape is not None else MarketShape()
        self.clock = clock
        self.rate_limit = rate_limit
        self.rate_window_s = rate_window_s
        self.price_resolution = price_resolution_minutes
        self.stats = ApiStats()
        self._lock = threading.Lock()
        self._recent: deque[float] = deque()
        self._server = ThreadingHTTPServer((host, port), self._handler_class())
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The port it listens on."""
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """The API's URL (what ``entsoe`` sources take as ``url``)."""
        return f"http://127.0.0.1:{self.port}/api"

    def start(self) -> Self:
        """Serve in a daemon thread."""
        self._thread = threading.Thread(target=self._server.serve_forever, name="entsoe-sim", daemon=True)
        self._thread.start()
        log.info("ENTSO-E simulator serving on %s", self.url)
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _rate_limited(self) -> float | None:
        """Seconds to wait when this request is over the rate limit, else None (and it is counted)."""
        if self.rate_limit is None:
            return None
        with self._lock:
            now = time.monotonic()
            while self._recent and now - self._recent[0] >= self.rate_window_s:
                self._recent.popleft()
            if len(self._recent) >= self.rate_limit:
                return self.rate_window_s - (now - self._recent[0])
            self._recent.append(now)
            return None

    def answer(self, query: dict[str, str], headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        """Status, headers and body for one ``GET /api`` with ``query`` (one value per parameter)."""
        with self._lock:
            self.stats.requests += 1
        wait = self._rate_limited()
        if wait is not None:
            self._count("rate_limited")
            return 429, {"Retry-After": str(max(1, math.ceil(wait)))}, b"Too many requests"
        if query.get("securityToken") != self.token:
            self._count("unauthorized")
            return 401, {"Content-Type": "text/html"}, b"<html><body><h1>Unauthorized</h1></body></html>"
        now_us = int(self.clock() * 1_000_000)
        try:
            found = self._days(query, now_us)
        except _Query as exc:
            self._count("bad_requests")
            return 400, {"Content-Type": "application/xml"}, acknowledgement(now_us, str(exc))
        if found is None:
            self._count("no_data")
            text = "No matching data found for Data item and interval given."
            return 200, {"Content-Type": "application/xml"}, acknowledgement(now_us, text)
        body, created_us = found
        etag = '"' + hashlib.sha1(body, usedforsecurity=False).hexdigest() + '"'
        last_modified = email.utils.formatdate(created_us // 1_000_000, usegmt=True)
        validators = {"ETag": etag, "Last-Modified": last_modified}
        if "If-None-Match" in headers:
            unchanged = etag in [t.strip() for t in headers["If-None-Match"].split(",")]
        elif "If-Modified-Since" in headers:
            try:
                since = email.utils.parsedate_to_datetime(headers["If-Modified-Since"]).timestamp()
            except (TypeError, ValueError):
                since = -1.0
            unchanged = created_us // 1_000_000 <= since
        else:
            unchanged = False
        if unchanged:
            self._count("not_modified")
            return 304, validators, b""
        self._count("documents")
        return 200, {"Content-Type": "application/xml", **validators}, body

    def _count(self, name: str) -> None:
        with self._lock:
            setattr(self.stats, name, getattr(self.stats, name) + 1)

    def _days(self, query: dict[str, str], now_us: int) -> tuple[bytes, int] | None:
        document_type = query.get("documentType", "")
        process_type = query.get("processType", "")
        entry = CATALOGUE.get((document_type, process_type if document_type != "A44" else ""))
        if entry is None:
            raise _Query(
                f"the combination documentType={document_type!r} processType={process_type!r} is not served"
            )
        domain_names = ("in_Domain", "outBiddingZone_Domain", "out_Domain")
        area = next((query[n] for n in domain_names if query.get(n)), None)
        if area is None:
            raise _Query("mandatory parameter in_Domain or outBiddingZone_Domain is missing")
        start = _parse_api_time(query.get("periodStart"), "periodStart")
        end = _parse_api_time(query.get("periodEnd"), "periodEnd")
        if end <= start or end - start > MAX_DAYS * US_PER_DAY:
            raise _Query(f"periodEnd must be after periodStart and at most {MAX_DAYS} days later")
        offset_text = query.get("offset", "0") or "0"
        if not offset_text.isdigit():
            raise _Query(f"offset must be a whole number, got {offset_text!r}")
        days = []
        for number in range(day_of(start), day_of(end - 1) + 1):
            day = published(
                self.shape,
                entry,
                area,
                day_from_number(number),
                now_us,
                price_resolution=self.price_resolution,
            )
            if day:
                days.append(day)
        # entsoe-py pages with offset (TimeSeries already served): skip them, nothing left is "no data".
        flat = [series for day in days for series in day][int(offset_text) :]
        if not flat:
            return None
        return market_document(
            document_type,
            process_type,
            area,
            entry,
            [[series] for series in flat],
            price_resolution=self.price_resolution,
        )

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            timeout = 30  # an idle keep-alive connection is closed, its thread ends

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                if parts.path.rstrip("/") != "/api":
                    self._send(404, {"Content-Type": "text/plain"}, b"not found")
                    return
                query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
                status, headers, body = api.answer(query, {k.title(): v for k, v in self.headers.items()})
                self._send(status, headers, body)

            def _send(self, status: int, headers: dict[str, str], body: bytes) -> None:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if body:
                    self.wfile.write(body)

            def date_time_string(self, timestamp: float | None = None) -> str:
                # The Date header is the simulator's clock: a client following it follows the replay.
                return email.utils.formatdate(api.clock() if timestamp is None else timestamp, usegmt=True)

            def log_message(self, format: str, *args: object) -> None:
                log.debug("entsoe-sim %s", format % args)

        return Handler
