"""Stop the MLflow server under a trading executor and start it again: the executor trades on with the
champion it has loaded, counts and logs every champion read that failed, reads again once the server is
back, and its ledger ends as a run's that the outage never touched.

The executor runs in process over the embedded bus (the broker's outage is
test_executor_broker_outage.py) and reads its champion from a real ``mlflow server`` on sqlite, which the
test stops (SIGTERM) halfway through the trading day and starts again on the same port and database.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pyarrow as pa
import pytest

from resources.bus.embedded import EmbeddedTickBus
from resources.model_registry.factory import ModelRegistryConfig, open_model_registry
from resources.table_store.embedded import EmbeddedTableStore
from testkit.champions import register_champion
from testkit.servers import MlflowServer
from tests.faults.executor_run import (
    GROUP,
    PUBLISH_ROWS,
    SYMBOL,
    VENUE,
    assert_same_ledger,
    outcome,
    uninterrupted,
)
from trading_assets.services.executor import Executor, ExecutorConfig
from trading_assets.services.metrics import ExecutorMetrics

pytestmark = pytest.mark.slow

MODEL_POLL_S = 0.5  # the executor reads its champion from the registry this often


def _publish(bus: EmbeddedTickBus, ticks: pa.Table) -> None:
    for start in range(0, ticks.num_rows, PUBLISH_ROWS):
        bus.publish(ticks.slice(start, PUBLISH_ROWS))
    bus.flush()


def _drain(executor: Executor) -> None:
    """Run until the bus has been idle for three polls in a row."""
    idle = 0
    while idle < 3:
        idle = idle + 1 if executor.run_once() is None else 0


def test_executor_trades_on_through_a_registry_outage_and_ends_with_the_uninterrupted_ledger(
    tmp_path: Path, market: tuple[pa.Table, pa.Table], caplog: pytest.LogCaptureFixture
) -> None:
    # Arrange: the champion in a real MLflow server; the run the outage must not change
    with MlflowServer(tmp_path / "mlflow") as server:
        registry = open_model_registry(ModelRegistryConfig(tracking_uri=server.tracking_uri))
        register_champion(registry, market[0], SYMBOL)
        reference = uninterrupted(tmp_path / "reference", market[1], registry)
        day = market[1]
        half = day.num_rows // 2
        bus = EmbeddedTickBus()
        store = EmbeddedTableStore(tmp_path / "tables")
        config = ExecutorConfig(
            symbols=(SYMBOL,),
            venues=(VENUE,),
            checkpoint_s=1e9,
            poll_timeout_s=0.01,
            model_poll_s=MODEL_POLL_S,
        )
        metrics = ExecutorMetrics()
        executor = Executor(
            bus.consumer(group=GROUP, venues=[VENUE]), registry, store, config, metrics=metrics
        )
        executor.start()
        _publish(bus, day.slice(0, half))
        _drain(executor)

        # Act: stop the server; the second half of the day arrives while it is down; start it again
        server.stop()
        time.sleep(MODEL_POLL_S)  # a champion read is due
        _publish(bus, day.slice(half))
        with caplog.at_level(logging.WARNING, logger="trading_assets.services.executor"):
            _drain(executor)
        failures_while_down = executor.stats.registry_failures
        traded_while_down = executor.stats.ticks
        server.start()
        time.sleep(MODEL_POLL_S)
        executor.run_once()  # reads the champion again
        executor.checkpoint()

    # Assert: failed reads counted and logged, every tick traded, the read after the restart succeeded,
    # the champion kept, and the ledger is the uninterrupted run's
    assert failures_while_down >= 1
    assert any("trading on with the models loaded" in r.getMessage() for r in caplog.records)
    assert traded_while_down == day.num_rows
    assert executor.stats.registry_failures == failures_while_down
    counted = metrics.registry.get_sample_value("tradegraph_executor_registry_failures_total")
    assert counted == failures_while_down
    loaded = executor.core.model(SYMBOL)
    assert loaded is not None and loaded.version == "1"
    assert_same_ledger(outcome(store, config.instance), reference, f"{failures_while_down} failed reads")
