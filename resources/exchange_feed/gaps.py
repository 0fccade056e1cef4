"""Trade-id gap detection for venues with consecutive per-symbol trade ids (Binance), batch at a time.

Per symbol the tracker keeps the highest id seen and the pending gaps: id ranges skipped by a jump.
A trade that arrives late (reordered) inside a pending gap shrinks it. A gap still open after the grace
period is *due*: the feed then fetches it over REST. An id at or below the highest seen that is in no
pending gap is a duplicate: passed through (the store dedups by key) and counted.

Work is per batch (one numpy pass per symbol), never per tick, so it keeps up with the read loop.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


@dataclass(frozen=True, slots=True, kw_only=True)
class Gap:
    """Missing trade ids ``first_id .. last_id`` (inclusive) of one symbol."""

    symbol: str
    """Symbol whose trades are missing."""
    first_id: int
    """First missing id."""
    last_id: int
    """Last missing id."""

    @property
    def count(self) -> int:
        """Number of missing ids."""
        return self.last_id - self.first_id + 1


class GapTracker:
    """Finds gaps in per-symbol trade ids; not thread-safe (the feed's read thread owns it)."""

    def __init__(
        self,
        *,
        grace_s: float,
        initial_last_ids: Mapping[str, int] | None = None,
        initial_gaps: Mapping[str, Sequence[tuple[int, int]]] | None = None,
    ) -> None:
        """``initial_last_ids``: the highest id already published per symbol (a restarted streamer), so
        the first id received opens a gap from it. ``initial_gaps``: ranges known to be missing; due at once."""
        self.grace_s = grace_s
        self._highest: dict[str, int] = dict(initial_last_ids or {})
        # symbol -> sorted, disjoint [first_id, last_id, found_at] lists
        self._pending: dict[str, list[list[float]]] = {}
        for symbol, ranges in (initial_gaps or {}).items():
            for first, last in ranges:
                if first <= last:
                    self._insert(symbol, first, last, float("-inf"))

    def last_ids(self) -> dict[str, int]:
        """Highest trade id seen per symbol."""
        return dict(self._highest)

    def pending(self) -> dict[str, list[tuple[int, int]]]:
        """Gaps not yet due, per symbol, as ``(first_id, last_id)``."""
        return {s: [(int(g[0]), int(g[1])) for g in gaps] for s, gaps in self._pending.items() if gaps}

    def observe_table(self, ticks: pa.Table, now: float) -> int:
        """Observe the ids of a tick table received at monotonic time ``now``; return its duplicates."""
        if ticks.num_rows == 0:
            return 0
        symbols = ticks.column("symbol")
        ids = ticks.column("trade_id").to_numpy()
        distinct = pc.unique(symbols).to_pylist()
        if len(distinct) == 1:
            return self.observe(distinct[0], ids, now)
        codes = pc.index_in(symbols, value_set=pa.array(distinct, pa.string())).to_numpy(zero_copy_only=False)
        return sum(self.observe(symbol, ids[codes == i], now) for i, symbol in enumerate(distinct))

    def observe(self, symbol: str, ids: np.ndarray, now: float) -> int:
        """Observe trade ids of ``symbol`` in arrival order at monotonic time ``now``; return duplicates."""
        if len(ids) == 0:
            return 0
        ids = np.asarray(ids, dtype=np.int64)
        highest = self._highest.get(symbol)
        # Without a reference (first sight), holes are only looked for inside the batch.
        baseline = int(ids.min()) - 1 if highest is None else highest
        new = np.unique(ids[ids > baseline])
        duplicates = int(np.count_nonzero(ids > baseline)) - len(new)
        if len(new):
            previous = np.concatenate(([baseline], new[:-1]))
            holes = np.flatnonzero(new - previous > 1)
            for first, last in zip((previous[holes] + 1).tolist(), (new[holes] - 1).tolist(), strict=True):
                self._insert(symbol, first, last, now)
            self._highest[symbol] = int(new[-1])
        late = ids[ids <= baseline]
        if len(late):
            late_unique = np.unique(late)
            duplicates += len(late) - len(late_unique)
            duplicates += sum(not self._fill(symbol, int(trade_id)) for trade_id in late_unique.tolist())
        return duplicates

    def due(self, now: float) -> list[Gap]:
        """Remove and return the gaps whose grace period has passed at monotonic time ``now``."""
        out: list[Gap] = []
        for symbol, gaps in self._pending.items():
            if not gaps:
                continue
            keep = []
            for gap in gaps:
                if gap[2] + self.grace_s <= now:
                    out.append(Gap(symbol=symbol, first_id=int(gap[0]), last_id=int(gap[1])))
                else:
                    keep.append(gap)
            self._pending[symbol] = keep
        return out

    def observe_latest(self, symbol: str, latest_id: int, now: float) -> bool:
        """The venue says ``latest_id`` is ``symbol``'s newest trade: ids above the highest seen, up to it,
        become a pending gap (trades still on their way over the websocket shrink it as late arrivals).

        Returns whether a gap opened. Without a highest id (nothing seen, no restart state) nothing is
        assumed: where a first streamer starts is not a gap.
        """
        highest = self._highest.get(symbol)
        if highest is None or latest_id <= highest:
            return False
        self._insert(symbol, highest + 1, latest_id, now)
        self._highest[symbol] = latest_id
        return True

    def _insert(self, symbol: str, first: int, last: int, found_at: float) -> None:
        gaps = self._pending.setdefault(symbol, [])
        # New gaps lie above every earlier one (ids only grow), except initial gaps: keep the list sorted.
        bisect.insort(gaps, [first, last, found_at])

    def _fill(self, symbol: str, trade_id: int) -> bool:
        """Remove ``trade_id`` from the pending gaps of ``symbol``; return whether it was in one."""
        gaps = self._pending.get(symbol)
        if not gaps:
            return False
        i = bisect.bisect_right(gaps, [trade_id, float("inf"), float("inf")]) - 1
        if i < 0 or not gaps[i][0] <= trade_id <= gaps[i][1]:
            return False
        first, last, found_at = gaps[i]
        pieces = [[lo, hi, found_at] for lo, hi in ((first, trade_id - 1), (trade_id + 1, last)) if lo <= hi]
        gaps[i : i + 1] = pieces
        return True


@dataclass(slots=True, kw_only=True)
class GapTally:
    """Gaps found and resolved over a span of time (a summary period, or a whole run)."""

    found: int = 0
    """Gaps found."""
    found_ids: int = 0
    """Trade ids missing in them."""
    filled_ids: int = 0
    """Ids fetched over REST."""
    failed_ids: int = 0
    """Ids that could not be fetched (the venue lacks them, or REST failed)."""

    def __bool__(self) -> bool:
        return bool(self.found or self.filled_ids or self.failed_ids)

    def describe(self) -> str:
        """One line: ``3 gaps (120 ids missing), 118 ids filled, 2 failed``."""
        return (
            f"{self.found} gaps ({self.found_ids} ids missing), {self.filled_ids} ids filled, "
            f"{self.failed_ids} failed"
        )


@dataclass(slots=True)
class GapLedger:
    """Counts gaps for the feed's summary log lines; thread-safe (the read thread finds gaps, the gap
    filler resolves them). Each gap gets one log line of its own when it is resolved; the ledger feeds
    the periodic and closing summaries."""

    run: GapTally = field(default_factory=GapTally)
    """Since the feed started."""
    period: GapTally = field(default_factory=GapTally)
    """Since the last periodic summary."""
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def found(self, gap: Gap) -> None:
        """A gap was found."""
        with self._lock:
            for tally in (self.run, self.period):
                tally.found += 1
                tally.found_ids += gap.count

    def resolved(self, *, filled: int, failed: int) -> None:
        """Ids of a gap were fetched (``filled``) or given up (``failed``)."""
        with self._lock:
            for tally in (self.run, self.period):
                tally.filled_ids += filled
                tally.failed_ids += failed

    def take_period(self) -> GapTally:
        """The period's tally, starting a new period."""
        with self._lock:
            period, self.period = self.period, GapTally()
        return period
