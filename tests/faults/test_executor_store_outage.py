"""Stop ClickHouse under a trading executor that keeps its ledger and checkpoint there, and start it again:
the executor trades on, its checkpoints while the server is down store and commit nothing (counted and
logged), the first one after the restart writes everything, and the ledger ends as a run's that the
outage never touched, with no row twice.

The executor runs in process over the embedded bus with a real ClickHouse server of its own as the table
store; the test stops the server (SIGTERM) halfway through the trading day and starts it again on the
same ports and data.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pyarrow as pa
import pytest

from resources.bus.embedded import EmbeddedTickBus
from resources.model_registry.base import ModelRegistry
from resources.table_store.factory import TableStoreConfig, open_table_store
from testkit.servers import ClickHouseServer
from tests.faults.executor_run import (
    GROUP,
    PUBLISH_ROWS,
    SYMBOL,
    VENUE,
    Outcome,
    assert_same_ledger,
    outcome,
)
from trading_assets.services.executor import Executor, ExecutorConfig
from trading_assets.services.metrics import ExecutorMetrics

pytestmark = pytest.mark.slow

POLLS_PER_CHECKPOINT = 5


def _publish(bus: EmbeddedTickBus, ticks: pa.Table) -> None:
    for start in range(0, ticks.num_rows, PUBLISH_ROWS):
        bus.publish(ticks.slice(start, PUBLISH_ROWS))
    bus.flush()


def _drain(executor: Executor) -> None:
    """Run until the bus has been idle for three polls in a row, checkpointing every few polls."""
    idle = polls = 0
    while idle < 3:
        idle = idle + 1 if executor.run_once() is None else 0
        polls += 1
        if polls % POLLS_PER_CHECKPOINT == 0:
            executor.checkpoint()


def test_executor_trades_on_through_a_store_outage_and_ends_with_the_uninterrupted_ledger(
    tmp_path: Path,
    market: tuple[pa.Table, pa.Table],
    registry: ModelRegistry,
    reference: Outcome,
    own_clickhouse: ClickHouseServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Arrange: the first half of the day traded and checkpointed into ClickHouse
    day = market[1]
    half = day.num_rows // 2
    config = ExecutorConfig(
        symbols=(SYMBOL,), venues=(VENUE,), checkpoint_s=1e9, poll_timeout_s=0.01, max_records=3
    )
    store_config = TableStoreConfig(kind="clickhouse", clickhouse_url=own_clickhouse.url)
    bus = EmbeddedTickBus()
    metrics = ExecutorMetrics()
    with open_table_store(store_config) as store:
        executor = Executor(
            bus.consumer(group=GROUP, venues=[VENUE]), registry, store, config, metrics=metrics
        )
        executor.start()
        _publish(bus, day.slice(0, half))
        _drain(executor)
        checkpoints_before = executor.stats.checkpoints

        # Act: the second half arrives and is traded while ClickHouse is down; then it comes back
        own_clickhouse.stop()
        _publish(bus, day.slice(half))
        with caplog.at_level(logging.WARNING, logger="trading_assets.services.executor"):
            _drain(executor)
        failures_while_down = executor.stats.store_failures
        checkpoints_while_down = executor.stats.checkpoints - checkpoints_before
        own_clickhouse.start()
        executor.checkpoint()

        # Assert: the checkpoints while down failed visibly and committed nothing; the one after the
        # restart stored everything (the ledger is the uninterrupted run's, no row twice)
        assert failures_while_down >= 1 and checkpoints_while_down == 0
        assert (
            metrics.registry.get_sample_value("tradegraph_executor_store_failures_total")
            == failures_while_down
        )
        assert any("nothing committed" in r.getMessage() for r in caplog.records)
        assert executor.stats.ticks == day.num_rows
        assert executor.stats.store_failures == failures_while_down
        assert_same_ledger(
            outcome(store, config.instance), reference, f"{failures_while_down} failed checkpoints"
        )
