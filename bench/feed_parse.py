"""Parse throughput of the venues' wire parsers (resources.exchange_feed.<venue>.wire): what the feed's read loop can afford per frame.

Pre-generates 1,000,000 Binance trade frames (one trade each, combined-stream wrapped, as the feed
receives them) and 1,000,000 Finnhub trades (20 per frame), then times ``add`` for every frame plus a
``take`` every ``--flush-every`` ticks (the feed's flush: Arrow conversion, side mapping, content keys).
Rates are ticks per second of this process's CPU time (what the parse costs on a core of its own, robust
to other processes sharing the machine) and, as ``*_wall``, of wall-clock time. Prints figures per run and,
as its last line, JSON with the best run of each.

    .venv/bin/python bench/feed_parse.py [--trades 1000000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from resources.exchange_feed.binance.wire import BinanceFrameParser
from resources.exchange_feed.finnhub.wire import FinnhubFrameParser
from resources.exchange_feed.wire import FrameParser

SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT", "ADAUSDT", "XRPUSDT")
T0_MS = 1_700_000_000_000


def binance_frames(n: int) -> list[bytes]:
    """``n`` combined-stream trade frames over five symbols, shaped like Binance's."""
    frames = []
    for i in range(n):
        symbol = SYMBOLS[i % len(SYMBOLS)]
        event = {
            "e": "trade",
            "E": T0_MS + i,
            "s": symbol,
            "t": 3_000_000_000 + i,
            "p": f"{43_000 + (i % 1000) / 100:.8f}",
            "q": f"{(1 + i % 97) / 1000:.8f}",
            "T": T0_MS + i - 1,
            "m": i % 2 == 0,
            "M": True,
        }
        frames.append(orjson.dumps({"stream": f"{symbol.lower()}@trade", "data": event}))
    return frames


def finnhub_frames(n_trades: int, per_frame: int) -> list[bytes]:
    """Finnhub trade frames holding ``n_trades`` trades, ``per_frame`` each."""
    frames = []
    for start in range(0, n_trades, per_frame):
        data = [
            {
                "p": 43_000 + (i % 1000) / 100,
                "s": f"BINANCE:{SYMBOLS[i % len(SYMBOLS)]}",
                "t": T0_MS + i,
                "v": (1 + i % 97) / 1000,
                "c": None,
            }
            for i in range(start, min(start + per_frame, n_trades))
        ]
        frames.append(orjson.dumps({"type": "trade", "data": data}))
    return frames


def run(parser: FrameParser, frames: list[bytes], flush_every: int) -> tuple[float, float, int]:
    """CPU and wall seconds to parse ``frames`` with a take every ``flush_every`` ticks, and ticks produced."""
    add, take = parser.add, parser.take
    receive_us = T0_MS * 1000
    ticks = pending = 0
    cpu_started, started = time.process_time(), time.perf_counter()
    for frame in frames:
        pending += add(frame, receive_us)
        if pending >= flush_every:
            ticks += take().ticks.num_rows
            pending = 0
    ticks += take().ticks.num_rows
    return time.process_time() - cpu_started, time.perf_counter() - started, ticks


def measure(
    name: str, make: type[FrameParser], frames: list[bytes], repeat: int, flush_every: int
) -> tuple[float, float]:
    """Best CPU-time and wall-clock rates (ticks/s) over ``repeat`` runs."""
    make().take()  # first Arrow conversion imports pandas (pyarrow's doing): not part of the rate
    cpu_rates, wall_rates = [], []
    for attempt in range(1, repeat + 1):
        cpu, wall, ticks = run(make(), frames, flush_every)
        cpu_rates.append(ticks / cpu)
        wall_rates.append(ticks / wall)
        print(
            f"{name} run {attempt}: {ticks:,} ticks from {len(frames):,} frames in {cpu:.2f} s CPU "
            f"({wall:.2f} s wall) = {ticks / cpu:,.0f} ticks/s CPU ({len(frames) / cpu:,.0f} frames/s), "
            f"{ticks / wall:,.0f} ticks/s wall"
        )
    print(
        f"{name}: best {max(cpu_rates):,.0f} ticks/s CPU (median {statistics.median(cpu_rates):,.0f}), "
        f"best {max(wall_rates):,.0f} ticks/s wall"
    )
    return max(cpu_rates), max(wall_rates)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trades", type=int, default=1_000_000, help="trades per venue")
    parser.add_argument("--per-frame", type=int, default=20, help="Finnhub trades per frame")
    parser.add_argument(
        "--flush-every", type=int, default=5_000, help="ticks per take(), as the feed flushes"
    )
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per venue; the best is reported")
    args = parser.parse_args()

    started = time.perf_counter()
    binance = binance_frames(args.trades)
    finnhub = finnhub_frames(args.trades, args.per_frame)
    print(
        f"generated {len(binance):,} Binance and {len(finnhub):,} Finnhub frames "
        f"in {time.perf_counter() - started:.1f} s"
    )
    binance_cpu, binance_wall = measure("binance", BinanceFrameParser, binance, args.repeat, args.flush_every)
    finnhub_cpu, finnhub_wall = measure("finnhub", FinnhubFrameParser, finnhub, args.repeat, args.flush_every)
    figures = {
        "binance_parse_ticks_per_s": round(binance_cpu),
        "finnhub_parse_ticks_per_s": round(finnhub_cpu),
        "binance_parse_ticks_per_s_wall": round(binance_wall),
        "finnhub_parse_ticks_per_s_wall": round(finnhub_wall),
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
