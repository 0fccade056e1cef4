"""Where a run's ingest latency goes: each trade's exchange-to-stored time split at the streamer's socket
read and at the start of the loader's insert that stored it, from the loaders' insert traces
(``tradegraph load --insert-trace``), and the CPU time the machine's hypervisor took (steal) during a run.

Stages of one trade, joined by trade id with the insert that completed its symbol's prefix up to it:

- ``exchange``: trade time to the streamer's socket read (the exchange's batching, the websocket);
- ``queue``: the socket read to the start of that insert (the streamer's flush, Kafka, the loader's
  fetch and batching, and waiting behind the loader's earlier insert);
- ``insert``: the insert itself, to its return (client encoding, loopback TCP, the ClickHouse server).

Used by bench/ingest.py and bench/scale.py to say which stage the queries slow down.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from ingest import StoredTrades

STAGES = ("exchange", "queue", "insert")


@dataclass(frozen=True)
class TracedInsert:
    """One line of a loader's insert trace."""

    start_us: int
    """When the insert was first tried (wall clock); the return time for traces without a start."""
    done_us: int
    """When it returned."""
    ids: dict[str, tuple[int, int]]
    """Symbol -> (highest trade id, ticks) of the insert."""


def read_traces(paths: Sequence[Path]) -> list[TracedInsert]:
    """The inserts of the loaders' traces, in the order they returned."""
    inserts: list[TracedInsert] = []
    for path in paths:
        with open(path, "rb") as handle:
            for line in handle:
                record = json.loads(line)
                done = int(record["done_us"])
                inserts.append(
                    TracedInsert(
                        start_us=int(record.get("start_us", done)),
                        done_us=done,
                        ids={symbol: (int(top), int(n)) for symbol, (top, n) in record["ids"].items()},
                    )
                )
    inserts.sort(key=lambda insert: insert.done_us)
    return inserts


def complete_prefixes(inserts: Sequence[TracedInsert]) -> list[dict[str, tuple[int, int]]]:
    """Per insert (in return order), per symbol it held: the highest id inserted so far and the ticks
    inserted so far. Where the two are equal, ids 1..highest are all stored from that insert's return on."""
    highest: dict[str, int] = {}
    inserted: dict[str, int] = {}
    prefixes: list[dict[str, tuple[int, int]]] = []
    for insert in inserts:
        for symbol, (top, count) in insert.ids.items():
            highest[symbol] = max(highest.get(symbol, 0), top)
            inserted[symbol] = inserted.get(symbol, 0) + count
        prefixes.append({symbol: (highest[symbol], inserted[symbol]) for symbol in insert.ids})
    return prefixes


def stage_breakdown(trades: StoredTrades, inserts: Sequence[TracedInsert]) -> dict[str, float]:
    """Per stage (:data:`STAGES`), over a run's trades (ms): p50 and p99, and its mean over the slowest 1 %
    of trades (``tail_*``: which stage the tail is made of); the inserts' own durations, p50/p99/max."""
    prefixes = complete_prefixes(inserts)
    starts = np.array([insert.start_us for insert in inserts], np.int64)
    dones = np.array([insert.done_us for insert in inserts], np.int64)
    parts: dict[str, list[np.ndarray]] = {stage: [] for stage in STAGES}
    for symbol in np.unique(trades.symbols):
        mine = trades.symbols == symbol
        at = [
            i
            for i, prefix in enumerate(prefixes)
            if symbol in prefix and prefix[symbol][0] == prefix[symbol][1]
        ]
        if not at:
            continue
        index = np.array(at, np.int64)
        top = np.maximum.accumulate(np.array([prefixes[i][symbol][0] for i in at], np.int64))
        first = np.searchsorted(top, trades.ids[mine], side="left")
        seen = first < len(top)
        which = index[first[seen]]
        times, received = trades.times[mine][seen], trades.received[mine][seen]
        parts["exchange"].append((received - times) / 1_000)
        parts["queue"].append((starts[which] - received) / 1_000)
        parts["insert"].append((dones[which] - starts[which]) / 1_000)
    if not parts["insert"]:
        return {}
    stages = {stage: np.concatenate(values) for stage, values in parts.items()}
    total = sum(stages.values())
    tail = total >= np.percentile(total, 99)
    figures: dict[str, float] = {}
    for stage, values in stages.items():
        figures[f"{stage}_p50"] = float(np.percentile(values, 50))
        figures[f"{stage}_p99"] = float(np.percentile(values, 99))
        figures[f"tail_{stage}"] = float(values[tail].mean())
    durations = (dones - starts) / 1_000
    figures |= {
        "inserts": float(len(inserts)),
        "insert_ms_p50": float(np.percentile(durations, 50)),
        "insert_ms_p99": float(np.percentile(durations, 99)),
        "insert_ms_max": float(durations.max()),
    }
    return figures


def stages_line(stages: dict[str, float] | None, steal: float) -> str:
    """Where one run's latency went (:func:`stage_breakdown`) and the CPU steal during it, in one line."""
    if not stages:
        return f"stages: no insert trace; steal {steal:.1f} %"
    return (
        "stages (exchange / queue / insert) p99 "
        + " / ".join(f"{stages[f'{stage}_p99']:.0f}" for stage in STAGES)
        + " ms, mean over the slowest 1 % "
        + " / ".join(f"{stages[f'tail_{stage}']:.0f}" for stage in STAGES)
        + f" ms; {stages['inserts']:.0f} inserts of p50 {stages['insert_ms_p50']:.1f}, "
        f"p99 {stages['insert_ms_p99']:.1f}, max {stages['insert_ms_max']:.0f} ms; steal {steal:.1f} %"
    )


def cpu_times() -> tuple[int, int]:
    """The machine's (steal, total) CPU time in clock ticks so far (``/proc/stat``)."""
    with open("/proc/stat") as handle:
        fields = [int(value) for value in handle.readline().split()[1:]]
    # user nice system idle iowait irq softirq steal guest guest_nice; guest time is inside user already.
    return fields[7], sum(fields[:8])


def steal_pct(before: tuple[int, int], after: tuple[int, int]) -> float:
    """The share of CPU time the hypervisor gave another guest between two :func:`cpu_times` (%)."""
    total = after[1] - before[1]
    return 100.0 * (after[0] - before[0]) / total if total > 0 else 0.0
