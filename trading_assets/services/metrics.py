"""Prometheus metrics of the long-running services, each set in its own registry (nothing global at import).

Names are what the dashboards (ops/dashboards, generating docker/grafana/dashboards/*.json) and the alert
rules (docker/prometheus/alerts.yml) query; change them together (tests/ops checks every query against
running services). Counters whose labels name a known set of values (denial rules, dead-letter kinds,
venues) are created at start-up with 0, so a rate over them is 0, not absent, before the first event.
A served registry also carries the process collector (``process_resident_memory_bytes``,
``process_cpu_seconds_total``, ...) and the free space of the service's data folder (:func:`serve_metrics`).
"""

from __future__ import annotations

import logging
import math
import shutil
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    start_http_server,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from trading_assets.trading.risk_state import Rule

if TYPE_CHECKING:
    from trading_assets.execution.core import ExecutionCore
    from trading_assets.execution.decisions import Decision
    from trading_assets.trading.orders import Fill, Order
    from trading_assets.trading.portfolio import Portfolio
    from trading_assets.trading.risk import RiskEngine
    from trading_assets.trading.risk_state import RiskLimits

log = logging.getLogger(__name__)

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


DEAD_LETTER_KINDS = ("invalid", "malformed")
"""Why the streamer dead-letters: a tick that failed validation, a frame that could not be parsed."""


class StreamerMetrics:
    """What the streamer counts."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.ticks = Counter("tradegraph_streamer_ticks", "Ticks published", ["venue", "symbol"], registry=r)
        self.reconnects = Counter(
            "tradegraph_streamer_reconnects", "Websocket reconnects", ["venue"], registry=r
        )
        self.gaps_found = Counter(
            "tradegraph_streamer_gap_trades_found", "Trade ids found missing", ["venue"], registry=r
        )
        self.gaps_filled = Counter(
            "tradegraph_streamer_gap_trades_filled",
            "Missing trade ids filled from REST",
            ["venue"],
            registry=r,
        )
        self.gap_fill_failures = Counter(
            "tradegraph_streamer_gap_fill_failures", "Gap fills that gave up", ["venue"], registry=r
        )
        self.dead_letters = Counter(
            "tradegraph_streamer_dead_letters",
            "Frames or ticks sent to the dead letters",
            ["venue", "kind"],
            registry=r,
        )
        self.publish_latency = Histogram(
            "tradegraph_streamer_publish_latency_seconds",
            "Receive time to bus acknowledgement",
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.heartbeat = Gauge(
            "tradegraph_streamer_heartbeat_timestamp_seconds", "Last heartbeat (unix seconds)", registry=r
        )

    def start(self, venues: Iterable[str]) -> None:
        """Create the per-venue counters with 0 (reconnects, gaps, dead letters of each kind)."""
        for venue in venues:
            for counter in (self.reconnects, self.gaps_found, self.gaps_filled, self.gap_fill_failures):
                counter.labels(venue=venue)
            for kind in DEAD_LETTER_KINDS:
                self.dead_letters.labels(venue=venue, kind=kind)


class LoaderMetrics:
    """What the loader counts."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.rows = Counter("tradegraph_loader_rows", "Ticks inserted into the store", registry=r)
        self.batches = Counter("tradegraph_loader_batches", "Batches inserted", registry=r)
        self.batch_seconds = Histogram(
            "tradegraph_loader_batch_seconds",
            "Insert + commit time of a batch",
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.insert_failures = Counter(
            "tradegraph_loader_insert_failures", "Inserts that failed and will be retried", registry=r
        )
        self.pending_rows = Gauge(
            "tradegraph_loader_pending_rows", "Ticks held waiting for insert", registry=r
        )
        self.dead_letters = Counter("tradegraph_loader_dead_letters", "Undecodable records", registry=r)
        self.bus_failures = Counter(
            "tradegraph_loader_bus_failures",
            "Polls and commits the bus failed (e.g. broker unreachable); the loader tries again",
            ["operation"],
            registry=r,
        )
        # Records, not ticks (a record packs up to 2,000 ticks). Exact on the embedded bus; on Kafka from
        # the high watermarks of the last fetches, which Tansu reports wrongly (trust its trend only).
        self.consumer_lag = Gauge(
            "tradegraph_loader_consumer_lag_records",
            "Records on the loader's topics not yet polled (NaN: unknown, e.g. before the group joined)",
            registry=r,
        )
        self.heartbeat = Gauge(
            "tradegraph_loader_heartbeat_timestamp_seconds", "Last heartbeat (unix seconds)", registry=r
        )
        for operation in ("poll", "commit"):
            self.bus_failures.labels(operation=operation)


# The executor decides in well under a millisecond a bar: finer buckets at the low end.
_DECISION_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)
_STATE_VALUES = {"ACTIVE": 0, "REDUCING": 1, "HALTED": 2}


