"""``tradegraph run``: the simulated exchange, the streamer, the loader and the paper executor in one process.

The offline default: the exchange runs in-process on loopback, the streamer connects to it over the real
wire protocol, and the loader drains the bus into the store, all on the embedded bus and store unless the
settings name real ones. With ``max_trades`` the run ends by itself once every trade the exchange
emitted has been loaded (without the simulator: once that many ticks are stored); otherwise it runs
until SIGTERM, Ctrl-C or ``duration_s``.

It stops in the direction of the flow, so nothing in flight is dropped: the feeds stop reading, the
streamer publishes and acknowledges its last batch, the loader stores everything the streamer published
(up to ``drain_timeout_s``), and only then does the loader stop; last, the paper executor (``execute``)
reads what is left on the bus and checkpoints. The summary reports whatever is left:
ticks published but not stored, trades the exchange printed that were never read (known with the
simulator) and trade-id gaps still open (kept in the restart state, so the next run fetches them).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from resources.bus.base import TickBus
from resources.exchange_feed.binance import BinanceFeed
from resources.service_state import ServiceStateStore
from resources.service_state.factory import open_service_state
from resources.tick_store.base import TickStore
from trading_assets.core.settings import Settings
from trading_assets.services.exchange_sim import ExchangeSim, ExchangeSimConfig, FaultConfig
from trading_assets.services.heartbeat import HeartbeatWriter
from trading_assets.services.loader import Loader, LoaderConfig
from trading_assets.services.metrics import LoaderMetrics, StreamerMetrics, serve_metrics
from trading_assets.services.pipeline_executor import ExecutorThread, PaperSummary
from trading_assets.services.runtime import (
    LOADER_GROUP,
    FeedOverrides,
    build_feeds,
    loader_instance,
    streamer_instance,
)
from trading_assets.services.state_migration import migrate_legacy_state
from trading_assets.services.streamer import (
    FeedsStoppedError,
    Streamer,
    StreamerConfig,
    StreamerState,
    load_state,
    save_state,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class PipelineConfig:
    """What ``tradegraph run`` runs."""

    simulate: bool = True
    """Run the simulated exchange in-process (venue ``sim``); False streams the configured venues."""
    rate: float = 1_000.0
    """Simulated trades per second over all symbols."""
    speed: float = 1.0
    """Exchange seconds per wall second of the simulated clock."""
    sim_start_us: int | None = None
    """Exchange time the simulated market opens at (None: now); a fast ``speed`` needs a start in the past,
    or its trades run ahead of the wall clock and are rejected as from the future."""
    max_trades: int | None = None
    """Stop once the exchange emitted this many trades and all of them are loaded."""
    duration_s: float | None = None
    """Stop after this many seconds."""
    metrics_port: int | None = None
    """Serve streamer and loader metrics on this port (and the next one)."""
    metrics_host: str = "127.0.0.1"
    """Address the metrics are served on (0.0.0.0 in a container, so Prometheus can reach them)."""
    loader: LoaderConfig = field(
        default_factory=lambda: LoaderConfig(max_rows=50_000, max_wait_s=0.2, poll_timeout_s=0.05)
    )
    """Batching of the loader."""
    faults: FaultConfig = field(default_factory=FaultConfig)
    """Faults the simulated exchange injects (drops, duplicates, reordering, skips, garbage frames)."""
    drain_timeout_s: float = 60.0
    """Once the streamer stopped, how long the loader may take to store what it published."""
    execute: bool = False
    """Also run the paper executor on the registry's champions (its own consumer group, instance ``run``)."""

    def __post_init__(self) -> None:
        if not self.simulate and self.faults != FaultConfig():
            raise ValueError(
                "fault options (--drop-every, --p-duplicate, --p-reorder, --p-skip, --p-garbage) only apply "
                "to the simulated exchange: drop them or drop --no-sim"
            )
        if self.max_trades is not None and self.max_trades < 1:
            raise ValueError(f"max_trades must be at least 1, got {self.max_trades}")


