"""The executor's Prometheus metrics, read from its registry after an in-process run on the embedded bus:
they count what the executor's stats and steps say it did, and show its portfolio, risk state and model."""

from __future__ import annotations

import collections
import datetime as dt
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from resources.bus.embedded import EmbeddedTickBus
from resources.model_registry.base import ModelRegistry
from resources.model_registry.factory import ModelRegistryConfig, open_model_registry
from resources.table_store.embedded import EmbeddedTableStore
from tests.trading_assets.services.test_executor import SYMBOL, _publish, _register_champion
from trading_assets.core.time import day_start_us
from trading_assets.execution.decisions import Step
from trading_assets.market.simulation import MarketConfig, MarketSimulator
from trading_assets.services.executor import Executor, ExecutorConfig
from trading_assets.services.metrics import ExecutorMetrics
from trading_assets.trading.risk_state import RiskLimits, Rule

DAY = dt.date(2026, 3, 2)


@pytest.fixture(scope="module")
def trading_day(tmp_path_factory: pytest.TempPathFactory) -> tuple[pa.Table, ModelRegistry]:
    """The ticks of a trading day of a trending symbol, and a registry whose champion trained on the day
    before (the setup of test_executor.py)."""
    config = MarketConfig(
        symbols=(SYMBOL,), trades_per_second=40_000 / 86_400, trend=((SYMBOL, 0.1),), seed=11
    )
    ticks = MarketSimulator(config=config, start_us=day_start_us(DAY - dt.timedelta(days=1))).generate(80_000)
    split = day_start_us(DAY)
    root = tmp_path_factory.mktemp("registry")
    registry = open_model_registry(ModelRegistryConfig(tracking_uri=f"sqlite:///{root / 'mlflow.db'}"))
    _register_champion(registry, ticks.filter(pc.less(ticks["trade_time_us"], split)))
    return ticks.filter(pc.greater_equal(ticks["trade_time_us"], split)), registry


def _run(
    tmp_path: Path, trading_day: tuple[pa.Table, ModelRegistry], limits: RiskLimits
) -> tuple[Executor, ExecutorMetrics, list[Step]]:
    """Run an executor with metrics over the whole day (checkpoints every 5 polls); its steps."""
    ticks, registry = trading_day
    bus = EmbeddedTickBus()
    _publish(bus, ticks)
    metrics = ExecutorMetrics()
    config = ExecutorConfig(
        symbols=(SYMBOL,), checkpoint_s=1e9, poll_timeout_s=0.01, max_records=3, limits=limits
    )
    executor = Executor(
        bus.consumer(group="executor", venues=["sim"]),
        registry,
        EmbeddedTableStore(tmp_path / "tables"),
        config,
        metrics=metrics,
    )
    executor.start()
    steps: list[Step] = []
    idle = polls = 0
    while idle < 3 and polls < 10_000:
        step = executor.run_once()
        polls += 1
        idle = idle + 1 if step is None else 0
        if step is not None:
            steps.append(step)
        if polls % 5 == 0:
            executor.checkpoint()
    executor.checkpoint()
    return executor, metrics, steps


def _by_labels(metrics: ExecutorMetrics, name: str, *keys: str) -> dict[tuple[str, ...], float]:
    """The samples of ``name`` summed by the values of the labels ``keys``."""
    out: dict[tuple[str, ...], float] = collections.defaultdict(float)
    for family in metrics.registry.collect():
        for sample in family.samples:
            if sample.name == name:
                out[tuple(sample.labels[k] for k in keys)] += sample.value
    return dict(out)


def _nonzero(counts: dict[tuple[str, ...], float]) -> dict[tuple[str, ...], float]:
    """The label sets that counted something (the known ones are created at 0 at start-up)."""
    return {labels: n for labels, n in counts.items() if n}


def _value(metrics: ExecutorMetrics, name: str, labels: dict[str, str] | None = None) -> float | None:
    return metrics.registry.get_sample_value(name, labels or {})


