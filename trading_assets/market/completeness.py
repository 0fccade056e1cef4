"""Whether a day's trades cover the whole UTC day: a pure rule over trade times, tested without storage.

A day is complete when no stretch of it, counted from midnight to the first trade, between consecutive
trades (of any symbol) and from the last trade to the next midnight, is longer than ``max_silence_us``.
A stream that stopped at 23:28, started late, or lost an hour in the middle fails it; a venue quiet for
a few minutes does not.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from trading_assets.core.time import US_PER_MINUTE, day_bounds_us

MAX_SILENCE_US = 15 * US_PER_MINUTE
"""Longest stretch of a day without any trade that still counts as covered."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DayCoverage:
    """How a day's trades cover it."""

    passed: bool
    """True when no stretch without trades is longer than the allowed silence."""
    head_silence_us: int
    """From midnight to the first trade (the whole day when there are no trades)."""
    tail_silence_us: int
    """From the last trade to the next midnight (the whole day when there are no trades)."""
    longest_inner_silence_us: int
    """Longest stretch between consecutive trades inside the day."""
    longest_inner_silence_start_us: int | None
    """Trade time at which that stretch began, if there were two trades."""
    covered_fraction: float
    """Share of the day not inside a stretch longer than the allowed silence (1.0: complete)."""


def day_coverage(ticks: pa.Table, day: dt.date, *, max_silence_us: int = MAX_SILENCE_US) -> DayCoverage:
    """Coverage of ``day`` by the trade times of ``ticks`` (trades outside the day are ignored)."""
    start_us, end_us = day_bounds_us(day)
    times = np.sort(ticks.column("trade_time_us").to_numpy())
    times = times[(times >= start_us) & (times < end_us)]
    if times.size == 0:
        whole = end_us - start_us
        return DayCoverage(
            passed=False,
            head_silence_us=whole,
            tail_silence_us=whole,
            longest_inner_silence_us=0,
            longest_inner_silence_start_us=None,
            covered_fraction=0.0,
        )
    head = int(times[0] - start_us)
    tail = int(end_us - times[-1])
    steps = np.diff(times)
    longest = int(steps.max()) if steps.size else 0
    longest_at = int(times[int(steps.argmax())]) if steps.size else None
    silences = np.concatenate([[head], steps, [tail]])
    uncovered = int(silences[silences > max_silence_us].sum())
    return DayCoverage(
        passed=max(head, tail, longest) <= max_silence_us,
        head_silence_us=head,
        tail_silence_us=tail,
        longest_inner_silence_us=longest,
        longest_inner_silence_start_us=longest_at,
        covered_fraction=1.0 - uncovered / (end_us - start_us),
    )
