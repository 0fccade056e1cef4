"""Wiring of the long-running services from settings: feeds, signals, and the stream / load entry points."""

from __future__ import annotations

import logging
import signal
import threading
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from resources.bus.base import TickBus
from resources.exchange_feed.base import ExchangeFeed
from resources.exchange_feed.registry import build_feed, endpoints_from
from resources.exchange_feed.venue import FeedResume, VenueConfig
from resources.service_state import ServiceInstance, ServiceStateStore, ServiceStateUnavailableError
from resources.tick_store.base import TickStore
from trading_assets.core.settings import Settings
from trading_assets.services.heartbeat import HeartbeatWriter, service_instance
from trading_assets.services.insert_trace import InsertTrace
from trading_assets.services.loader import Loader, LoaderConfig
from trading_assets.services.metrics import LoaderMetrics, StreamerMetrics, serve_metrics
from trading_assets.services.state_migration import migrate_legacy_state
from trading_assets.services.streamer import Streamer, StreamerConfig, StreamerState, load_state

log = logging.getLogger(__name__)

LOADER_GROUP = "loader"
STATE_RETRY_S = 2.0
"""Pause between attempts to read the restart state from an unreachable service-state store."""


def streamer_instance(settings: Settings, name: str = "main") -> ServiceInstance:
    """The instance a streamer of ``settings`` runs as on this host: its venues and symbols, and ``name``."""
    return service_instance("streamer", venues=settings.venues, symbols=settings.symbols, name=name)


def loader_instance(settings: Settings, name: str = "main") -> ServiceInstance:
    """The instance a loader of ``settings`` runs as on this host (it loads every symbol of its venues)."""
    return service_instance("loader", venues=settings.venues, name=name)


@dataclass(frozen=True, slots=True, kw_only=True)
class FeedOverrides:
    """Endpoints that replace the settings' ones (``tradegraph run`` points feeds at its own simulator)."""

    sim_ws_url: str | None = None
    """Websocket base of the simulated exchange."""
    sim_rest_url: str | None = None
    """REST base of the simulated exchange."""


def venue_config(settings: Settings, venue: str, overrides: FeedOverrides | None = None) -> VenueConfig:
    """``venue``'s config from the settings (endpoints from ``<venue>_ws_url`` / ``<venue>_rest_url``
    where the settings have them, else the venue's defaults), with ``overrides`` applied."""
    ws, rest = endpoints_from(settings, venue)
    if venue == "sim" and overrides is not None:
        ws, rest = overrides.sim_ws_url or ws, overrides.sim_rest_url or rest
    return VenueConfig(venue=venue, symbols=settings.symbols, ws_url=ws, rest_url=rest)


def build_feeds(
    settings: Settings, state: StreamerState, overrides: FeedOverrides | None = None
) -> list[ExchangeFeed]:
    """One feed per configured venue, built by the venue registry, resuming from ``state`` (last ids and
    open gaps)."""
    return [
        build_feed(
            venue_config(settings, venue, overrides),
            FeedResume(last_ids=state.last_ids.get(venue, {}), gaps=state.gaps.get(venue, {})),
        )
        for venue in settings.venues
    ]


def stop_on_signals() -> threading.Event:
    """An event set by SIGTERM or SIGINT, so services flush what is in flight and exit cleanly."""
    stop = threading.Event()

    def handle(signum: int, frame: FrameType | None) -> None:
        log.info("received %s: stopping", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)
    return stop


def run_streamer(
    settings: Settings,
    bus: TickBus,
    state: ServiceStateStore,
    stop: threading.Event,
    *,
    instance_name: str = "main",
    metrics_port: int | None = None,
    metrics_host: str = "127.0.0.1",
    overrides: FeedOverrides | None = None,
    config: StreamerConfig | None = None,
) -> Streamer | None:
    """Stream the configured venues into ``bus`` until ``stop`` is set (None: stopped before it began)."""
    metrics = StreamerMetrics()
    metrics.start(settings.venues)
    if metrics_port is not None:
        serve_metrics(metrics.registry, metrics_port, metrics_host, data_dir=settings.home)
    instance = streamer_instance(settings, instance_name)
    # Streaming without the restart state would leave what was missed while down unfilled: wait for it.
    while True:
        try:
            migrate_legacy_state(state, instance, settings.home)
            resume = load_state(state, instance)
            break
        except ServiceStateUnavailableError as exc:
            log.warning(
                "%s: restart state unreadable (%s); waiting for it before streaming", instance.label, exc
            )
            if stop.wait(STATE_RETRY_S):
                return None
    feeds = build_feeds(settings, resume, overrides)
    streamer = Streamer(feeds=feeds, bus=bus, state=state, instance=instance, config=config, metrics=metrics)
    log.info("streaming as %s (%s)", instance.label, instance.key)
    streamer.run(stop)
    return streamer


def run_loader(
    settings: Settings,
    bus: TickBus,
    store: TickStore,
    state: ServiceStateStore,
    stop: threading.Event,
    *,
    instance_name: str = "main",
    metrics_port: int | None = None,
    metrics_host: str = "127.0.0.1",
    config: LoaderConfig | None = None,
    insert_trace: Path | None = None,
) -> Loader:
    """Load the configured venues' topics into ``store`` until ``stop`` is set; ``insert_trace``: a file
    to record each insert in (:mod:`trading_assets.services.insert_trace`)."""
    metrics = LoaderMetrics()
    if metrics_port is not None:
        serve_metrics(metrics.registry, metrics_port, metrics_host, data_dir=settings.home)
    with bus.consumer(group=LOADER_GROUP, venues=settings.venues) as consumer:
        heartbeat = HeartbeatWriter(state, loader_instance(settings, instance_name))
        trace = None if insert_trace is None else InsertTrace(insert_trace)
        try:
            loader = Loader(consumer, store, config, metrics=metrics, heartbeat=heartbeat, trace=trace)
            loader.run(stop)
        finally:
            if trace is not None:
                trace.close()
    return loader
