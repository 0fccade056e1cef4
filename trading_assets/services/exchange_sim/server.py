"""The simulated exchange assembled: engine, websocket server and REST server on 127.0.0.1.

Two ways to run it:

- :class:`ExchangeSimServer` inside a running event loop (``async with ExchangeSimServer(cfg) as sim``);
- :class:`ExchangeSim` from ordinary code: it runs its own event loop in a background thread
  (``with ExchangeSim(cfg) as sim: ... sim.ws_url ... sim.stats()``).
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
from collections.abc import Coroutine
from typing import Any, Self, TypeVar

from aiohttp import web

from trading_assets.services.exchange_sim import rest, websocket
from trading_assets.services.exchange_sim.config import ExchangeSimConfig
from trading_assets.services.exchange_sim.engine import Engine

log = logging.getLogger(__name__)

T = TypeVar("T")


def _report_failure(task: asyncio.Task[None]) -> None:
    """Log a background task that died, at once rather than at shutdown (the servers keep answering)."""
    if not task.cancelled() and task.exception() is not None:
        log.error("%s failed; generation has stopped", task.get_name(), exc_info=task.exception())


class ExchangeSimServer:
    """The simulated exchange in the current event loop."""

    def __init__(self, config: ExchangeSimConfig) -> None:
        self.config = config
        self.engine: Engine | None = None
        self._stop = asyncio.Event()
        self._ws_server: asyncio.Server | None = None
        self._runner: web.AppRunner | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self.ws_port = 0
        self.rest_port = 0

    @property
    def ws_url(self) -> str:
        """Base URL of the Binance streams: ``ws://127.0.0.1:P`` (append ``/stream?streams=..``)."""
        return f"ws://{self.config.host}:{self.ws_port}"

    @property
    def finnhub_url(self) -> str:
        """URL of the Finnhub trades websocket (append ``?token=..``)."""
        return f"{self.ws_url}/finnhub"

    @property
    def rest_url(self) -> str:
        """Base URL of the Binance REST API and the /sim endpoints."""
        return f"http://{self.config.host}:{self.rest_port}"

    def urls(self) -> dict[str, str]:
        """The three URLs, as the CLI prints them."""
        return {"ws_url": self.ws_url, "rest_url": self.rest_url, "finnhub_url": self.finnhub_url}

    async def start(self) -> None:
        """Bind both servers and start generating."""
        self.engine = engine = Engine(self.config)
        self._ws_server = await websocket.serve(
            engine.hub, self.config.host, self.config.ws_port, self.config.high_water_bytes
        )
        self.ws_port = int(self._ws_server.sockets[0].getsockname()[1])
        self._runner = web.AppRunner(rest.build_app(engine), access_log=None, handle_signals=False)
        await self._runner.setup()
        # Bind the socket here so that port 0 works and the bound port is known.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.config.host, self.config.rest_port))
        except OSError:
            sock.close()
            raise
        self.rest_port = int(sock.getsockname()[1])
        await web.SockSite(self._runner, sock).start()
        self._tasks = [
            asyncio.create_task(engine.run(self._stop), name="exchange-sim-engine"),
            asyncio.create_task(engine.housekeeping(self._stop), name="exchange-sim-housekeeping"),
        ]
        for task in self._tasks:
            task.add_done_callback(_report_failure)
        log.info("simulated exchange up: %s", self.urls())

    async def stop(self) -> None:
        """Stop generating, close every connection and both servers."""
        self._stop.set()
        for task in self._tasks:
            try:
                await asyncio.wait_for(task, 5)
            except TimeoutError:
                log.warning("task %s did not stop within 5 s; cancelled", task.get_name())
            except Exception:
                log.debug("task %s had failed", task.get_name())
        self._tasks = []
        if self.engine is not None:
            hub = self.engine.hub
            hub.close_all()
            # Let close frames go out; whoever has not gone after a second is cut off.
            for _ in range(20):
                if not hub.connections:
                    break
                await asyncio.sleep(0.05)
            for conn in list(hub.connections):
                conn.abort()
        if self._ws_server is not None:
            self._ws_server.close()
            self._ws_server = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        log.info("simulated exchange stopped")

    async def wait_stopped(self) -> None:
        """Return once :meth:`stop` has been asked for."""
        await self._stop.wait()

    def request_stop(self) -> None:
        """Ask the server to stop (safe from a signal handler in the loop's thread)."""
        self._stop.set()

    def stats(self) -> dict[str, Any]:
        """The ``/sim/stats`` document."""
        assert self.engine is not None, "not started"
        return self.engine.stats()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