class ExecutorMetrics:
    """What the paper executor counts, and the ``observe_*`` calls the executor makes (no logic of its own)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.ticks = Counter("tradegraph_executor_ticks", "Ticks processed", registry=r)
        self.decisions = Counter(
            "tradegraph_executor_decisions",
            "Model decisions at bar closes",
            ["symbol", "model_version"],
            registry=r,
        )
        self.orders = Counter(
            "tradegraph_executor_orders",
            "Orders admitted by the risk engine (reason: signal) or sent by the kill switch (flatten)",
            ["symbol", "model_version", "reason"],
            registry=r,
        )
        self.denials = Counter(
            "tradegraph_executor_denials", "Orders the risk engine denied", ["rule", "symbol"], registry=r
        )
        self.fills = Counter(
            "tradegraph_executor_fills", "Paper fills", ["symbol", "model_version"], registry=r
        )
        self.kill_switch_trips = Counter(
            "tradegraph_executor_kill_switch_trips", "Times the drawdown kill switch tripped", registry=r
        )
        self.trading_state = Gauge(
            "tradegraph_executor_trading_state",
            "Risk engine state: 0 ACTIVE, 1 REDUCING, 2 HALTED",
            registry=r,
        )
        self.halt_latched = Gauge(
            "tradegraph_executor_halt_latched",
            "1 while the kill switch's latch holds HALTED (until `tradegraph risk reset`)",
            registry=r,
        )
        self.position = Gauge(
            "tradegraph_executor_position", "Position per symbol (signed units)", ["symbol"], registry=r
        )
        self.equity = Gauge("tradegraph_executor_equity", "Portfolio equity at the latest prices", registry=r)
        self.last_price = Gauge(
            "tradegraph_executor_last_price",
            "Latest known price per symbol (the executor's last bar-close mark or fill)",
            ["symbol"],
            registry=r,
        )
        self.drawdown = Gauge(
            "tradegraph_executor_drawdown", "Drawdown from the equity high-water mark (fraction)", registry=r
        )
        self.model_version = Gauge(
            "tradegraph_executor_model_version",
            "Champion version traded per symbol (0: none)",
            ["symbol"],
            registry=r,
        )
        self.model_registered = Gauge(
            "tradegraph_executor_model_registered_timestamp_seconds",
            "When the champion traded per symbol was registered (unix seconds; its training's end)",
            ["symbol"],
            registry=r,
        )
        self.kill_switch_threshold = Gauge(
            "tradegraph_executor_kill_switch_drawdown_threshold",
            "Drawdown (fraction) above which marks count towards the kill switch (NaN: switch off)",
            registry=r,
        )
        self.decision_latency = Histogram(
            "tradegraph_executor_decision_latency_seconds",
            "Wall-clock time from receiving the poll that closed a bar to its decision",
            buckets=_DECISION_BUCKETS,
            registry=r,
        )
        self.checkpoint_seconds = Histogram(
            "tradegraph_executor_checkpoint_seconds",
            "Ledger writes + checkpoint + offset commit",
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.bus_failures = Counter(
            "tradegraph_executor_bus_failures",
            "Polls and commits the bus failed (e.g. broker unreachable); the executor tries again",
            ["operation"],
            registry=r,
        )
        for operation in ("poll", "commit"):
            self.bus_failures.labels(operation=operation)
        self.registry_failures = Counter(
            "tradegraph_executor_registry_failures",
            "Champion reads the model registry failed (e.g. MLflow unreachable); it trades on with its models",
            registry=r,
        )
        self.store_failures = Counter(
            "tradegraph_executor_store_failures",
            "Checkpoints the table store failed (e.g. ClickHouse unreachable); nothing committed, retried",
            registry=r,
        )

    def start(self, limits: RiskLimits, symbols: Iterable[str]) -> None:
        """Set the kill-switch threshold from ``limits`` and create every denial rule's counter per symbol
        with 0 (a rule that never denied is a flat 0 on the dashboard, not a missing series)."""
        threshold = limits.kill_switch_drawdown
        self.kill_switch_threshold.set(math.nan if threshold is None else threshold)
        for symbol in symbols:
            for rule in Rule:
                self.denials.labels(str(rule), symbol)

    def observe_decisions(self, decisions: Sequence[Decision], latencies_s: Sequence[float]) -> None:
        """Count ``decisions`` and their orders and denials; ``latencies_s`` holds, per decision, the time
        from receiving the poll that closed its bar to the decision."""
        if len(latencies_s) != len(decisions):
            raise ValueError(f"{len(latencies_s)} latencies for {len(decisions)} decisions")
        for decision, latency_s in zip(decisions, latencies_s, strict=True):
            self.decisions.labels(decision.symbol, decision.model_version).inc()
            self.decision_latency.observe(latency_s)
            if decision.order is None:
                continue
            if decision.action == "denied":
                self.denials.labels(decision.rule or "", decision.symbol).inc()
            else:
                self.observe_orders((decision.order,))

    def observe_orders(self, orders: Iterable[Order]) -> None:
        """Count orders sent to the broker."""
        for order in orders:
            self.orders.labels(order.symbol, order.model_version, order.reason).inc()

    def observe_fills(self, fills: Iterable[Fill]) -> None:
        """Count ``fills``."""
        for fill in fills:
            self.fills.labels(fill.symbol, fill.model_version).inc()

    def observe_state(self, portfolio: Portfolio, risk: RiskEngine, symbols: Iterable[str]) -> None:
        """Set the positions of ``symbols``, the equity, drawdown and trading-state gauges."""
        for symbol in symbols:
            self.position.labels(symbol).set(portfolio.quantity(symbol))
            price = portfolio.last_price(symbol)
            if price is not None:
                self.last_price.labels(symbol).set(price)
        equity = portfolio.equity()
        hwm = portfolio.high_water_mark
        self.equity.set(equity)
        self.drawdown.set(max(0.0, (hwm - equity) / hwm) if hwm else 0.0)
        self.trading_state.set(_STATE_VALUES[str(risk.state)])
        self.halt_latched.set(1 if risk.latched else 0)

    def observe_models(self, core: ExecutionCore, symbols: Iterable[str]) -> None:
        """Set the model version traded per symbol (a non-numeric version shows as -1)."""
        for symbol in symbols:
            loaded = core.model(symbol)
            version = "0" if loaded is None else loaded.version
            self.model_version.labels(symbol).set(int(version) if version.isdigit() else -1)
            if loaded is None:
                continue
            if loaded.registered_ms:
                self.model_registered.labels(symbol).set(loaded.registered_ms / 1000)
            # The new version's counters start at 0, so its rates exist before its first decision.
            self.decisions.labels(symbol, loaded.version)
            self.fills.labels(symbol, loaded.version)
            for reason in ("signal", "flatten"):
                self.orders.labels(symbol, loaded.version, reason)


class DiskSpaceCollector(Collector):
    """The size and free space of the file system holding ``path``, read at each scrape."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            usage = shutil.disk_usage(self.path)
        except OSError as exc:  # the folder is gone or unreadable: no sample (the alert then sees none)
            log.warning("disk usage of %s unreadable: %s", self.path, exc)
            return
        yield GaugeMetricFamily(
            "tradegraph_data_disk_free_bytes",
            "Bytes free (for this user) on the file system of the service's data folder",
            value=usage.free,
        )
        yield GaugeMetricFamily(
            "tradegraph_data_disk_size_bytes",
            "Size in bytes of the file system of the service's data folder",
            value=usage.total,
        )


def add_process_collectors(registry: CollectorRegistry, data_dir: Path | None = None) -> None:
    """Add the process's memory, CPU and open files (``process_*``) to ``registry`` and, with
    ``data_dir``, the free space of its file system (``tradegraph_data_disk_*``)."""
    ProcessCollector(registry=registry)
    if data_dir is not None:
        registry.register(DiskSpaceCollector(data_dir))


def serve_metrics(
    registry: CollectorRegistry, port: int, host: str = "127.0.0.1", *, data_dir: Path | None = None
) -> None:
    """Expose ``registry`` with the process collectors (:func:`add_process_collectors`) on
    ``http://host:port/metrics`` from a daemon thread."""
    add_process_collectors(registry, data_dir)
    start_http_server(port, addr=host, registry=registry)
    log.info("metrics on http://%s:%d/metrics", host, port)
