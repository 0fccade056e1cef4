"""A clickhouse-driver client from a ``clickhouse://`` URL, with bounded waits.

Nothing connects here: :meth:`ClickHouseEndpoint.client` builds a client that connects on its first call,
so a store constructed while ClickHouse is down fails its calls (and retries them), not its construction.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from clickhouse_driver import Client
from clickhouse_driver.util.helpers import parse_url

_DEFAULT_PORT = 9000
_MAX_SYNC_REQUEST_TIMEOUT_S = 5.0
"""The ping before a query after an idle spell waits at most this long (and never longer than a connect)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ClickHouseEndpoint:
    """Where a server is and how to talk to it, parsed from a clickhouse-driver URL."""

    host: str
    """The server's host name, as the client connects to it."""
    address: str
    """``host:port``, as error messages name the server."""
    settings: Mapping[str, Any]
    """Query settings given in the URL (clickhouse-driver files unknown URL parameters here too)."""
    options: Mapping[str, Any]
    """Other client keyword arguments: port, database, credentials, timeouts, compression, TLS."""

    def client(self, *, settings: Mapping[str, Any] | None = None, **options: Any) -> Client:
        """A client (connecting on first use) with ``settings`` (default: the URL's) and the endpoint's
        options, ``options`` replacing some of them."""
        chosen = dict(self.settings if settings is None else settings)
        return Client(self.host, settings=chosen, **{**self.options, **options})


def parse_endpoint(
    url: str,
    *,
    connect_timeout_s: float,
    send_receive_timeout_s: float,
    url_timeouts_win: bool = False,
) -> ClickHouseEndpoint:
    """The endpoint of ``url`` (``clickhouse://user:password@host:9000/default``) with bounded waits.

    ``connect_timeout_s`` bounds a connect, ``send_receive_timeout_s`` each send or receive of a
    statement; the ping clickhouse-driver sends before a query waits at most the connect timeout, and at
    most 5 s. The URL's ``connect_timeout``, ``send_receive_timeout`` and ``sync_request_timeout``
    replace those when ``url_timeouts_win`` (a deployment tunes them in the URL), and are overridden by
    them otherwise (the caller's limits hold whatever the URL says).
    """
    host, kwargs = parse_url(url)
    settings = dict(kwargs.pop("settings", None) or {})
    given = {"connect_timeout": connect_timeout_s, "send_receive_timeout": send_receive_timeout_s}
    options = {**given, **kwargs} if url_timeouts_win else {**kwargs, **given}
    sync = {"sync_request_timeout": min(options["connect_timeout"], _MAX_SYNC_REQUEST_TIMEOUT_S)}
    options = {**sync, **options} if url_timeouts_win else {**options, **sync}
    return ClickHouseEndpoint(
        host=host,
        address=f"{host}:{kwargs.get('port', _DEFAULT_PORT)}",
        settings=settings,
        options=options,
    )