class ExchangeSim:
    """The simulated exchange on its own event loop in a background thread.

    ``start()`` returns once both ports are bound (raising what the start raised, e.g. a bad replay
    file); ``stop()`` closes everything and joins the thread.
    """

    def __init__(self, config: ExchangeSimConfig | None = None) -> None:
        self.config = config or ExchangeSimConfig()
        self._server = ExchangeSimServer(self.config)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._started = threading.Event()
        self._error: BaseException | None = None

    @property
    def ws_url(self) -> str:
        """Base URL of the Binance streams, e.g. ``ws://127.0.0.1:P``."""
        return self._server.ws_url

    @property
    def rest_url(self) -> str:
        """Base URL of the REST API, e.g. ``http://127.0.0.1:Q``."""
        return self._server.rest_url

    @property
    def finnhub_url(self) -> str:
        """URL of the Finnhub websocket, e.g. ``ws://127.0.0.1:P/finnhub``."""
        return self._server.finnhub_url

    def start(self, timeout_s: float = 30.0) -> ExchangeSim:
        """Start the thread and wait until the servers listen."""
        if self._thread is not None:
            raise RuntimeError("this simulated exchange is already started; make a new ExchangeSim")
        self._thread = threading.Thread(target=self._run, name="exchange-sim", daemon=True)
        self._thread.start()
        if not self._started.wait(timeout_s):
            raise TimeoutError(f"simulated exchange did not start within {timeout_s} s")
        if self._error is not None:
            self._thread.join(timeout_s)
            raise self._error
        return self

    def _run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        try:
            await self._server.start()
        except Exception as exc:
            self._error = exc
            self._started.set()
            await self._server.stop()
            return
        self._started.set()
        await self._server.wait_stopped()
        await self._server.stop()

    def _call(self, coro: Coroutine[Any, Any, T], timeout_s: float = 10.0) -> T:
        if self._loop is None or self._thread is None or not self._thread.is_alive():
            coro.close()
            raise RuntimeError("the simulated exchange is not running")
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout_s)

    def stats(self) -> dict[str, Any]:
        """The ``/sim/stats`` document, read consistently in the exchange's loop."""

        async def read() -> dict[str, Any]:
            return self._server.stats()

        return self._call(read())

    def drop_connections(self) -> int:
        """Abort every websocket now; returns how many."""

        async def drop() -> int:
            assert self._server.engine is not None
            return self._server.engine.hub.drop_all()

        return self._call(drop())

    def set_faults(self, **changes: float | None) -> dict[str, Any]:
        """Change fault settings (names of :class:`FaultConfig`); returns the settings in force."""

        async def update() -> dict[str, Any]:
            engine = self._server.engine
            assert engine is not None
            engine.faults.config = engine.faults.config.updated(changes)
            return engine.faults.config.to_json()

        return self._call(update())

    def stop(self, timeout_s: float = 15.0) -> None:
        """Stop the servers and join the thread."""
        if self._loop is None or self._thread is None:
            return
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._server.request_stop)
            self._thread.join(timeout_s)
            if self._thread.is_alive():
                log.warning("simulated exchange thread did not stop within %.0f s", timeout_s)
        self._thread = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
