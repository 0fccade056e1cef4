"""Faults on the embedded path: ``tradegraph run`` (streamer and loader in one process, in-process bus,
Parquet tick store) as a real process. Each test ends with the same store check as the Kafka path:
every trade id the exchange generated is in the store exactly once after sealing."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from resources.tick_store.factory import TickStoreConfig, open_tick_store
from testkit.exchange_sim import ExchangeSimProcess
from testkit.harness import (
    SYMBOLS,
    Processes,
    TradegraphProcess,
    assert_every_trade_stored_once,
    expected_last_ids,
    seed_streamer_state,
    sim_args,
    wait_caught_up,
    wait_finished,
    wait_generated,
)
from tests.faults.run import embedded_run_env

pytestmark = pytest.mark.slow


def test_run_with_exchange_faults_stores_every_trade_once(tmp_path: Path, processes: Processes) -> None:
    # Arrange: the exchange inside `tradegraph run`, with every fault it can inject
    home = tmp_path / "home"
    run = TradegraphProcess(
        tmp_path / "run",
        name="run",
        service=None,
        env=embedded_run_env(home),
        args=[
            "run",
            "--rate",
            "5000",
            "--max-trades",
            "30000",
            "--drop-every",
            "1.5",
            "--p-duplicate",
            "0.01",
            "--p-reorder",
            "0.01",
            "--p-skip",
            "0.005",
            "--p-garbage",
            "0.002",
        ],
    )

    # Act: it ends by itself once every trade the exchange generated is stored
    processes.start(run)
    exit_code = run.wait_exit(timeout_s=120)
    output = run.log_path.read_text()

    # Assert
    assert exit_code == 0, processes.diagnostics()
    last_ids = {
        m[1]: int(m[3].replace(",", ""))
        for m in re.finditer(r"sim (\w+) +trade ids ([\d,]+)\.\.([\d,]+)", output)
        if m[2] == "1"
    }
    faults = re.search(
        r"skipped ([\d,]+) +duplicated ([\d,]+) +reordered ([\d,]+) +garbage ([\d,]+) +"
        r"connection drops ([\d,]+)",
        output,
    )
    dead_letters = re.search(r"dead letters ([\d,]+)", output)
    assert faults and dead_letters and set(last_ids) == set(SYMBOLS), output[-3000:]
    skipped, duplicated, reordered, garbage, drops = (int(g.replace(",", "")) for g in faults.groups())
    assert sum(last_ids.values()) == 30_000 and min(skipped, duplicated, reordered, garbage, drops) > 0
    # Garbage sent while the connection was down never arrived; everything that arrived is a dead letter.
    assert 0 < int(dead_letters[1].replace(",", "")) <= garbage
    with open_tick_store(TickStoreConfig(embedded_dir=home / "ticks")) as store:
        assert_every_trade_stored_once(store, last_ids, diagnostics=processes.diagnostics)


def test_run_sigkilled_mid_run_and_run_again_stores_every_trade_once(
    tmp_path: Path, processes: Processes
) -> None:
    # Arrange: the exchange is its own process, so it survives the kill of the ingesting process and
    # "every trade it generated" stays one well-defined set (an exchange started again by a new
    # `tradegraph run` would number its trades from 1 again: a different exchange)
    home = tmp_path / "home"
    seed_streamer_state(home)
    sim = ExchangeSimProcess(tmp_path / "sim", sim_args(rate=5_000, max_trades=30_000))
    processes.start(sim)
    env = embedded_run_env(
        home, TRADEGRAPH_VENUES="sim", TRADEGRAPH_SIM_WS_URL=sim.ws_url, TRADEGRAPH_SIM_REST_URL=sim.rest_url
    )
    run = TradegraphProcess(
        tmp_path / "run", name="run", service="streamer", env=env, args=["run", "--no-sim"]
    )
    processes.start(run)
    wait_generated(sim, 10_000, timeout_s=30)

    # Act: SIGKILL mid-run (in-process bus: what was in flight is gone with it), let the exchange trade
    # on, run again with the same home, and stop it cleanly once the store has caught up
    run.sigkill()
    wait_generated(sim, 15_000, timeout_s=30)
    run.start()
    stats = wait_finished(sim, timeout_s=60)
    expected = expected_last_ids(stats)
    with open_tick_store(TickStoreConfig(embedded_dir=home / "ticks")) as store:
        wait_caught_up(store, expected, timeout_s=60)
        exit_code = run.terminate()

        # Assert
        assert_every_trade_stored_once(store, expected, diagnostics=processes.diagnostics)
    assert exit_code == 0, processes.diagnostics()
