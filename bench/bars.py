"""Bars and quality checks over one simulated day: compute_bars_1m and every check of quality.py, timed.

Simulates ``--ticks`` trades (simulate_day, 5 symbols; not timed), then times each step on the ticks in
two row orders: as the tick store's ``export`` returns a day (venue, symbol, trade_time_us, trade_id),
which is what the Dagster assets pass, and as generated (symbols interleaved in time order), which makes
the checks sort. Each figure is the best of ``--repeat`` runs. Prints the figures, then one JSON line
(the last line) for docs/BENCHMARKS.md; its ``bars_10m_ticks_s`` and ``quality_10m_ticks_s`` (all five
checks together) are for the exported order.

    .venv/bin/python bench/bars.py [--ticks 10000000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from trading_assets.core.time import day_start_us
from trading_assets.market import quality
from trading_assets.market.bars import bars_chart_png, compute_bars_1m
from trading_assets.market.simulation import simulate_day

DAY = dt.date(2024, 3, 1)
EXPORT_ORDER = [(name, "ascending") for name in ("venue", "symbol", "trade_time_us", "trade_id")]


def best_of(repeat: int, step: Callable[[], Any]) -> tuple[float, Any]:
    """Smallest wall time of ``repeat`` runs of ``step``, and its last result."""
    best, result = float("inf"), None
    for _ in range(repeat):
        started = time.perf_counter()
        result = step()
        best = min(best, time.perf_counter() - started)
    return best, result


def run(name: str, ticks: pa.Table, repeat: int) -> dict[str, float]:
    """Time bars and each check on ``ticks``; fail loudly if a check does not pass on clean data."""
    figures: dict[str, float] = {}
    figures["bars_s"], bars = best_of(repeat, lambda: compute_bars_1m(ticks))
    checks: dict[str, Callable[[], quality.CheckResult]] = {
        "no_trade_id_gaps": lambda: quality.check_no_trade_id_gaps(ticks),
        "no_duplicates": lambda: quality.check_no_duplicates(ticks),
        "time_monotonic": lambda: quality.check_time_monotonic(ticks),
        "price_jumps": lambda: quality.check_price_jumps(ticks),
        "bars_reconcile": lambda: quality.check_bars_reconcile(ticks, bars),
    }
    for check, step in checks.items():
        figures[f"{check}_s"], result = best_of(repeat, step)
        if not result.passed:
            raise SystemExit(f"{name}: {check} failed on clean simulated data: {result.description}")
    figures["quality_s"] = sum(figures[f"{check}_s"] for check in checks)
    print(f"{name} ({ticks.num_rows:,} ticks, {bars.num_rows:,} bars):")
    for key, seconds in figures.items():
        print(f"  {key:<22} {seconds:7.3f} s")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ticks", type=int, default=10_000_000, help="simulated ticks in the day")
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure; the best counts")
    args = parser.parse_args()

    started = time.perf_counter()
    day_start = day_start_us(DAY)
    generated = simulate_day(day_start_us=day_start, ticks=args.ticks)
    exported = generated.sort_by(EXPORT_ORDER)
    print(f"simulated and sorted {args.ticks:,} ticks in {time.perf_counter() - started:.1f} s (not timed)")

    as_exported = run("as exported", exported, args.repeat)
    as_generated = run("as generated", generated, args.repeat)
    bars = compute_bars_1m(exported)
    chart_s, png = best_of(args.repeat, lambda: bars_chart_png(bars, title=f"sim {DAY}"))
    print(f"chart of {bars.num_rows:,} bars: {len(png):,} bytes PNG in {chart_s:.3f} s")

    scale = 10_000_000 / args.ticks
    print(
        json.dumps(
            {
                "ticks": args.ticks,
                "cpus": os.cpu_count(),
                "bars_10m_ticks_s": round(as_exported["bars_s"] * scale, 3),
                "quality_10m_ticks_s": round(as_exported["quality_s"] * scale, 3),
                "bars_10m_ticks_unsorted_s": round(as_generated["bars_s"] * scale, 3),
                "quality_10m_ticks_unsorted_s": round(as_generated["quality_s"] * scale, 3),
                "exported_order_s": {key: round(seconds, 3) for key, seconds in as_exported.items()},
                "chart_s": round(chart_s, 3),
            }
        )
    )


if __name__ == "__main__":
    main()
