"""A small HTTP client for REST-style sources: timeouts on every call, conditional GET, errors sorted.

One :class:`HttpClient` per source. It never retries by itself: a failure the same request may get past
later (a timeout, a refused connection, a 5xx, a 429 or 503 with ``Retry-After``) raises
:class:`~resources.sources.base.SourceUnavailableError` and the poller backs off; any other 4xx raises
:class:`~resources.sources.base.SourceError`. Error messages name the URL with secret-looking query
parameters (``securityToken``, ``api_key``, ...) redacted, never the secret itself.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import re
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import requests

from resources.sources.base import SourceError, SourceUnavailableError

_SECRET_NAME = re.compile(r"token|key|secret|password|passwd|signature|auth", re.IGNORECASE)
# A query parameter anywhere in a text (an exception message quoting a URL): name=value.
_SECRET_IN_TEXT = re.compile(
    r"(?P<name>[A-Za-z0-9_.\-]*(?:token|key|secret|password|passwd|signature|auth)[A-Za-z0-9_.\-]*)=(?P<value>[^&\s'\"<>]+)",
    re.IGNORECASE,
)
REDACTED = "***"
_RETRY_AFTER_STATUSES = frozenset({429, 503})


def redact_url(url: str) -> str:
    """``url`` with the values of query parameters named like a secret (token, key, ...) replaced by ``***``."""
    parts = urlsplit(url)
    if not parts.query:
        return url
    query = [
        (name, REDACTED if _SECRET_NAME.search(name) else value)
        for name, value in parse_qsl(parts.query, keep_blank_values=True)
    ]
    return urlunsplit(parts._replace(query=urlencode(query, safe="*")))


def redact_text(text: str) -> str:
    """``text`` (an error message quoting a URL) with secret-looking ``name=value`` values replaced."""
    return _SECRET_IN_TEXT.sub(lambda m: f"{m.group('name')}={REDACTED}", text)


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from an HTTP ``Retry-After`` value (delay seconds or an HTTP date); None if absent or bad."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


@dataclass(frozen=True, slots=True, kw_only=True)
class HttpResponse:
    """What a GET answered (2xx, 304, or a status the caller said it handles itself)."""

    url: str
    """The URL asked, query included (may hold secrets: show :func:`redact_url` of it)."""
    status: int
    """HTTP status code."""
    body: bytes
    """Response body (empty for 304)."""
    headers: Mapping[str, str] = field(default_factory=dict)
    """Response headers (case-insensitive mapping)."""
    links: Mapping[str, str] = field(default_factory=dict)
    """RFC 8288 ``Link`` header targets by ``rel`` (``next``, ...), as absolute URLs."""

    @property
    def not_modified(self) -> bool:
        """True for 304 Not Modified: nothing new since the validators sent."""
        return self.status == 304

    @property
    def etag(self) -> str | None:
        """The ``ETag`` validator to send back as ``If-None-Match``."""
        return self.headers.get("ETag")

    @property
    def last_modified(self) -> str | None:
        """The ``Last-Modified`` validator to send back as ``If-Modified-Since``."""
        return self.headers.get("Last-Modified")

    @property
    def server_time(self) -> float | None:
        """The server's clock from its ``Date`` header (unix seconds), None when absent or unreadable."""
        value = self.headers.get("Date")
        if not value:
            return None
        try:
            return email.utils.parsedate_to_datetime(value).timestamp()
        except (TypeError, ValueError):
            return None


class HttpClient:
    """GETs with a connect and read timeout, conditional validators and sorted errors; no retry loop."""

    def __init__(
        self,
        *,
        headers: Mapping[str, str] | None = None,
        session: requests.Session | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._session = session if session is not None else requests.Session()
        self._session.headers.update({"User-Agent": "tradegraph-sources", **dict(headers or {})})
        self._clock = clock

    def get(
        self,
        url: str,
        *,
        timeout_s: float,
        params: Mapping[str, str] | None = None,
        etag: str | None = None,
        last_modified: str | None = None,
        accept: str | None = None,
        handled_statuses: Collection[int] = (),
    ) -> HttpResponse:
        """GET ``url`` (plus ``params``), conditional on ``etag`` / ``last_modified`` when given.

        Returns the response for 2xx, 304 and any status in ``handled_statuses``. Raises
        :class:`SourceUnavailableError` for timeouts, connection errors, 5xx and 429 (with the
        ``Retry-After`` wait), :class:`SourceError` for other statuses.
        """
        headers: dict[str, str] = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        if accept:
            headers["Accept"] = accept
        request = requests.Request("GET", url, params=dict(params or {}), headers=headers)
        prepared = self._session.prepare_request(request)
        shown = redact_url(prepared.url or url)
        try:
            # (connect, read): a dead host fails fast, a slow body still has the whole budget.
            response = self._session.send(prepared, timeout=(min(timeout_s, 10.0), timeout_s))
        except requests.Timeout as exc:
            raise SourceUnavailableError(
                f"GET {shown}: no answer within {timeout_s:g} s ({type(exc).__name__})"
            ) from None
        except requests.ConnectionError as exc:
            raise SourceUnavailableError(
                f"GET {shown}: cannot connect: {redact_text(str(exc))[:300]}"
            ) from None
        except requests.RequestException as exc:
            raise SourceError(f"GET {shown}: request failed: {redact_text(str(exc))[:300]}") from None
        status = response.status_code
        if status in handled_statuses or 200 <= status < 300 or status == 304:
            links = {
                str(rel): requests.compat.urljoin(response.url, str(link["url"]))
                for rel, link in response.links.items()
            }
            return HttpResponse(
                url=prepared.url or url,
                status=status,
                body=b"" if status == 304 else response.content,
                headers=response.headers,
                links=links,
            )
        snippet = redact_text(response.text[:200].strip())
        if status in _RETRY_AFTER_STATUSES:
            wait = parse_retry_after(response.headers.get("Retry-After"), now=self._clock())
            raise SourceUnavailableError(
                f"GET {shown}: HTTP {status} (asked to wait {wait if wait is not None else 'unspecified'} s)",
                retry_after_s=wait,
            )
        if status >= 500:
            raise SourceUnavailableError(f"GET {shown}: HTTP {status} server error: {snippet}")
        raise SourceError(f"GET {shown}: HTTP {status}: {snippet}")

    def close(self) -> None:
        """Close pooled connections."""
        self._session.close()
