"""What one executor checkpoint costs in memory and time, by the size of its state.

Builds the executor's core state for ``--ticks`` trades of the five default symbols inside one open
minute (what the open bars and the paper broker hold at a checkpoint late in a minute at that rate), then
checkpoints it once, as the executor does (pickle, then :func:`save_checkpoint` into an embedded table
store in a temporary folder), and reports: the payload's size, the seconds, and how far the process's
memory rose above what it held before: pyarrow's pool at most (``arrow_peak_mb``) and the resident set
at most (``rss_peak_mb``, sampled every millisecond by a thread).

    .venv/bin/python bench/checkpoint_memory.py [--ticks 1200000]

At 20,000 ticks/s a minute holds 1,200,000 ticks. The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import pickle
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
import pyarrow as pa

from resources.table_store.embedded import EmbeddedTableStore
from trading_assets.execution.checkpoint import save_checkpoint
from trading_assets.execution.core import ExecutionCore
from trading_assets.services.memtrace import rss_mb
from trading_assets.trading.portfolio import Portfolio
from trading_assets.trading.risk import RiskEngine
from trading_assets.trading.risk_state import RiskLimits

MB = 1024 * 1024
SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT", "BNBUSDT", "XRPUSDT")
MINUTE_US = 60_000_000


def core_with_open_minute(ticks: int) -> ExecutionCore:
    """A core that has seen ``ticks`` trades of the open minute (none closed), pushed 2,000 at a time."""
    core = ExecutionCore(lateness_us=2_000_000, risk=RiskEngine(RiskLimits()), portfolio=Portfolio(100_000.0))
    start_us = (int(time.time() * 1e6) // MINUTE_US) * MINUTE_US
    rng = np.random.default_rng(7)
    per_push = 2_000
    for first in range(0, ticks, per_push):
        n = min(per_push, ticks - first)
        index = np.arange(first, first + n)
        symbol = np.array(SYMBOLS)[index % len(SYMBOLS)]
        table = pa.table(
            {
                "venue": pa.array(["sim"] * n).dictionary_encode(),
                "symbol": pa.array(symbol).dictionary_encode(),
                "trade_id": pa.array(index // len(SYMBOLS) + 1, pa.int64()),
                "price": pa.array(100 + rng.random(n)),
                "quantity": pa.array(rng.random(n)),
                "trade_time_us": pa.array(start_us + index * (MINUTE_US - 3_000_000) // ticks, pa.int64()),
                "event_time_us": pa.array(start_us + index, pa.int64()),
                "receive_time_us": pa.array(start_us + index, pa.int64()),
                "side": pa.array(np.where(index % 2 == 0, 1, -1), pa.int8()),
            }
        )
        core.on_ticks(table)
    return core


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ticks", type=int, default=1_200_000)
    args = parser.parse_args(argv)
    core = core_with_open_minute(args.ticks)
    portfolio, risk = Portfolio(100_000.0), RiskEngine(RiskLimits())
    pool = pa.default_memory_pool()
    with tempfile.TemporaryDirectory() as folder:
        store = EmbeddedTableStore(Path(folder))
        before_rss, before_arrow = rss_mb(), pool.max_memory()
        peak = [before_rss]
        done = threading.Event()

        def watch() -> None:
            while not done.wait(0.001):
                peak[0] = max(peak[0], rss_mb())

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        began = time.perf_counter()
        payload = pickle.dumps(
            {"core": core.snapshot(), "portfolio": portfolio.save(), "risk": risk.save()},
            protocol=pickle.HIGHEST_PROTOCOL,
        )
        save_checkpoint(store, "bench", time_us=int(time.time() * 1e6), code_version="bench", payload=payload)
        seconds = time.perf_counter() - began
        done.set()
        watcher.join()
        result = {
            "ticks": args.ticks,
            "payload_mb": round(len(payload) / MB, 1),
            "seconds": round(seconds, 2),
            "arrow_peak_mb": round((pool.max_memory() - before_arrow) / MB, 1),
            "rss_peak_mb": round(peak[0] - before_rss, 1),
            "arrow_pool": pool.backend_name,
        }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
