"""A trades file from 2020, replayed and sealed through the README's command lines: the simulated
exchange serves tests/data's data.binance.vision CSV as Binance, ``tradegraph run --no-sim`` streams it
into the embedded store, and ``dg launch --job day_pipeline --partition 2020-03-12`` seals, bars and
archives its day (before partitions started at 2017-01-01, the seal died with
DagsterUnknownPartitionError)."""

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import numpy as np
import pyarrow.csv as pacsv
import pytest

from resources.archive.local import LocalTickArchive
from resources.table_store.embedded import EmbeddedTableStore
from resources.tick_store.embedded import EmbeddedTickStore
from testkit.exchange_sim import ExchangeSimProcess
from trading_assets.core.time import day_bounds_us
from trading_assets.demo_graph import INSTANCE_YAML
from trading_assets.market.bars import BARS_TABLE

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[3]
CSV = ROOT / "tests" / "data" / "BTCUSDT-trades-2020-03-12-sample.csv"
DAY = dt.date(2020, 3, 12)
BIN = Path(sys.executable).parent


def _file_trades() -> tuple[np.ndarray, np.ndarray]:
    table = pacsv.read_csv(
        CSV, read_options=pacsv.ReadOptions(column_names=["id", "p", "q", "qq", "t", "m", "b"])
    )
    return table["id"].to_numpy(), table["t"].to_numpy()


def _run(command: list[str], env: dict[str, str], timeout_s: float) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout_s, check=False
    )
    assert result.returncode == 0, (
        f"{command} exited {result.returncode}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    )
    return result


def test_a_2020_trades_file_replayed_through_run_no_sim_is_sealed_for_its_day(tmp_path: Path) -> None:
    ids, times_ms = _file_trades()
    assert {dt.datetime.fromtimestamp(t / 1000, dt.UTC).date() for t in times_ms} == {DAY}
    home, dagster_home = tmp_path / "tradegraph", tmp_path / "dagster"
    dagster_home.mkdir()
    (dagster_home / "dagster.yaml").write_text(INSTANCE_YAML)
    sim_args = ["--replay", str(CSV), "--replay-symbol", "BTCUSDT", "--symbols", "BTCUSDT", "--speed", "600"]
    with ExchangeSimProcess(tmp_path / "sim", [*sim_args, "--wait-for-clients", "1"]) as sim:
        env = {name: value for name, value in os.environ.items() if not name.startswith("TRADEGRAPH_")}
        env.update(
            PYTHONPATH=str(ROOT),
            TRADEGRAPH_HOME=str(home),
            TRADEGRAPH_VENUES="binance",
            TRADEGRAPH_SYMBOLS="BTCUSDT",
            TRADEGRAPH_BINANCE_WS_URL=sim.ws_url,
            TRADEGRAPH_BINANCE_REST_URL=sim.rest_url,
            DAGSTER_HOME=str(dagster_home),
            VIRTUAL_ENV=str(BIN.parent),
        )

        streamed = _run(
            [sys.executable, "-m", "trading_assets.cli", "run", "--no-sim", "--duration", "15"], env, 120
        )
        sealed = _run(
            [str(BIN / "dg"), "launch", "--job", "day_pipeline", "--partition", DAY.isoformat()], env, 300
        )

    assert f"{DAY.isoformat()}         3,000 rows" in streamed.stdout
    assert "Warning" not in sealed.stderr, sealed.stderr
    store = EmbeddedTickStore(home / "ticks")
    assert [(p.day, p.rows) for p in store.partitions()] == [(DAY, len(ids))]
    day = store.export(DAY)
    # Identical prints (same millisecond, price and quantity) stay distinct trades: one row per id.
    assert sorted(day["trade_id"].to_pylist()) == sorted(ids.tolist())
    start_us, end_us = day_bounds_us(DAY)
    assert (
        start_us <= day["trade_time_us"].to_numpy().min() and day["trade_time_us"].to_numpy().max() < end_us
    )
    assert LocalTickArchive(home / "archive").verify(DAY).rows == len(ids)
    bars = EmbeddedTableStore(home / "tables").read(
        BARS_TABLE, start_us=start_us, end_us=end_us, filters={"symbol": "BTCUSDT"}
    )
    assert bars.num_rows > 0
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        (run,) = instance.get_runs()
        assert (run.job_name, run.status, run.tags["dagster/partition"]) == (
            "day_pipeline",
            dg.DagsterRunStatus.SUCCESS,
            DAY.isoformat(),
        )
