"""A small JSON REST listing on 127.0.0.1 for the ``rest`` source's tests, with its edges switchable.

``GET /items?since=<t>&page=<n>`` lists the items whose ``t`` is above ``since`` (all without it),
``page_size`` per page, oldest first. How it names the next page: ``next_url`` (a relative URL in the
``next`` field), ``cursor`` (an opaque token in ``next``, asked back as ``?cursor=``), ``link`` (an RFC
8288 ``Link: <...>; rel="next"`` header) or ``list`` (the body is a bare JSON list, one page). Every
answer carries an ``ETag`` and ``Last-Modified``; a matching ``If-None-Match`` / ``If-Modified-Since``
gets 304. ``refuse`` queues statuses (429 with ``Retry-After``, 503, 404) answered before the listing.
"""

from __future__ import annotations

import base64
import email.utils
import hashlib
import json
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self
from urllib.parse import parse_qs, urlsplit


class ListingServer:
    """The listing; mutate ``items`` (under ``lock``) to publish more."""

    def __init__(self, *, page_size: int = 10, mode: str = "next_url") -> None:
        self.items: list[dict[str, object]] = []
        self.page_size = page_size
        self.mode = mode
        self.lock = threading.Lock()
        self.modified = 1_700_000_000.0
        self.refusals: deque[tuple[int, dict[str, str]]] = deque()
        self.delay_s = 0.0
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.not_modified = 0
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/items"

    def publish(self, items: list[dict[str, object]]) -> None:
        """Add items (the listing changes: new validators)."""
        with self.lock:
            self.items.extend(items)
            self.modified += 60

    def refuse(self, status: int, headers: dict[str, str] | None = None) -> None:
        """Answer the next request with ``status`` instead of the listing."""
        self.refusals.append((status, headers or {}))

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def answer(self, path: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        self.requests.append((path, headers))
        if self.delay_s:
            time.sleep(self.delay_s)
        if self.refusals:
            status, refusal_headers = self.refusals.popleft()
            return status, refusal_headers, b'{"error": "refused by the test"}'
        query = {k: v[-1] for k, v in parse_qs(urlsplit(path).query).items()}
        if "cursor" in query:
            query.update(json.loads(base64.urlsafe_b64decode(query.pop("cursor"))))
        since = None if query.get("since") is None else int(query["since"])
        page = int(query.get("page", 0))
        with self.lock:
            chosen = [item for item in self.items if since is None or _time(item) > since]
            modified = self.modified
        rows = chosen[page * self.page_size : (page + 1) * self.page_size]
        more = (page + 1) * self.page_size < len(chosen)
        extra: dict[str, str] = {}
        body: object = {"items": rows}
        since_part = f"since={since}&" if since is not None else ""
        if self.mode == "list":
            body = chosen
        elif more and self.mode == "next_url":
            body = {"items": rows, "next": f"/items?{since_part}page={page + 1}"}
        elif more and self.mode == "cursor":
            token = base64.urlsafe_b64encode(json.dumps({"since": since, "page": page + 1}).encode()).decode()
            body = {"items": rows, "next": token}
        elif more and self.mode == "link":
            extra["Link"] = f'</items?{since_part}page={page + 1}>; rel="next"'
        payload = json.dumps(body).encode()
        etag = '"' + hashlib.sha1(payload).hexdigest() + '"'
        extra.update({"ETag": etag, "Last-Modified": email.utils.formatdate(modified, usegmt=True)})
        if headers.get("If-None-Match") == etag or (
            "If-None-Match" not in headers
            and "If-Modified-Since" in headers
            and email.utils.parsedate_to_datetime(headers["If-Modified-Since"]).timestamp() >= modified
        ):
            self.not_modified += 1
            return 304, extra, b""
        return 200, {"Content-Type": "application/json", **extra}, payload

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        listing = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            timeout = 30  # an idle keep-alive connection is closed, its thread ends

            def do_GET(self) -> None:
                status, headers, body = listing.answer(
                    self.path, {k.title(): v for k, v in self.headers.items()}
                )
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if body:
                    self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        return Handler


def _time(item: dict[str, object]) -> int:
    value = item.get("t")
    return value if isinstance(value, int) else -1
