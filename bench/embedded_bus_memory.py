"""Embedded bus memory over time: publish, poll and commit as ``tradegraph run`` does, and print RSS.

A producer thread publishes 10,000-tick tables at ``--rate`` ticks per second (0: as fast as it can); a
consumer thread polls and commits every ``--commit-every`` seconds, as the loader does after each
insert. Every second the script prints the process's resident memory and the records the bus holds.
Since the bus trims what every group committed, RSS stays flat however many ticks pass; before, it grew
by about 53 bytes a tick for the life of the process.

    .venv/bin/python bench/embedded_bus_memory.py [--seconds 60] [--rate 200000] [--commit-every 0.2]

The last line printed is JSON: ticks passed, RSS at start, after warm-up, at the end and at most, and
the most records held.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.tick_tables import VENUE, make_tables
from resources.bus import EmbeddedTickBus

TABLE_TICKS = 10_000


def rss_mb() -> float:
    """Resident set size of this process in MB (Linux)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="how long to run (60)")
    parser.add_argument("--rate", type=float, default=200_000.0, help="ticks per second; 0: flat out")
    parser.add_argument("--commit-every", type=float, default=0.2, help="seconds between commits (0.2)")
    parser.add_argument("--symbols", type=int, default=5, help="symbols (5)")
    args = parser.parse_args()

    bus = EmbeddedTickBus()
    # One table, reused: the bus copies it.
    (table,) = make_tables(TABLE_TICKS, TABLE_TICKS, args.symbols)
    consumer = bus.consumer(group="loader", venues=[VENUE])
    stop = threading.Event()
    counts = {"published": 0, "consumed": 0}

    def produce() -> None:
        started = time.monotonic()
        while not stop.is_set():
            if args.rate > 0:
                due = started + counts["published"] / args.rate
                if stop.wait(max(0.0, due - time.monotonic())):
                    return
            bus.publish(table)
            counts["published"] += TABLE_TICKS

    def consume() -> None:
        next_commit = time.monotonic() + args.commit_every
        while not stop.is_set():
            counts["consumed"] += consumer.poll(timeout_s=0.05, max_records=1_000).ticks.num_rows
            if time.monotonic() >= next_commit:
                consumer.commit()
                next_commit = time.monotonic() + args.commit_every

    rss_start = rss_mb()
    threads = [threading.Thread(target=produce), threading.Thread(target=consume)]
    for thread in threads:
        thread.start()
    samples: list[float] = []
    held_max = 0
    started = time.monotonic()
    print(f"{'s':>5}{'published':>14}{'consumed':>14}{'held records':>14}{'RSS MB':>10}")
    while (elapsed := time.monotonic() - started) < args.seconds:
        time.sleep(1.0)
        held = bus.retained()[0]
        held_max = max(held_max, held)
        samples.append(rss_mb())
        print(
            f"{elapsed:>5.0f}{counts['published']:>14,}{counts['consumed']:>14,}{held:>14,}{samples[-1]:>10.1f}"
        )
    stop.set()
    for thread in threads:
        thread.join(timeout=10)
    warm = samples[min(4, len(samples) - 1)]
    print(
        json.dumps(
            {
                "bench": "embedded_bus_memory",
                "seconds": round(time.monotonic() - started, 1),
                "ticks_published": counts["published"],
                "ticks_consumed": counts["consumed"],
                "rss_mb_start": round(rss_start, 1),
                "rss_mb_after_5s": round(warm, 1),
                "rss_mb_end": round(samples[-1], 1),
                "rss_mb_max": round(max(samples), 1),
                "held_records_max": held_max,
                "trimmed_records": bus.trimmed_records,
            }
        )
    )


if __name__ == "__main__":
    main()
