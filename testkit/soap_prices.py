"""A small SOAP price-publication service (spyne, SOAP 1.1 over WSGI) on 127.0.0.1, for the soap source.

Operation ``GetPrices(area: string, since: dateTime, limit: int) -> PriceItem[]`` returns the published
prices of ``area`` whose ``published`` time is at or after ``since`` (inclusive), oldest publication
first, at most ``limit``. Each ``PriceItem`` is ``{area, period_start, price, published}``. An unknown
area answers a SOAP fault ``Client.UnknownArea``. Tests add prices while it runs (:meth:`publish`), and
can make it answer ``503 Service Unavailable`` (:attr:`unavailable`).
"""

from __future__ import annotations

import bisect
import datetime as dt
import logging
import threading
import wsgiref.simple_server
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from socketserver import ThreadingMixIn
from typing import Any, Self

from spyne import Application, Array, ComplexModel, DateTime, Double, Integer, ServiceBase, Unicode, rpc
from spyne.error import Fault
from spyne.protocol.soap import Soap11
from spyne.server.wsgi import WsgiApplication

NAMESPACE = "urn:tradegraph:test:prices"

logging.getLogger("spyne").setLevel(logging.WARNING)


@dataclass(frozen=True, slots=True)
class Price:
    """One published price."""

    area: str
    period_start: dt.datetime
    price: float
    published: dt.datetime


class PriceItem(ComplexModel):
    __namespace__ = NAMESPACE
    area = Unicode
    period_start = DateTime
    price = Double
    published = DateTime


class _Book:
    """Prices per area in publication order, so a call finds its ``since`` by bisection."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.prices: dict[str, list[Price]] = {}
        self.published: dict[str, list[dt.datetime]] = {}
        self.areas: set[str] = set()

    def add(self, price: Price) -> None:
        times = self.published.setdefault(price.area, [])
        prices = self.prices.setdefault(price.area, [])
        at = bisect.bisect_right(times, price.published)
        times.insert(at, price.published)
        prices.insert(at, price)

    def since(self, area: str, since: dt.datetime | None, limit: int | None) -> list[Price]:
        times = self.published.get(area, [])
        start = 0 if since is None else bisect.bisect_left(times, since)
        stop = len(times) if not limit else min(len(times), start + limit)
        return self.prices.get(area, [])[start:stop]


def _service(book: _Book) -> type[ServiceBase]:
    class PriceService(ServiceBase):
        @rpc(Unicode, DateTime, Integer, _returns=Array(PriceItem))
        def GetPrices(ctx: Any, area: str, since: dt.datetime | None, limit: int | None) -> list[PriceItem]:
            with book.lock:
                if area not in book.areas:
                    raise Fault(faultcode="Client.UnknownArea", faultstring=f"unknown area {area!r}")
                chosen = book.since(area, None if since is None else _aware(since), limit)
            # A list, not a generator: spyne 2.14 fails on a generator that yields nothing.
            return [
                PriceItem(
                    area=price.area,
                    period_start=price.period_start,
                    price=price.price,
                    published=price.published,
                )
                for price in chosen
            ]

    return PriceService


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


class _ThreadingServer(ThreadingMixIn, wsgiref.simple_server.WSGIServer):
    daemon_threads = True


class _QuietHandler(wsgiref.simple_server.WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


class SoapPriceService:
    """The price service on ``127.0.0.1`` and a free port, in a background thread (a context manager)."""

    def __init__(self, *, areas: Iterable[str] = ("DE", "FR")) -> None:
        self._book = _Book()
        self._book.areas.update(areas)
        application = Application(
            [_service(self._book)],
            tns=NAMESPACE,
            name="PriceService",
            in_protocol=Soap11(validator="lxml"),
            out_protocol=Soap11(),
        )
        self._wsgi = WsgiApplication(application)
        self.unavailable = False
        """When True, every request answers 503 Service Unavailable."""
        self.requests = 0
        """Requests served (WSDL and operations)."""
        self._server: _ThreadingServer | None = None
        self._thread: threading.Thread | None = None

    def _app(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        self.requests += 1
        if self.unavailable:
            start_response("503 Service Unavailable", [("Content-Type", "text/plain"), ("Retry-After", "1")])
            return [b"maintenance"]
        return self._wsgi(environ, start_response)

    def publish(self, prices: Iterable[Price]) -> None:
        """Add ``prices`` to what the service returns."""
        with self._book.lock:
            for price in prices:
                self._book.add(price)

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("SoapPriceService is not started")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """The service endpoint; its WSDL is at ``url + "?wsdl"``."""
        return f"http://127.0.0.1:{self.port}/"

    @property
    def wsdl(self) -> str:
        return self.url + "?wsdl"

    def start(self) -> Self:
        self._server = wsgiref.simple_server.make_server(
            "127.0.0.1", 0, self._app, server_class=_ThreadingServer, handler_class=_QuietHandler
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
