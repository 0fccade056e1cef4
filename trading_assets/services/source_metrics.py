"""Prometheus metrics of the source poller and the source loader, each in its own registry.

Every failure is counted by source and kind (``unavailable``: the source is down or asked to wait and is
retried; ``error``: a failure retrying will not fix; ``bus``: publishing failed), so a dashboard and an
alert see a failing source at once; the heartbeat carries the same figures for the stream-health sensor.
"""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

FAILURES = ("unavailable", "error", "bus")
"""The failure kinds a poller counts."""

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class SourcePollerMetrics:
    """What a source poller counts (one registry per poller process; labels name the source)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        """Metrics in ``registry`` (a new one when None; pollers and the loader of one process share one)."""
        self.registry = CollectorRegistry() if registry is None else registry
        r = self.registry
        self.records = Counter(
            "tradegraph_source_records", "Records published on the bus", ["source", "kind"], registry=r
        )
        self.rejected = Counter(
            "tradegraph_source_rejected",
            "Datapoints the source delivered that could not be made records (sent to dead letters)",
            ["source", "kind"],
            registry=r,
        )
        self.fetches = Counter("tradegraph_source_fetches", "Fetches made", ["source", "kind"], registry=r)
        self.failures = Counter(
            "tradegraph_source_failures",
            "Fetches or publishes that failed, by failure kind (unavailable, error, bus)",
            ["source", "kind", "failure"],
            registry=r,
        )
        self.fetch_seconds = Histogram(
            "tradegraph_source_fetch_seconds",
            "Time one fetch took",
            ["source"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.last_success = Gauge(
            "tradegraph_source_last_success_timestamp_seconds",
            "Unix time of the last fetch that succeeded",
            ["source"],
            registry=r,
        )
        self.heartbeat = Gauge(
            "tradegraph_source_heartbeat_timestamp_seconds", "Last heartbeat (unix seconds)", registry=r
        )

    def start(self, sources: Iterable[tuple[str, str]]) -> None:
        """Create each (source name, kind)'s counters with 0, every failure kind included."""
        for source, kind in sources:
            for counter in (self.records, self.rejected, self.fetches):
                counter.labels(source=source, kind=kind)
            for failure in FAILURES:
                self.failures.labels(source=source, kind=kind, failure=failure)


class SourceLoaderMetrics:
    """What the source loader counts."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        """Metrics in ``registry`` (a new one when None; pollers and the loader of one process share one)."""
        self.registry = CollectorRegistry() if registry is None else registry
        r = self.registry
        self.rows = Counter(
            "tradegraph_source_loader_rows", "New rows stored (repeats not counted)", ["source"], registry=r
        )
        self.repeats = Counter(
            "tradegraph_source_loader_repeats",
            "Delivered rows dropped because their key was already stored (at-least-once repeats)",
            ["source"],
            registry=r,
        )
        self.dead_letters = Counter(
            "tradegraph_source_loader_dead_letters",
            "Bus records that could not be decoded or did not fit their source's schema",
            registry=r,
        )
        self.store_failures = Counter(
            "tradegraph_source_loader_store_failures", "Writes that failed and will be retried", registry=r
        )
        self.bus_failures = Counter(
            "tradegraph_source_loader_bus_failures",
            "Polls and commits that failed",
            ["operation"],
            registry=r,
        )
        self.latency = Histogram(
            "tradegraph_source_loader_latency_seconds",
            "From the poller's publish to the rows being stored",
            ["source"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.heartbeat = Gauge(
            "tradegraph_source_loader_heartbeat_timestamp_seconds",
            "Last heartbeat (unix seconds)",
            registry=r,
        )

    def start(self, sources: Iterable[str]) -> None:
        """Create each source's counters, and the bus failures of each operation, with 0."""
        for source in sources:
            self.rows.labels(source=source)
            self.repeats.labels(source=source)
        for operation in ("poll", "commit"):
            self.bus_failures.labels(operation=operation)