def test_the_counters_equal_what_the_executor_did_and_the_gauges_show_its_state(
    tmp_path: Path, trading_day: tuple[pa.Table, ModelRegistry]
) -> None:
    # Arrange: an order-rate throttle tight enough that some orders are denied
    limits = RiskLimits(max_orders_per_window=2, order_window_seconds=3_600.0)
    # Act
    executor, metrics, steps = _run(tmp_path, trading_day, limits)
    # Assert: counters
    stats = executor.stats
    denied = collections.Counter(d.rule for s in steps for d in s.decisions if d.action == "denied")
    assert stats.decisions > 0 and stats.fills > 0 and stats.denials > 0
    assert _value(metrics, "tradegraph_executor_ticks_total") == stats.ticks == trading_day[0].num_rows
    assert _by_labels(metrics, "tradegraph_executor_decisions_total", "symbol", "model_version") == {
        (SYMBOL, "1"): stats.decisions
    }
    assert _nonzero(_by_labels(metrics, "tradegraph_executor_orders_total", "reason")) == {
        ("signal",): stats.orders
    }
    assert _by_labels(metrics, "tradegraph_executor_fills_total", "symbol", "model_version") == {
        (SYMBOL, "1"): stats.fills
    }
    assert _nonzero(_by_labels(metrics, "tradegraph_executor_denials_total", "rule")) == {
        (rule,): n for rule, n in denied.items()
    }
    # Every rule has its counter from the start, 0 when it never denied (dashboards see a flat 0).
    assert set(_by_labels(metrics, "tradegraph_executor_denials_total", "rule")) == {(r.value,) for r in Rule}
    assert set(denied) == {Rule.ORDER_RATE} and sum(denied.values()) == stats.denials
    assert _value(metrics, "tradegraph_executor_decision_latency_seconds_count") == stats.decisions
    assert _value(metrics, "tradegraph_executor_checkpoint_seconds_count") == stats.checkpoints
    # Assert: gauges
    assert _value(metrics, "tradegraph_executor_trading_state") == 0
    assert _value(metrics, "tradegraph_executor_halt_latched") == 0
    assert _value(metrics, "tradegraph_executor_equity") == pytest.approx(
        executor.portfolio.equity(), rel=1e-12
    )
    assert _value(metrics, "tradegraph_executor_position", {"symbol": SYMBOL}) == executor.portfolio.quantity(
        SYMBOL
    )
    assert _value(metrics, "tradegraph_executor_model_version", {"symbol": SYMBOL}) == 1
    assert _value(metrics, "tradegraph_executor_last_price", {"symbol": SYMBOL}) == (
        executor.portfolio.last_price(SYMBOL)
    )
    loaded = executor.core.model(SYMBOL)
    assert loaded is not None and loaded.registered_ms > 0
    assert _value(metrics, "tradegraph_executor_model_registered_timestamp_seconds", {"symbol": SYMBOL}) == (
        loaded.registered_ms / 1000
    )
    assert (
        _value(metrics, "tradegraph_executor_kill_switch_drawdown_threshold") == limits.kill_switch_drawdown
    )
    hwm = executor.portfolio.high_water_mark
    assert hwm is not None
    drawdown = _value(metrics, "tradegraph_executor_drawdown")
    assert drawdown == pytest.approx(max(0.0, (hwm - executor.portfolio.equity()) / hwm))


def test_a_tripped_kill_switch_shows_halted_latched_and_its_flatten_orders(
    tmp_path: Path, trading_day: tuple[pa.Table, ModelRegistry]
) -> None:
    # Arrange: a kill switch that trips on the first mark below the high-water mark (fees alone do it)
    limits = RiskLimits(kill_switch_drawdown=1e-9, kill_switch_marks=1)
    # Act
    executor, metrics, steps = _run(tmp_path, trading_day, limits)
    # Assert
    assert executor.risk.latched
    assert _value(metrics, "tradegraph_executor_trading_state") == 2
    assert _value(metrics, "tradegraph_executor_halt_latched") == 1
    assert _value(metrics, "tradegraph_executor_kill_switch_trips_total") == 1
    flattens = _by_labels(metrics, "tradegraph_executor_orders_total", "reason").get(("flatten",), 0)
    assert flattens == 1
    denied = collections.Counter(d.rule for s in steps for d in s.decisions if d.action == "denied")
    assert denied and set(denied) == {Rule.HALTED}
    assert _nonzero(_by_labels(metrics, "tradegraph_executor_denials_total", "rule")) == {
        (Rule.HALTED.value,): executor.stats.denials
    }
    assert _value(metrics, "tradegraph_executor_kill_switch_drawdown_threshold") == 1e-9
    assert (
        _value(metrics, "tradegraph_executor_position", {"symbol": SYMBOL})
        == executor.portfolio.quantity(SYMBOL)
        == 0
    )


def test_polls_and_commits_the_bus_fails_are_counted_and_the_executor_keeps_running(
    tmp_path: Path, trading_day: tuple[pa.Table, ModelRegistry]
) -> None:
    # Arrange: an executor whose consumer has left the bus, so its polls and commits fail with BusError
    # (the broker outage itself is caused in tests/faults/test_executor_broker_outage.py)
    _ticks, registry = trading_day
    consumer = EmbeddedTickBus().consumer(group="executor", venues=["sim"])
    metrics = ExecutorMetrics()
    config = ExecutorConfig(symbols=(SYMBOL,), checkpoint_s=1e9, bus_retry_s=0.0)
    executor = Executor(consumer, registry, EmbeddedTableStore(tmp_path / "tables"), config, metrics=metrics)
    executor.start()
    consumer.close()

    # Act
    step = executor.run_once()
    executor.checkpoint()

    # Assert: nothing raised; the checkpoint was stored, only its commit failed; both failures counted
    assert step is None
    assert executor.stats.bus_failures == 2
    assert executor.stats.checkpoints == 1
    for operation in ("poll", "commit"):
        labels = {"operation": operation}
        assert _value(metrics, "tradegraph_executor_bus_failures_total", labels) == 1.0, operation
