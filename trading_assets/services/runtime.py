"""Wiring of the long-running services from settings: feeds, signals, and the stream / load entry points."""

from __future__ import annotations

import logging
import signal
import threading
from dataclasses import dataclass
from types import FrameType

from resources.bus.base import TickBus
from resources.exchange_feed.base import ExchangeFeed
from resources.exchange_feed.registry import build_feed, endpoints_from
from resources.exchange_feed.venue import FeedResume, VenueConfig
from resources.tick_store.base import TickStore
from trading_assets.core.settings import Settings
from trading_assets.services.loader import Loader, LoaderConfig
from trading_assets.services.metrics import LoaderMetrics, StreamerMetrics, serve_metrics
from trading_assets.services.streamer import Streamer, StreamerConfig, StreamerState, load_state

log = logging.getLogger(__name__)

LOADER_GROUP = "loader"


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
    stop: threading.Event,
    *,
    metrics_port: int | None = None,
    overrides: FeedOverrides | None = None,
    config: StreamerConfig | None = None,
) -> Streamer:
    """Stream the configured venues into ``bus`` until ``stop`` is set."""
    metrics = StreamerMetrics()
    if metrics_port is not None:
        serve_metrics(metrics.registry, metrics_port)
    feeds = build_feeds(settings, load_state(settings.home), overrides)
    streamer = Streamer(feeds=feeds, bus=bus, home=settings.home, config=config, metrics=metrics)
    log.info("streaming %s for %s", ", ".join(settings.venues), ", ".join(settings.symbols))
    streamer.run(stop)
    return streamer


def run_loader(
    settings: Settings,
    bus: TickBus,
    store: TickStore,
    stop: threading.Event,
    *,
    metrics_port: int | None = None,
    config: LoaderConfig | None = None,
) -> Loader:
    """Load the configured venues' topics into ``store`` until ``stop`` is set."""
    metrics = LoaderMetrics()
    if metrics_port is not None:
        serve_metrics(metrics.registry, metrics_port)
    with bus.consumer(group=LOADER_GROUP, venues=settings.venues) as consumer:
        loader = Loader(consumer, store, config, metrics=metrics, home=settings.home)
        loader.run(stop)
    return loader
