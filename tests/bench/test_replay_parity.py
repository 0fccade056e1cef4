"""bench/replay_parity.py: a recorded trades file through the executor and the backtest, in both file
formats it reads, with and without out-of-order and re-sent ticks; and a file it cannot read."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "tests" / "data" / "BTCUSDT-trades-2020-03-12-sample.csv"


def run_parity(*args: str) -> tuple[int, dict, str]:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "replay_parity.py"), *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    last = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else "{}"
    return done.returncode, json.loads(last), done.stderr


def write_tardis(path: Path) -> None:
    """The sample in Tardis' trades format, each trade received 20-400 ms after it was printed."""
    raw = pacsv.read_csv(
        SAMPLE, read_options=pacsv.ReadOptions(column_names=["id", "p", "q", "qq", "t", "m", "b"])
    )
    n = raw.num_rows
    time_us = [t * 1_000 for t in raw["t"].to_pylist()]
    lag_us = [20_000 + (i * 7_919) % 380_000 for i in range(n)]
    table = pa.table(
        {
            "exchange": ["binance"] * n,
            "symbol": ["BTCUSDT"] * n,
            "timestamp": time_us,
            "local_timestamp": [t + lag for t, lag in zip(time_us, lag_us, strict=True)],
            "id": raw["id"],
            "side": ["sell" if m else "buy" for m in raw["m"].to_pylist()],
            "price": raw["p"],
            "amount": raw["q"],
        }
    )
    pacsv.write_csv(table, path)


def test_a_binance_vision_file_replays_to_the_backtests_fills() -> None:
    code, result, stderr = run_parity(str(SAMPLE), "--warm-up-minutes", "3")

    assert code == 0, stderr
    assert result["format"] == "binance" and result["trades"] == 3_000
    assert result["identical"] is True
    assert result["models"]["flow"]["fills"] == result["models"]["flow"]["backtest_fills"] >= 2


def test_a_tardis_file_in_its_recorded_arrival_order_with_repeats_replays_to_the_backtests_fills(
    tmp_path: Path,
) -> None:
    recorded = tmp_path / "trades.csv"
    write_tardis(recorded)

    code, result, stderr = run_parity(
        str(recorded),
        "--warm-up-minutes",
        "3",
        "--jitter-ms",
        "1500",
        "--repeats",
        "100",
        "--chunk-rows",
        "16",
    )

    assert code == 0, stderr
    assert result["format"] == "tardis" and result["out_of_order"] > 100
    assert result["identical"] is True
    flow = result["models"]["flow"]
    assert flow["duplicate_ticks"] > 0 and flow["late_ticks"] == 0
    assert flow["fills"] == flow["backtest_fills"] >= 2


def test_a_file_that_is_not_there_is_named_and_exits_2(tmp_path: Path) -> None:
    code, _, stderr = run_parity(str(tmp_path / "missing.csv"))

    assert code == 2
    assert "missing.csv" in stderr