@dataclass(frozen=True, slots=True, kw_only=True)
class PipelineSummary:
    """What a run did."""

    emitted: int | None
    """Trades the simulated exchange generated (None without the simulator)."""
    published: int
    """Ticks the streamer published."""
    loaded: int
    """Ticks the loader inserted."""
    dead_letters: int
    """Frames and ticks sent to the dead letters."""
    seconds: float
    """Wall time of the run."""
    exchange: dict[str, Any] | None = None
    """The simulated exchange's final ``/sim/stats`` document (None without the simulator)."""
    unread: dict[str, int] | None = None
    """Per symbol, trades the exchange printed that the streamer never read (None: not known, i.e.
    without the simulator)."""
    open_gaps: dict[str, dict[str, list[tuple[int, int]]]] = field(default_factory=dict)
    """Trade-id ranges still missing at the end, per venue and symbol (the next run fetches them)."""
    paper: PaperSummary | None = None
    """What the paper executor did (None: it did not run)."""
    failure: str | None = None
    """Why the run ended before it was asked to: every feed stopped (None: it was not cut short)."""

    @property
    def unstored(self) -> int:
        """Ticks the streamer published that the loader did not store (left on the bus)."""
        return max(self.published - self.loaded, 0)


def run_pipeline(
    settings: Settings,
    bus: TickBus,
    store: TickStore,
    config: PipelineConfig,
    stop: threading.Event,
    state: ServiceStateStore | None = None,
) -> PipelineSummary:
    """Run exchange (optional), streamer and loader until done or stopped; return what happened.

    ``state``: where heartbeats and restart state go (default: the store the settings name)."""
    if state is None:
        with open_service_state(settings) as opened:
            return run_pipeline(settings, bus, store, config, stop, opened)
    streamer_id, loader_id = streamer_instance(settings), loader_instance(settings)
    migrate_legacy_state(state, streamer_id, settings.home)
    started = time.monotonic()
    sim: ExchangeSim | None = None
    overrides = FeedOverrides()
    if config.simulate:
        if settings.venues != ("sim",):
            raise ValueError(
                f"tradegraph run simulates venue 'sim' but TRADEGRAPH_VENUES={','.join(settings.venues)}; "
                "unset it, or pass --no-sim to stream the configured venues"
            )
        sim = ExchangeSim(
            ExchangeSimConfig(
                symbols=settings.symbols,
                rate=config.rate,
                speed=config.speed,
                start_us=config.sim_start_us,
                max_trades=config.max_trades,
                # Hold the clock until the streamer subscribed, so a bounded run sees every trade.
                wait_for_subscribers=1,
                faults=config.faults,
            )
        ).start()
        overrides = FeedOverrides(sim_ws_url=sim.ws_url, sim_rest_url=sim.rest_url)
        # This exchange is new and numbers its trades from 1: the ids and gaps the state holds for venue
        # 'sim' belong to an earlier one and would make this one's ids look old (its gaps unseen). Start
        # from "last id 0", so even a first trade the exchange skips is fetched.
        previous = load_state(state, streamer_id)
        save_state(
            state,
            streamer_id,
            StreamerState(
                last_ids={**previous.last_ids, "sim": dict.fromkeys(settings.symbols, 0)},
                gaps={venue: gaps for venue, gaps in previous.gaps.items() if venue != "sim"},
            ),
        )
    streamer_metrics, loader_metrics = StreamerMetrics(), LoaderMetrics()
    streamer_metrics.start(settings.venues)
    if config.metrics_port is not None:
        serve_metrics(
            streamer_metrics.registry, config.metrics_port, config.metrics_host, data_dir=settings.home
        )
        serve_metrics(
            loader_metrics.registry, config.metrics_port + 1, config.metrics_host, data_dir=settings.home
        )
    consumer = bus.consumer(group=LOADER_GROUP, venues=settings.venues)
    executor = ExecutorThread(settings, bus).start() if config.execute else None
    loader = Loader(
        consumer, store, config.loader, metrics=loader_metrics, heartbeat=HeartbeatWriter(state, loader_id)
    )
    # The in-process bus dies with the process: a tick counts as safe only once the loader stored it,
    # so the streamer's restart state never runs ahead of the store.
    durable = None if settings.bus == "kafka" else (lambda n: loader.wait_loaded(n, timeout_s=2.0))
    streamer = Streamer(
        feeds=build_feeds(settings, load_state(state, streamer_id), overrides),
        bus=bus,
        state=state,
        instance=streamer_id,
        config=StreamerConfig(),
        metrics=streamer_metrics,
        durable=durable,
    )
    # Each stage has its own stop, so the stages can be stopped one after the other (see the docstring).
    source_stop, loader_stop = threading.Event(), threading.Event()
    feeds_stopped: list[FeedsStoppedError] = []

    def stream() -> None:
        try:
            streamer.run(source_stop)
        except FeedsStoppedError as exc:  # the run ends, the later stages drain, the summary says why
            feeds_stopped.append(exc)

    streamer_thread = threading.Thread(target=stream, name="streamer")
    loader_thread = threading.Thread(target=loader.run, args=(loader_stop,), name="loader")
    loader_thread.start()
    streamer_thread.start()
    emitted: int | None = None
    exchange: dict[str, Any] | None = None
    unread: dict[str, int] | None = None
    open_gaps: dict[str, dict[str, list[tuple[int, int]]]] = {}
    paper: PaperSummary | None = None
    try:
        while not stop.wait(0.2):
            if config.duration_s is not None and time.monotonic() - started >= config.duration_s:
                break
            if not streamer_thread.is_alive():
                break  # every feed stopped (logged by the streamer)
            if config.max_trades is not None and (
                _all_loaded(sim.stats(), streamer, loader)
                if sim is not None
                else loader.stats.ticks >= config.max_trades
            ):
                break
    finally:
        # 1. the source: feeds stop reading; the streamer publishes and acknowledges their last batches
        #    (on the embedded bus that waits for the loader, which is still running).
        source_stop.set()
        streamer_thread.join(timeout=60)
        open_gaps = {feed.venue: gaps for feed in streamer.feeds if (gaps := feed.unfilled_gaps())}
        # The exchange stops right after the streamer stopped reading it, so the trades it printed
        # unread are the ones of the shutdown, not of however long the stages below take.
        if sim is not None:
            exchange = sim.stats()
            emitted = int(exchange["generated"])
            unread = _unread(exchange, streamer)
            sim.stop()
        # 2. the loader stores everything the streamer published, then stops.
        _drain(loader, loader_thread, target=streamer.published, timeout_s=config.drain_timeout_s)
        loader_stop.set()
        loader_thread.join(timeout=60)
        consumer.close()
        # 3. the executor reads what is left on the bus, checkpoints and stops.
        paper = None if executor is None else executor.finish()
    summary = PipelineSummary(
        emitted=emitted,
        published=streamer.published,
        loaded=loader.stats.ticks,
        dead_letters=streamer.dead_lettered,
        seconds=time.monotonic() - started,
        exchange=exchange,
        unread=unread,
        open_gaps=open_gaps,
        paper=paper,
        failure=str(feeds_stopped[0]) if feeds_stopped else None,
    )
    if summary.unstored:
        log.warning(
            "%d of %d published ticks were not stored within %.0f s; they stay uncommitted on the bus",
            summary.unstored,
            summary.published,
            config.drain_timeout_s,
        )
    return summary


