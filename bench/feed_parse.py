"""Parse throughput of the venues' wire parsers (resources.exchange_feed.<venue>.wire): what the feed's read loop can afford per frame.

Pre-generates 1,000,000 Binance trade frames (one trade each, combined-stream wrapped, as the feed
receives them) and 1,000,000 Finnhub trades (20 per frame), then times, with a ``take`` every
``--flush-every`` ticks (the feed's flush: Arrow conversion, side mapping, content keys):

- ``add``: one call per frame (the parser's per-frame path, also its fallback);
- ``add_many``: the frames handed over in lists of ``--per-read`` (what one socket read of 256 KB holds,
  as the feed's read loop hands them over);
- ``read``: the whole read path of the feed, :class:`~resources.exchange_feed.frames.FrameReader` splitting
  websocket frames out of 256 KB socket reads (a scripted socket) and ``add_many`` parsing them.

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
from collections.abc import Callable
from pathlib import Path

import orjson
from websocket import ABNF

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from resources.exchange_feed.binance.wire import BinanceFrameParser
from resources.exchange_feed.finnhub.wire import FinnhubFrameParser
from resources.exchange_feed.frames import FrameReader
from resources.exchange_feed.wire import FrameParser

SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT", "ADAUSDT", "XRPUSDT")
T0_MS = 1_700_000_000_000
READ_BYTES = 256 * 1024
RECEIVE_US = T0_MS * 1000


def binance_frames(n: int) -> list[bytes]:
    """``n`` combined-stream trade frames over five symbols, shaped like Binance's."""
    frames = []
    for i in range(n):
        symbol = SYMBOLS[i % len(SYMBOLS)]
        event = {
            "e": "trade",
            "E": T0_MS + i,
            "s": symbol,
            "t": 3_000_000_000 + i // len(SYMBOLS),  # consecutive per symbol, as Binance numbers them
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


class _ScriptedSocket:
    """The wire bytes of all frames, handed out ``READ_BYTES`` per ``recv``."""

    def __init__(self, wire: bytes) -> None:
        self.wire, self.pos = wire, 0

    def recv(self, size: int) -> bytes:
        chunk = self.wire[self.pos : self.pos + size]
        self.pos += len(chunk)
        return chunk


class _ScriptedWebSocket:
    def __init__(self, wire: bytes) -> None:
        self.sock = _ScriptedSocket(wire)

    def pong(self, payload: bytes) -> None:
        raise AssertionError("no pings in the script")


def run(
    parser: FrameParser, frames: list[bytes], wire: bytes, flush_every: int, way: str, per_read: int
) -> tuple[float, float, int]:
    """CPU and wall seconds to parse ``frames`` the ``way`` given, with a take every ``flush_every`` ticks,
    and the ticks produced."""
    take = parser.take
    ticks = pending = 0
    cpu_started, started = time.process_time(), time.perf_counter()
    if way == "add":
        add = parser.add
        for frame in frames:
            pending += add(frame, RECEIVE_US)
            if pending >= flush_every:
                ticks += take().ticks.num_rows
                pending = 0
    elif way == "add_many":
        add_many = parser.add_many
        for start in range(0, len(frames), per_read):
            pending += add_many(frames[start : start + per_read], RECEIVE_US)
            if pending >= flush_every:
                ticks += take().ticks.num_rows
                pending = 0
    else:
        read = FrameReader(_ScriptedWebSocket(wire), READ_BYTES).read  # type: ignore[arg-type]
        add_many, done = parser.add_many, len(wire)
        socket = read.__self__._sock  # type: ignore[attr-defined]
        while socket.pos < done:
            pending += read(add_many, lambda: RECEIVE_US)[1]
            if pending >= flush_every:
                ticks += take().ticks.num_rows
                pending = 0
    ticks += take().ticks.num_rows
    return time.process_time() - cpu_started, time.perf_counter() - started, ticks


def measure(
    name: str,
    make: Callable[[], FrameParser],
    frames: list[bytes],
    repeat: int,
    run_one: Callable[[FrameParser], tuple[float, float, int]],
) -> tuple[float, float]:
    """Best CPU-time and wall-clock rates (ticks/s) over ``repeat`` runs."""
    make().take()  # first Arrow conversion imports pandas (pyarrow's doing): not part of the rate
    cpu_rates, wall_rates = [], []
    for attempt in range(1, repeat + 1):
        cpu, wall, ticks = run_one(make())
        cpu_rates.append(ticks / cpu)
        wall_rates.append(ticks / wall)
        print(
            f"{name} run {attempt}: {ticks:,} ticks from {len(frames):,} frames in {cpu:.2f} s CPU "
            f"({wall:.2f} s wall) = {ticks / cpu:,.0f} ticks/s CPU ({len(frames) / cpu:,.0f} frames/s, "
            f"{cpu / ticks * 1e6:.2f} us a tick), {ticks / wall:,.0f} ticks/s wall"
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
    parser.add_argument(
        "--per-read", type=int, default=1_600, help="frames per add_many (a 256 KB read of Binance frames)"
    )
    parser.add_argument(
        "--ways", default="add,add_many,read", help="comma-separated: add, add_many, read (all)"
    )
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per venue; the best is reported")
    args = parser.parse_args()

    started = time.perf_counter()
    venues: dict[str, tuple[Callable[[], FrameParser], list[bytes]]] = {
        "binance": (BinanceFrameParser, binance_frames(args.trades)),
        "finnhub": (FinnhubFrameParser, finnhub_frames(args.trades, args.per_frame)),
    }
    print(
        f"generated {len(venues['binance'][1]):,} Binance and {len(venues['finnhub'][1]):,} Finnhub frames "
        f"in {time.perf_counter() - started:.1f} s"
    )
    figures = {}
    for venue, (make, frames) in venues.items():
        wire = b"".join(ABNF(fin=1, opcode=ABNF.OPCODE_TEXT, mask_value=0, data=f).format() for f in frames)
        for way in args.ways.split(","):

            def run_one(p: FrameParser, frames: list[bytes] = frames, wire: bytes = wire, way: str = way):  # type: ignore[no-untyped-def]
                return run(p, frames, wire, args.flush_every, way, args.per_read)

            cpu, wall = measure(f"{venue} {way}", make, frames, args.repeat, run_one)
            suffix = "" if way == "add" else f"_{way}"
            figures[f"{venue}_parse{suffix}_ticks_per_s"] = round(cpu)
            figures[f"{venue}_parse{suffix}_ticks_per_s_wall"] = round(wall)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
