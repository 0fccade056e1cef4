"""Kill the broker under a running paper executor and start it again 20 s later: the executor rides it out
(the same process, never restarted) and its ledger ends as an uninterrupted run's.

A real ``tradegraph execute`` reads the first hours of a trending trading day from a Tansu broker whose
topics, records and group offsets live in S3 (moto), so they survive the broker's restart as a Kafka
broker's log directory does (a broker on memory storage forgets acknowledged records, which no client
can recover from). The broker dies while the executor, caught up, checkpoints every half second: the
outage outlasts the bus's 15 s request timeout, so its offset commits fail. It must count and log the
failures, keep trading, and once the broker is back, commit the rest of the day. Runs on both Kafka
clients of the bus (TRADEGRAPH_KAFKA_CLIENT).
"""

from __future__ import annotations

import time
from pathlib import Path

import pyarrow as pa
import pytest

from resources.model_registry.base import ModelRegistry
from resources.table_store.embedded import EmbeddedTableStore
from testkit.harness import Processes, TradegraphProcess, log_lines
from testkit.servers import KafkaBroker
from tests.faults.executor_run import (
    Outcome,
    Publisher,
    assert_same_ledger,
    executor_env,
    outcome,
    run_to_the_end,
    wait_joined,
)

pytestmark = pytest.mark.slow

CHECKPOINT_S = 0.5
OUTAGE_S = 20.0  # longer than the bus's request timeout (15 s): a commit waiting for the broker gives up
RUN_S = 300  # --duration: a bound, never reached when the test works


@pytest.mark.parametrize("kafka_client", ["kafka-python", "confluent"])
def test_executor_rides_out_a_broker_restart_and_ends_with_the_uninterrupted_ledger(
    tmp_path: Path,
    market: tuple[pa.Table, pa.Table],
    registry: ModelRegistry,
    reference: Outcome,
    durable_broker: KafkaBroker,
    kafka_client: str,
) -> None:
    # Arrange: most of the day goes onto the broker while the executor trades it
    home = tmp_path / "home"
    env = executor_env(home, durable_broker.bootstrap, registry) | {"TRADEGRAPH_KAFKA_CLIENT": kafka_client}
    args = ["execute", "--duration", str(RUN_S), "--checkpoint-seconds", str(CHECKPOINT_S)]
    executor = TradegraphProcess(tmp_path / "executor", name="executor", args=args, env=env, service=None)
    processes = Processes()
    publisher = Publisher(durable_broker.bootstrap, market[1])
    try:
        processes.start(executor)
        wait_joined(executor, offset=0)
        publisher.start()
        assert publisher.held.wait(timeout=180), f"published only {publisher.published} ticks in 180 s"

        # Act: SIGKILL the broker, keep it down past the request timeout, start it on the same port and
        # storage; then publish the rest of the day and let the executor commit its end
        durable_broker.kill()
        time.sleep(OUTAGE_S)
        assert executor.exit_code is None, (
            f"the executor exited ({executor.exit_code}) during the broker's outage\n{processes.diagnostics(40)}"
        )
        durable_broker.start()
        run_to_the_end(publisher, executor, durable_broker.bootstrap, processes)
    finally:
        try:
            processes.close()
        finally:
            publisher.stop()

    # Assert: one process throughout, which saw the outage and kept going, and the uninterrupted ledger
    context = processes.diagnostics(40)
    assert len(log_lines(executor.log_path, r"executor \w+: [\d,]+ ticks")) == 1, context
    assert log_lines(executor.log_path, r"bus commit failed .*keeps running"), (
        f"no failed commit logged: the outage did not reach the executor\n{context}"
    )
    got = outcome(EmbeddedTableStore(home / "tables"), "default")
    assert_same_ledger(got, reference, context)