def _drain(loader: Loader, thread: threading.Thread, *, target: int, timeout_s: float) -> None:
    """Wait until ``loader`` stored ``target`` ticks and holds nothing, its thread ended, or the timeout."""
    deadline = time.monotonic() + timeout_s
    while thread.is_alive() and time.monotonic() < deadline:
        if loader.stats.ticks >= target and loader.pending_rows == 0:
            return
        time.sleep(0.02)


def _unread(exchange: dict[str, Any], streamer: Streamer) -> dict[str, int]:
    """Per symbol, ids the simulated exchange printed above the highest id its feed read."""
    feed = next(f for f in streamer.feeds if isinstance(f, BinanceFeed) and f.venue == "sim")
    seen = feed.last_ids()
    return {
        symbol: max((info["history_last_id"] or 0) - seen.get(symbol, 0), 0)
        for symbol, info in exchange["symbols"].items()
    }


def _all_loaded(stats: dict[str, Any], streamer: Streamer, loader: Loader) -> bool:
    """Whether every trade the finished exchange generated has been published and loaded.

    Counting ticks is not enough: duplicated frames and gap fills that repeat ticks add to the counts
    while a skipped trade may still be missing. So: the feed has seen every symbol's last id, no gap is
    open, and the loader has stored everything the streamer published.
    """
    if not stats["finished"]:
        return False
    feed = next(f for f in streamer.feeds if isinstance(f, BinanceFeed) and f.venue == "sim")
    seen = feed.last_ids()
    if any(seen.get(symbol, 0) < (info["history_last_id"] or 0) for symbol, info in stats["symbols"].items()):
        return False
    if feed.unfilled_gaps():
        return False
    return loader.stats.ticks >= streamer.published
