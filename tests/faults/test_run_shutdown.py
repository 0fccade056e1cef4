"""How ``tradegraph run`` ends: in the direction of the flow, and saying what is left.

Real processes: ``tradegraph run`` itself, and for ``--no-sim`` an exchange process of its own.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from resources.tick_store.embedded import EmbeddedTickStore
from testkit.exchange_sim import ExchangeSimProcess
from testkit.harness import SYMBOLS, Processes, TradegraphProcess, sim_args
from tests.faults.run import embedded_run_env

pytestmark = pytest.mark.slow


def _count(output: str, label: str) -> int:
    found = re.search(rf"{label} ([\d,]+)", output)
    assert found, output[-3000:]
    return int(found[1].replace(",", ""))


def test_a_run_that_ends_by_duration_stores_exactly_what_the_streamer_published(
    tmp_path: Path, processes: Processes
) -> None:
    # Arrange: a busy exchange in its own process (as in the run that found it), so ticks are in flight
    # at every moment, also when the duration is up
    home = tmp_path / "home"
    sim = ExchangeSimProcess(tmp_path / "sim", sim_args(rate=20_000, max_trades=10_000_000))
    processes.start(sim)
    _write_state(home, gaps={})
    env = embedded_run_env(
        home, TRADEGRAPH_VENUES="sim", TRADEGRAPH_SIM_WS_URL=sim.ws_url, TRADEGRAPH_SIM_REST_URL=sim.rest_url
    )
    run = TradegraphProcess(
        tmp_path / "run", name="run", service=None, env=env, args=["run", "--no-sim", "--duration", "5"]
    )

    # Act
    processes.start(run)
    exit_code = run.wait_exit(timeout_s=90)
    output = run.log_path.read_text()

    # Assert: everything published was stored, and the store holds exactly that many rows
    assert exit_code == 0, processes.diagnostics()
    published, loaded = _count(output, "published"), _count(output, "loaded")
    assert published > 10_000 and loaded == published, output[-3000:]
    with EmbeddedTickStore(home / "ticks") as store:
        assert sum(part.rows for part in store.partitions()) == published
    assert f"stored everything published ({published:,} ticks)" in output


def _write_state(home: Path, *, gaps: dict) -> None:
    state = home / "state" / "streamer.json"
    state.parent.mkdir(parents=True)
    state.write_text(json.dumps({"last_ids": {"sim": dict.fromkeys(SYMBOLS, 0)}, "gaps": gaps}))


def test_run_without_the_simulator_stops_after_max_trades_and_reports_open_gaps(
    tmp_path: Path, processes: Processes
) -> None:
    # Arrange: an exchange of its own that trades on (it would outlast the test), and a restart state
    # holding a gap of 27 ids the exchange does not have (so it stays open)
    home = tmp_path / "home"
    sim = ExchangeSimProcess(tmp_path / "sim", sim_args(rate=2_000, max_trades=10_000_000))
    processes.start(sim)
    _write_state(home, gaps={"sim": {"BTCUSDT": [[5_000_000, 5_000_026]]}})
    env = embedded_run_env(
        home, TRADEGRAPH_VENUES="sim", TRADEGRAPH_SIM_WS_URL=sim.ws_url, TRADEGRAPH_SIM_REST_URL=sim.rest_url
    )
    run = TradegraphProcess(
        tmp_path / "run", name="run", service=None, env=env, args=["run", "--no-sim", "--max-trades", "3000"]
    )

    # Act: it ends by itself
    processes.start(run)
    exit_code = run.wait_exit(timeout_s=60)
    output = run.log_path.read_text()

    # Assert
    assert exit_code == 0, processes.diagnostics()
    published, loaded = _count(output, "published"), _count(output, "loaded")
    assert loaded >= 3_000 and loaded == published, output[-3000:]
    assert "trade-id gaps still open: 27 ids missing in 1 ranges" in output, output[-3000:]
    assert re.search(r"sim BTCUSDT +27 ids in 1 ranges: 5,000,000\.\.5,000,026", output), output[-3000:]
    assert "unknown without the simulator" in output
