"""Prometheus metrics of the long-running services, each set in its own registry (nothing global at import).

Names are what docker/grafana/dashboards/tradegraph.json plots; change both together.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

if TYPE_CHECKING:
    from trading_assets.execution.core import Decision, ExecutionCore
    from trading_assets.trading.orders import Fill, Order
    from trading_assets.trading.portfolio import Portfolio
    from trading_assets.trading.risk import RiskEngine

log = logging.getLogger(__name__)

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


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
        self.drawdown = Gauge(
            "tradegraph_executor_drawdown", "Drawdown from the equity high-water mark (fraction)", registry=r
        )
        self.model_version = Gauge(
            "tradegraph_executor_model_version",
            "Champion version traded per symbol (0: none)",
            ["symbol"],
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


def serve_metrics(registry: CollectorRegistry, port: int, host: str = "127.0.0.1") -> None:
    """Expose ``registry`` on ``http://host:port/metrics`` from a daemon thread."""
    start_http_server(port, addr=host, registry=registry)
    log.info("metrics on http://%s:%d/metrics", host, port)
