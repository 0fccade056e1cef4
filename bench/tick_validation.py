"""CPU per call of :func:`trading_assets.core.validation.validate_table` on one streamer flush.

The streamer validates each flush (every 20 ms, about 100 ticks at 5,000 ticks/s) before it publishes;
a profile of the pipeline put 16 % of the streamer's CPU there (docs/BENCHMARKS.md). This times it on
``--rows`` ticks of 5 symbols, best of 5 rounds of ``--calls`` calls; the last line printed is JSON.

    .venv/bin/python bench/tick_validation.py [--rows 100] [--calls 2000]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.resources.bus.conftest import make_ticks
from trading_assets.core.validation import validate_table

SYMBOLS = ["BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT", "ADAUSDT"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100, help="ticks per call (100: one 20 ms flush at 5k/s)")
    parser.add_argument("--calls", type=int, default=2000, help="calls per round (2,000)")
    args = parser.parse_args()
    ticks = make_ticks("binance", SYMBOLS, args.rows)
    for _ in range(200):  # warm up
        validate_table(ticks)
    rounds = []
    for _ in range(5):
        started = time.process_time()
        for _ in range(args.calls):
            validate_table(ticks)
        rounds.append((time.process_time() - started) / args.calls * 1e6)
    print(
        f"validate_table on {args.rows} ticks: {min(rounds):.0f} us of CPU per call (best of 5 x {args.calls})"
    )
    print(json.dumps({"rows": args.rows, "us_per_call": round(min(rounds), 1)}))


if __name__ == "__main__":
    main()
