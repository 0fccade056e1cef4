"""Kill -9 the paper executor at random points and restart it: the ledger ends as an uninterrupted run's.

A real ``tradegraph execute`` process reads the first hours of a trending trading day from its own Tansu
broker, published by this test while the executor runs (one tick per record, so a poll is a few bars
and the executor checkpoints every poll or two; the last part only after the last kill, so every kill
lands mid-stream). It trades a champion registered in a sqlite MLflow registry and keeps its ledger and
checkpoint in the embedded table store of its TRADEGRAPH_HOME. It checkpoints every 0.5 s and dies five
times, in this order:

- SIGKILL from outside a seeded random 0.05..1.5 s after joining its group (between checkpoints or in one),
- at the failpoint ``executor.after_ledger`` (a checkpoint's new fills are in the ledger; the checkpoint
  and the offset commit are not),
- SIGKILL right after a checkpoint file was replaced (between the checkpoint and the commit, or just after),
- at the failpoint ``executor.before_commit`` (new fills and the checkpoint stored; offsets not committed),
- SIGKILL a seeded random time after joining again.

Each time it is started again; the last run goes on until its group has committed the end of the topic,
then stops on SIGTERM. The ledger must then equal that of the in-process executor over the embedded bus on
the same ticks (the reference, as in tests/trading_assets/services/test_executor.py): the same fills in
the same order with equal time, side, quantity, price, fee and model version, no fill id twice, the same
orders and equity rows, the same cash and positions (the fills replayed into a Portfolio, and the last
checkpoint's portfolio), and the same risk state (latch, high-water mark).
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
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
from trading_assets.execution.checkpoint import checkpoint_table
from trading_assets.execution.ledger import Ledger

pytestmark = pytest.mark.slow

SEED = 20260302
CHECKPOINT_S = 0.5
RUN_S = 150  # --duration of every run: a bound, never reached when the test works


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[KafkaBroker]:
    """A Tansu broker of this test only (the group and topic names are those of every executor)."""
    with KafkaBroker(tmp_path / "tansu") as started:
        yield started  # type: ignore[misc]


def _mtime_ns(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except FileNotFoundError:
        return 0


def _wait_new_checkpoint(checkpoints: Path, timeout_s: float = 20.0) -> None:
    """Wait until a checkpoint file is replaced (the executor has just stored a checkpoint)."""

    def newest() -> int:
        return max((_mtime_ns(path) for path in checkpoints.glob("day=*/part.parquet")), default=0)

    before, deadline = newest(), time.monotonic() + timeout_s
    while newest() == before:
        assert time.monotonic() < deadline, f"no checkpoint stored within {timeout_s} s"
        time.sleep(0.002)


# --- the test ----------------------------------------------------------------------------------------


def test_executor_sigkilled_at_random_points_ends_with_the_uninterrupted_ledger(
    tmp_path: Path,
    market: tuple[pa.Table, pa.Table],
    registry: ModelRegistry,
    reference: Outcome,
    broker: KafkaBroker,
) -> None:
    # Arrange: the day goes onto the broker at a steady pace while the executor runs and dies
    rng = np.random.default_rng(SEED)
    home = tmp_path / "home"
    env = executor_env(home, broker.bootstrap, registry)
    args = ["execute", "--duration", str(RUN_S), "--checkpoint-seconds", str(CHECKPOINT_S)]
    executor = TradegraphProcess(tmp_path / "executor", name="executor", args=args, env=env, service=None)
    checkpoints = home / "tables" / checkpoint_table("default").name
    processes = Processes()
    deaths: list[str] = []
    publisher = Publisher(broker.bootstrap, market[1])

    def stored_fills() -> int:
        return len(Ledger(EmbeddedTableStore(home / "tables")).load(2**62).fills)

    def start(failpoint: str | None = None) -> int:
        executor.env = {**env, "TRADEGRAPH_FAILPOINTS": f"{failpoint}"} if failpoint else dict(env)
        offset = executor.log_path.stat().st_size if executor.log_path.exists() else 0
        if executor in processes:
            executor.start()
        else:
            processes.start(executor)
        return offset

    try:
        publisher.start()
        kills = [
            "random",
            "executor.after_ledger=1",
            "after_checkpoint",
            "executor.before_commit=1",
            "random",
        ]
        for kill in kills:
            if kill.startswith("executor."):
                # A failpoint: the run dies by itself between a checkpoint's stored fills and its commit
                offset = start(kill)
                exit_code = executor.wait_exit(timeout_s=90)
                name = kill.partition("=")[0]
                assert exit_code == -signal.SIGKILL, (
                    f"the executor did not die at {kill}: exit {exit_code}\n{processes.diagnostics(40)}"
                )
                assert log_lines(executor.log_path, rf"failpoint {name} reached", offset=offset)
                executor.forget()
            else:
                # A SIGKILL from outside, a seeded random time after joining or right after a checkpoint
                offset = start()
                wait_joined(executor, offset)
                if kill == "random":
                    delay = float(rng.uniform(0.05, 3 * CHECKPOINT_S))
                    time.sleep(delay)
                    kill = f"SIGKILL {delay:.2f} s after joining"
                else:
                    _wait_new_checkpoint(checkpoints)
                    kill = "SIGKILL right after a checkpoint"
                executor.sigkill()
            deaths.append(f"{kill}: {stored_fills()} fills stored, {publisher.published} ticks published")
        assert publisher.is_alive() and publisher.published < market[1].num_rows, "a kill came after the end"
        # The last run: the rest of the slice; it ends once its group committed the end of the topic
        start()
        run_to_the_end(publisher, executor, broker.bootstrap, processes)
    finally:
        try:
            processes.close()
        finally:
            publisher.stop()

    # Assert: the ledger of the killed and restarted executor is the uninterrupted run's
    got = outcome(EmbeddedTableStore(home / "tables"), "default")
    context = f"deaths: {deaths}\n{processes.diagnostics(40)}"
    print("executor deaths:", *deaths, sep="\n  ")
    assert len(deaths) == 5
    assert_same_ledger(got, reference, context)
