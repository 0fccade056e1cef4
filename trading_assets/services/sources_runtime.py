"""Run the configured sources: one poller thread per source and the source loader, in one process.

``tradegraph sources run`` calls :func:`run_sources`. The pollers and the loader share the process's bus,
so the embedded bus works too; with Kafka, pollers and loader may also run as separate processes
(``--no-loader`` / ``tradegraph sources load``).
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Sequence

from prometheus_client import CollectorRegistry

from resources.bus.base import TickBus
from resources.service_state import ServiceInstance, ServiceStateStore
from resources.sources.base import Source, SourceSpec
from resources.table_store.base import TableStore
from trading_assets.services.heartbeat import HeartbeatWriter
from trading_assets.services.metrics import serve_metrics
from trading_assets.services.source_loader import GROUP, SERVICE, SourceLoader, SourceLoaderConfig
from trading_assets.services.source_metrics import SourceLoaderMetrics, SourcePollerMetrics
from trading_assets.services.source_poller import PollerConfig, SourcePoller

log = logging.getLogger(__name__)


def source_loader_instance(name: str = "main") -> ServiceInstance:
    """The service instance the source loader runs as on this host."""
    return ServiceInstance(service=SERVICE, venues=(), symbols=(), host=socket.gethostname(), name=name)


def start_pollers(
    sources: Sequence[Source],
    bus: TickBus,
    state: ServiceStateStore,
    stop: threading.Event,
    *,
    config: PollerConfig | None = None,
    metrics: SourcePollerMetrics | None = None,
) -> list[tuple[SourcePoller, threading.Thread]]:
    """One running poller thread per source (daemon threads; they end when ``stop`` is set)."""
    shared = metrics or SourcePollerMetrics()
    started = []
    for source in sources:
        poller = SourcePoller(source, bus, state, config, metrics=shared)
        thread = threading.Thread(
            target=poller.run, args=(stop,), name=f"source-{source.spec.name}", daemon=True
        )
        thread.start()
        started.append((poller, thread))
    return started


def run_source_loader(
    specs: Sequence[SourceSpec],
    bus: TickBus,
    store: TableStore,
    state: ServiceStateStore,
    stop: threading.Event,
    *,
    config: SourceLoaderConfig | None = None,
    metrics: SourceLoaderMetrics | None = None,
    instance_name: str = "main",
) -> SourceLoader:
    """Load the sources' topics into ``store`` until ``stop`` is set."""
    topics = [spec.topic for spec in specs]
    with bus.record_consumer(group=GROUP, topics=topics) as consumer:
        heartbeat = HeartbeatWriter(state, source_loader_instance(instance_name))
        loader = SourceLoader(consumer, store, bus, specs, config, metrics=metrics, heartbeat=heartbeat)
        log.info("loading %d sources: %s", len(specs), ", ".join(spec.name for spec in specs))
        loader.run(stop)
    return loader


def run_sources(
    sources: Sequence[Source],
    bus: TickBus,
    store: TableStore | None,
    state: ServiceStateStore,
    stop: threading.Event,
    *,
    metrics_port: int | None = None,
    metrics_host: str = "127.0.0.1",
    poller_config: PollerConfig | None = None,
    loader_config: SourceLoaderConfig | None = None,
) -> SourceLoader | None:
    """Poll every source and, when ``store`` is given, load them, until ``stop`` is set.

    Metrics are served on ``metrics_host:metrics_port`` (loopback unless a container asks for 0.0.0.0)."""
    registry = CollectorRegistry()
    poller_metrics = SourcePollerMetrics(registry)
    loader_metrics = SourceLoaderMetrics(registry)
    poller_metrics.start((source.spec.name, source.spec.kind) for source in sources)
    loader_metrics.start(source.spec.name for source in sources)
    if metrics_port is not None:
        serve_metrics(registry, metrics_port, metrics_host)
    pollers = start_pollers(sources, bus, state, stop, config=poller_config, metrics=poller_metrics)
    loader = None
    try:
        if store is None:
            stop.wait()
        else:
            specs = [source.spec for source in sources]
            loader = run_source_loader(
                specs, bus, store, state, stop, config=loader_config, metrics=loader_metrics
            )
    finally:
        stop.set()
        for _, thread in pollers:
            thread.join(timeout=30)
    return loader
