"""The executor service over the embedded bus, a sqlite model registry and the embedded table store:
the champion's signals become fills in the ledger, and a crash between checkpoints, resumed by a new
executor, ends with the same ledger as an uninterrupted run and no fill twice."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from resources.bus.base import TickBus
from resources.bus.embedded import EmbeddedTickBus
from resources.bus.kafka import KafkaTickBus
from resources.model_registry.base import ModelRegistry
from resources.model_registry.factory import ModelRegistryConfig, open_model_registry
from resources.table_store.embedded import EmbeddedTableStore
from testkit.champions import register_champion
from testkit.servers import KafkaBroker
from trading_assets.cli import main
from trading_assets.core.time import day_start_us
from trading_assets.execution.ledger import Ledger
from trading_assets.market.simulation import MarketConfig, MarketSimulator
from trading_assets.services.executor import Executor, ExecutorConfig

SYMBOL = "BTCUSDT"
DAY = dt.date(2026, 3, 2)
BATCH = 1_000


@pytest.fixture(scope="module")
def market() -> tuple[pa.Table, pa.Table]:
    """A training day and a trading day of a trending symbol (ticks of each)."""
    config = MarketConfig(
        symbols=(SYMBOL,), trades_per_second=40_000 / 86_400, trend=((SYMBOL, 0.1),), seed=11
    )
    ticks = MarketSimulator(config=config, start_us=day_start_us(DAY - dt.timedelta(days=1))).generate(80_000)
    split = day_start_us(DAY)
    before = ticks.filter(pc.less(ticks["trade_time_us"], split))
    return before, ticks.filter(pc.greater_equal(ticks["trade_time_us"], split))


def _register_champion(registry: ModelRegistry, training_ticks: pa.Table) -> None:
    register_champion(registry, training_ticks, SYMBOL)


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory, market: tuple[pa.Table, pa.Table]) -> ModelRegistry:
    root = tmp_path_factory.mktemp("registry")
    opened = open_model_registry(ModelRegistryConfig(tracking_uri=f"sqlite:///{root / 'mlflow.db'}"))
    _register_champion(opened, market[0])
    return opened


def _publish(bus: TickBus, ticks: pa.Table) -> None:
    for start in range(0, ticks.num_rows, BATCH):
        bus.publish(ticks.slice(start, BATCH))
    bus.flush()


def _drain(executor: Executor, *, checkpoint_every: int = 0, stop_after_polls: int | None = None) -> None:
    """Poll until the bus is idle; checkpoint every ``checkpoint_every`` polls; stop (a crash: what was
    not checkpointed is lost) after ``stop_after_polls``."""
    idle = polls = 0
    while idle < 3:
        step = executor.run_once()
        idle = idle + 1 if step is None else 0
        polls += 1
        if stop_after_polls is not None and polls >= stop_after_polls:
            return
        if checkpoint_every and polls % checkpoint_every == 0:
            executor.checkpoint()


def _config() -> ExecutorConfig:
    # Checkpoints only when the test says so.
    return ExecutorConfig(symbols=(SYMBOL,), checkpoint_s=1e9, poll_timeout_s=0.01, max_records=3)


def _ledger_fills(store: EmbeddedTableStore) -> list[tuple]:
    state = Ledger(store).load(2**62)
    return [(f.fill_id, f.time_us, f.side, f.quantity, f.price, f.fee, f.model_version) for f in state.fills]


def test_the_champion_trades_and_every_fill_is_in_the_ledger(
    tmp_path: Path, market: tuple[pa.Table, pa.Table], registry: ModelRegistry
) -> None:
    bus = EmbeddedTickBus()
    _publish(bus, market[1])
    store = EmbeddedTableStore(tmp_path / "tables")
    executor = Executor(bus.consumer(group="executor", venues=["sim"]), registry, store, _config())
    executor.start()
    _drain(executor)
    executor.checkpoint()
    fills = _ledger_fills(store)
    assert executor.stats.ticks == market[1].num_rows
    assert fills and len(fills) == executor.stats.fills
    assert {fill[-1] for fill in fills} == {1}
    assert len({fill[0] for fill in fills}) == len(fills)
    equity = Ledger(store).load(2**62).equity
    assert equity is not None and equity.equity == pytest.approx(executor.portfolio.equity())


def test_a_crash_between_checkpoints_resumes_to_the_same_ledger(
    tmp_path: Path, market: tuple[pa.Table, pa.Table], registry: ModelRegistry
) -> None:
    # Arrange: the uninterrupted run
    bus = EmbeddedTickBus()
    _publish(bus, market[1])
    whole = EmbeddedTableStore(tmp_path / "whole")
    uninterrupted = Executor(bus.consumer(group="a", venues=["sim"]), registry, whole, _config())
    uninterrupted.start()
    _drain(uninterrupted)
    uninterrupted.checkpoint()
    # Act: a run that dies twice without its last checkpoint (uncommitted polls are redelivered); its own
    # bus, as the embedded bus forgets what every group it knows has committed
    bus = EmbeddedTickBus()
    _publish(bus, market[1])
    crashed = EmbeddedTableStore(tmp_path / "crashed")
    rng = np.random.default_rng(5)
    for stop in rng.integers(4, 8, size=2):
        consumer = bus.consumer(group="b", venues=["sim"])
        first = Executor(consumer, registry, crashed, _config())
        first.start()
        # Dies between checkpoints: the polls since the last one are lost, and redelivered.
        _drain(first, checkpoint_every=3, stop_after_polls=int(stop))
        consumer.close()  # leaves the group without committing
    last = Executor(bus.consumer(group="b", venues=["sim"]), registry, crashed, _config())
    last.start()
    _drain(last, checkpoint_every=3)
    last.checkpoint()
    # Assert
    assert _ledger_fills(crashed) == _ledger_fills(whole)
    assert last.portfolio.cash == pytest.approx(uninterrupted.portfolio.cash, rel=1e-12)


def test_tradegraph_execute_on_kafka_makes_the_same_fills_as_on_the_embedded_bus(
    tmp_path: Path,
    market: tuple[pa.Table, pa.Table],
    registry: ModelRegistry,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Arrange: the trading day on the embedded bus (the reference run) and on a real Kafka-protocol broker
    # of this test's own (the session's broker carries other tests' ticks of the same venue)
    embedded = EmbeddedTickBus()
    _publish(embedded, market[1])
    expected = EmbeddedTableStore(tmp_path / "expected")
    reference = Executor(embedded.consumer(group="executor", venues=["sim"]), registry, expected, _config())
    reference.start()
    _drain(reference)
    reference.checkpoint()
    with KafkaBroker(tmp_path / "tansu") as broker:
        kafka = KafkaTickBus(broker.bootstrap)
        _publish(kafka, market[1])
        kafka.close()
        for name, value in {
            "TRADEGRAPH_HOME": str(tmp_path / "home"),
            "TRADEGRAPH_BUS": "kafka",
            "TRADEGRAPH_KAFKA_BOOTSTRAP": broker.bootstrap,
            "TRADEGRAPH_MLFLOW_URI": registry.tracking_uri,
            "TRADEGRAPH_SYMBOLS": SYMBOL,
            "TRADEGRAPH_VENUES": "sim",
        }.items():
            monkeypatch.setenv(name, value)
        # Act: the command, for a bounded time (the group join on Tansu takes a few seconds)
        assert main(["execute", "--duration", "30", "--checkpoint-seconds", "1"]) == 0
    # Assert
    out = capsys.readouterr().out
    assert f"{market[1].num_rows:,} ticks" in out, out
    assert _ledger_fills(EmbeddedTableStore(tmp_path / "home" / "tables")) == _ledger_fills(expected), out
