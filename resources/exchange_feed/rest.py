"""A small venue REST client every venue shares: one ``requests.Session``, timeouts, and retries only for
what is retryable.

Retried: HTTP 429 (rate limit), 418 (Binance's IP ban after ignoring 429s), 5xx, connection errors and
timeouts, with exponential backoff and full jitter, or after exactly ``Retry-After`` when the venue sends
it. Any other 4xx fails at once: retrying a bad request only burns rate-limit weight. Errors name the
method, the URL (never a secret: keys travel in headers, which are never shown) and the venue's answer.
"""

from __future__ import annotations

import email.utils
import logging
import random
import threading
import time
from collections.abc import Callable, Mapping
from urllib.parse import urlencode, urlsplit, urlunsplit

import requests

from resources.exchange_feed.backoff import backoff_delay
from resources.exchange_feed.history import HistoryError

log = logging.getLogger(__name__)

_BODY_SNIPPET = 300


class RestError(HistoryError):
    """A REST call failed; the message names the URL (without secrets), the status and the venue's answer."""

    def __init__(self, message: str, *, url: str, status: int | None, attempts: int) -> None:
        super().__init__(message)
        self.url = url
        """The URL called, safe to log."""
        self.status = status
        """HTTP status of the last answer, or ``None`` when there was none (connection error, stop)."""
        self.attempts = attempts
        """How many requests were made."""


def safe_url(url: str) -> str:
    """``url`` without user info (``user:password@``), safe for logs."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP date); ``None`` if absent/bad."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


class RestClient:
    """GET requests to one venue's REST base URL, retried as the module says."""

    def __init__(
        self,
        base_url: str,
        *,
        headers: Mapping[str, str] | None = None,
        timeout_s: float = 10.0,
        max_attempts: int = 5,
        backoff_initial_s: float = 0.5,
        backoff_max_s: float = 30.0,
        max_retry_after_s: float = 120.0,
        stop: threading.Event | None = None,
        session: requests.Session | None = None,
        rand: Callable[[], float] = random.random,
    ) -> None:
        if max_attempts < 1:
            raise ValueError(f"max_attempts={max_attempts} must be at least 1")
        self.base_url = base_url.rstrip("/")
        self._headers = dict(headers or {})  # may hold secrets: never logged nor shown
        self.timeout_s = timeout_s
        self.max_attempts = max_attempts
        self.backoff_initial_s = backoff_initial_s
        self.backoff_max_s = backoff_max_s
        self.max_retry_after_s = max_retry_after_s
        self._stop = stop or threading.Event()
        self._session = session or requests.Session()
        self._rand = rand

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={safe_url(self.base_url)!r})"

    def get(self, path: str, params: Mapping[str, str | int]) -> bytes:
        """Raw body of a successful ``GET base_url + path``; raises :class:`RestError` otherwise."""
        url = self.base_url + path
        shown = f"{safe_url(url)}?{urlencode(params)}"
        headers = self._headers
        status: int | None = None
        for attempt in range(1, self.max_attempts + 1):
            retry_after: float | None = None
            try:
                response = self._session.get(url, params=params, headers=headers, timeout=self.timeout_s)
            except (requests.ConnectionError, requests.Timeout) as exc:
                status, problem = None, f"{type(exc).__name__}: {exc}"
            else:
                status = response.status_code
                if status == 200:
                    return response.content
                problem = f"HTTP {status}: {response.text[:_BODY_SNIPPET]}"
                if not (status in (418, 429) or 500 <= status < 600):
                    raise RestError(
                        f"GET {shown} failed with {problem} (not retried)",
                        url=shown,
                        status=status,
                        attempts=attempt,
                    )
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
            if attempt == self.max_attempts:
                raise RestError(
                    f"GET {shown} failed after {attempt} attempts; last: {problem}",
                    url=shown,
                    status=status,
                    attempts=attempt,
                )
            if retry_after is not None and retry_after > self.max_retry_after_s:
                raise RestError(
                    f"GET {shown} failed with {problem}; the venue asks to retry after {retry_after:.0f} s, "
                    f"more than max_retry_after_s={self.max_retry_after_s:.0f}",
                    url=shown,
                    status=status,
                    attempts=attempt,
                )
            delay = (
                retry_after
                if retry_after is not None
                else backoff_delay(
                    attempt - 1, initial_s=self.backoff_initial_s, max_s=self.backoff_max_s, rand=self._rand
                )
            )
            log.warning(
                "GET %s: %s; retry %d/%d in %.2f s", shown, problem, attempt, self.max_attempts - 1, delay
            )
            if self._stop.wait(delay):
                raise RestError(
                    f"GET {shown} abandoned: stopping", url=shown, status=status, attempts=attempt
                )
        raise AssertionError("unreachable")

    def close(self) -> None:
        """Release the session's connections."""
        self._session.close()
