"""Wait until the machine is quiet after the bench's own setup: no ClickHouse merge running and the page
cache's dirty data written back.

Why: the setup of bench/scale.py seals a week of days (about 2 GB of parts written) and every run ends with
a seal and a drop; a run started while the kernel still writes that back, or while a merge runs, measured
up to twice the p99 of the runs after it (the first run of a set was the slowest baseline in four sets,
docs/BENCHMARKS.md).
"""

from __future__ import annotations

import os
import time

from clickhouse_driver import Client

DIRTY_LIMIT_KB = 64 * 1024


def dirty_kb() -> int:
    """Dirty and under-writeback page cache, kB (``/proc/meminfo``)."""
    total = 0
    with open("/proc/meminfo") as handle:
        for line in handle:
            name, value = line.split(":", 1)
            if name in ("Dirty", "Writeback"):
                total += int(value.split()[0])
    return total


def settle(client: Client, *, timeout_s: float = 300.0) -> float:
    """Block until no merge runs and less than 64 MB waits for writeback (or ``timeout_s``); the seconds
    waited."""
    started = time.monotonic()
    os.sync()  # the writeback now, rather than in the run (the kernel holds dirty pages up to 30 s)
    while time.monotonic() - started < timeout_s:
        merges = client.execute("SELECT count() FROM system.merges")[0][0]
        if merges == 0 and dirty_kb() < DIRTY_LIMIT_KB:
            break
        time.sleep(0.5)
    return time.monotonic() - started
