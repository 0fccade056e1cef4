"""What busy CPUs cost work and wake-ups that have priority over them (bench only).

Two measures, each alternately with the other CPUs idle and with busy loops at the lowest priority
(``SCHED_IDLE``, bench/cpu_burn.py), which the kernel preempts for any other thread:

- **work**: the same work (a Python loop, then a NumPy pass over 64 MB) pinned to CPU 0, a busy loop
  pinned to CPU 1. Where the timings differ, CPU 0 runs slower while CPU 1 works (shared caches and
  memory, a host that runs both virtual CPUs on one physical core).
- **wake-up**: a process blocked on a pipe, woken by another that writes the time every 0.5-2 ms (as the
  streamer and the loader wake for each frame and fetch), with a busy loop per CPU. The delay from the
  write to the reader running is what a scheduler priority can shorten; what it keeps beside loops that
  yield at once is the machine's (the hypervisor's and the kernel's cost of taking a busy virtual CPU).

``--burner memory`` makes the busy loops stream through 128 MB instead of spinning, as a ClickHouse read
scans: memory-bound work then slows beside them at any priority (docs/BENCHMARKS.md, "Below the
scheduler").

    .venv/bin/python bench/cpu_sibling.py --rounds 10
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

import numpy as np
from cpu_burn import LOOPS, IdleBurn


def python_work() -> float:
    """Seconds for a fixed pure-Python loop (the services' kind of work)."""
    started = time.perf_counter()
    total = 0
    for i in range(3_000_000):
        total += i & 7
    return time.perf_counter() - started


def memory_work(data: np.ndarray) -> float:
    """Seconds for one pass over ``data`` (ClickHouse's kind of work: streaming through memory)."""
    started = time.perf_counter()
    float(data.sum())
    return time.perf_counter() - started


def _wake_reader(fd: int, out: int, samples: int) -> None:
    """Read ``samples`` timestamps from ``fd`` and write each wake-up delay (ns) to ``out``."""
    delays = []
    for _ in range(samples):
        sent = int.from_bytes(os.read(fd, 8), "little")
        delays.append(time.perf_counter_ns() - sent)
    os.write(out, np.asarray(delays, dtype=np.int64).tobytes())
    os._exit(0)


def wake_delays(samples: int) -> np.ndarray:
    """Wake-up delays (ms) of a process blocked on a pipe, written every 0.5-2 ms by this one."""
    ping_r, ping_w = os.pipe()
    back_r, back_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        _wake_reader(ping_r, back_w, samples)
    os.close(back_w)
    rng = np.random.default_rng(1)
    for gap in rng.uniform(0.0005, 0.002, samples):
        time.sleep(float(gap))
        os.write(ping_w, time.perf_counter_ns().to_bytes(8, "little"))
    data = b""
    while chunk := os.read(back_r, 1 << 20):
        data += chunk
    os.waitpid(pid, 0)
    for fd in (ping_r, ping_w, back_r):
        os.close(fd)
    return np.frombuffer(data, dtype=np.int64) / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10, help="rounds of each side, alternating (10)")
    parser.add_argument("--wakes", type=int, default=3000, help="wake-ups per round and side (3,000)")
    parser.add_argument(
        "--burner",
        choices=sorted(LOOPS),
        default="spin",
        help="what the busy loops do: spin (the CPU only; default) or memory (stream through 128 MB, as a "
        "ClickHouse read does)",
    )
    args = parser.parse_args()
    if os.cpu_count() is None or (os.cpu_count() or 0) < 2:
        raise SystemExit("cpu_sibling.py needs two CPUs")
    os.sched_setaffinity(0, {0})
    data = np.ones(8_000_000)  # 64 MB
    timings: dict[str, list[float]] = {
        "python_idle": [],
        "python_busy": [],
        "memory_idle": [],
        "memory_busy": [],
    }
    for _ in range(args.rounds):
        for side in ("idle", "busy"):
            burner = IdleBurn(1, args.burner) if side == "busy" else None
            if burner is not None:
                os.sched_setaffinity(burner.pids[0], {1})
            time.sleep(0.2)
            timings[f"python_{side}"].append(python_work())
            timings[f"memory_{side}"].append(memory_work(data))
            if burner is not None:
                burner.stop()
    os.sched_setaffinity(0, set(range(os.cpu_count() or 2)))
    wakes: dict[str, list[np.ndarray]] = {"idle": [], "busy": []}
    for _ in range(args.rounds):
        for side in ("idle", "busy"):
            burner = IdleBurn(os.cpu_count() or 2, args.burner) if side == "busy" else None
            time.sleep(0.2)
            wakes[side].append(wake_delays(args.wakes))
            if burner is not None:
                burner.stop()
    figures = {name: round(statistics.median(values) * 1000, 2) for name, values in timings.items()}
    for side, runs in wakes.items():
        pooled = np.concatenate(runs)
        figures |= {
            f"wake_p50_{side}_ms": round(float(np.percentile(pooled, 50)), 3),
            f"wake_p99_{side}_ms": round(float(np.percentile(pooled, 99)), 3),
            f"wake_p999_{side}_ms": round(float(np.percentile(pooled, 99.9)), 3),
        }
    for kind in ("python", "memory"):
        idle, busy = figures[f"{kind}_idle"], figures[f"{kind}_busy"]
        print(
            f"{kind:<7} work, CPU 1 idle {idle:.2f} ms, busy {busy:.2f} ms ({(busy / idle - 1) * 100:+.1f} %)"
        )
    for side in ("idle", "busy"):
        print(
            f"wake-up, CPUs {side}: p50 {figures[f'wake_p50_{side}_ms']:.3f} ms, p99 "
            f"{figures[f'wake_p99_{side}_ms']:.3f} ms, p99.9 {figures[f'wake_p999_{side}_ms']:.3f} ms"
        )
    print(json.dumps({"rounds": args.rounds, "wakes": args.wakes, "burner": args.burner, **figures}))


if __name__ == "__main__":
    main()
