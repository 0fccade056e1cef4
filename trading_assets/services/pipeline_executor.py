"""The paper executor inside ``tradegraph run``: a thread beside the streamer and the loader.

It joins the bus as its own consumer group before anything is published (so on the embedded bus it
sees every tick of the run), then opens the model registry and trades the champions it finds there,
exactly as ``tradegraph execute`` does. Without champions (a fresh home) it builds bars and places no
orders until a model is promoted; it picks one up without a restart. At the end of the run it reads
what is left on the bus, checkpoints and reports.
"""

from __future__ import annotations

import logging
import threading
import time
from contextlib import closing
from dataclasses import dataclass

from resources.bus.base import TickBus, TickConsumer
from resources.model_registry.factory import ModelRegistryConfig, open_model_registry
from resources.table_store.factory import TableStoreConfig, open_table_store
from trading_assets.core.settings import Settings
from trading_assets.services.executor import Executor, ExecutorConfig
from trading_assets.services.metrics import ExecutorMetrics

log = logging.getLogger(__name__)

DRAIN_TIMEOUT_S = 60.0
"""At the end of a run, how long the executor may take to read the ticks still on the bus."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PaperSummary:
    """What the executor of a run did."""

    ticks: int
    """Ticks it read."""
    decisions: int
    """Bars it decided on (a champion was loaded for the symbol)."""
    orders: int
    """Orders it placed."""
    fills: int
    """Paper fills."""
    denials: int
    """Orders the risk engine denied."""
    equity: float
    """Paper equity at the end."""
    models: dict[str, str]
    """Champion version traded per symbol ('-' for none)."""
    error: str | None = None
    """Why the executor stopped early (None: it ran to the end)."""


class ExecutorThread:
    """Runs an :class:`Executor` on ``bus`` in a thread until :meth:`finish`."""

    def __init__(self, settings: Settings, bus: TickBus, *, metrics: ExecutorMetrics | None = None) -> None:
        self.settings = settings
        self.config = ExecutorConfig(symbols=settings.symbols, venues=settings.venues, instance="run")
        self.metrics = metrics
        # Join now, before the streamer publishes: the embedded bus keeps what this group has not read.
        self._consumer: TickConsumer = bus.consumer(group=self.config.group, venues=self.config.venues)
        self._stop = threading.Event()
        self._executor: Executor | None = None
        self._error: str | None = None
        self._thread = threading.Thread(target=self._run, name="executor", daemon=True)

    def start(self) -> ExecutorThread:
        """Start trading in the background."""
        self._thread.start()
        return self

    def _run(self) -> None:
        try:
            with (
                open_table_store(TableStoreConfig.from_settings(self.settings)) as store,
                closing(open_model_registry(ModelRegistryConfig.from_settings(self.settings))) as registry,
            ):
                executor = Executor(self._consumer, registry, store, self.config, metrics=self.metrics)
                executor.start()
                self._executor = executor
                while not self._stop.is_set():
                    executor.run_once()
                # Read the rest of the run's ticks (bounded: Kafka's lag is an estimate).
                deadline = time.monotonic() + DRAIN_TIMEOUT_S
                while time.monotonic() < deadline and (
                    executor.run_once() is not None or (self._consumer.lag() or 0) > 0
                ):
                    pass
                executor.checkpoint()
        except Exception as exc:  # reported in the summary and logged with its traceback, never swallowed
            log.exception("the paper executor stopped")
            self._error = f"{type(exc).__name__}: {exc}"

    def wait_started(self, *, timeout_s: float) -> bool:
        """Wait until the executor loaded its checkpoint and champions; False on timeout or failure."""
        deadline = time.monotonic() + timeout_s
        while self._executor is None and self._error is None and time.monotonic() < deadline:
            time.sleep(0.05)
        return self._executor is not None and self._error is None

    def finish(self, *, timeout_s: float = 120.0) -> PaperSummary:
        """Stop after reading what is on the bus, checkpoint, and say what the executor did."""
        self._stop.set()
        self._thread.join(timeout=timeout_s)
        if self._thread.is_alive():
            self._error = (
                self._error or f"still running after {timeout_s:.0f} s; left to stop with the process"
            )
        else:
            self._consumer.close()
        executor = self._executor
        if executor is None:
            return PaperSummary(
                ticks=0, decisions=0, orders=0, fills=0, denials=0, equity=0.0, models={}, error=self._error
            )
        s = executor.stats
        models = {}
        for symbol in self.config.symbols:
            loaded = executor.core.model(symbol)
            models[symbol] = "-" if loaded is None else loaded.version
        return PaperSummary(
            ticks=s.ticks,
            decisions=s.decisions,
            orders=s.orders,
            fills=s.fills,
            denials=s.denials,
            equity=executor.portfolio.equity(),
            models=models,
            error=self._error,
        )
