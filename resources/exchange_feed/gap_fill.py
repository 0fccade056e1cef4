"""Filling trade-id gaps from a venue's :class:`~resources.exchange_feed.history.TradeHistory`, in a
worker thread.

The websocket read loop only queues a due gap (see :mod:`resources.exchange_feed.gaps`); this worker
fetches it page by page, hands each page to the sink as it arrives (bounded memory even for an hours-long
gap after a restart) and reports ``gap_filled`` or ``gap_fill_failed`` with counts. It also runs the
feed's tail probes (the venue's newest trade of a quiet symbol), so trades missed just before a venue
went quiet are found too.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import pyarrow.compute as pc

from resources.exchange_feed.base import FeedEvent, FeedSink, FeedStats
from resources.exchange_feed.gaps import Gap, GapLedger
from resources.exchange_feed.history import HistoryError, TradeHistory

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class TailProbe:
    """Ask the venue for ``symbol``'s newest trade id and hand it to ``on_latest(symbol, trade_id)``."""

    symbol: str
    on_latest: Callable[[str, int], None]


class GapFiller:
    """A worker thread that fetches queued gaps over REST and sends their trades to the sink."""

    def __init__(
        self,
        *,
        history: TradeHistory,
        sink: FeedSink,
        stop: threading.Event,
        venue: str,
        stats: FeedStats,
        page_limit: int = 1000,
        max_gap_ids: int = 10_000_000,
        ledger: GapLedger | None = None,
    ) -> None:
        """``ledger``: where resolved gaps are counted for the feed's summary lines."""
        self._history = history
        self._ledger = ledger or GapLedger()
        self._sink = sink
        self._stop = stop
        self._venue = venue
        self._stats = stats
        self._page_limit = page_limit
        self._max_gap_ids = max_gap_ids
        # One lock for the queue and the gap being fetched: a gap taken off the queue is the current one
        # in the same step, so unfilled() (a streamer saving its restart state) never misses it between.
        self._lock = threading.Lock()
        self._ready = threading.Condition(self._lock)
        self._queue: deque[Gap | TailProbe] = deque()
        self._current: Gap | None = None  # remainder of the gap being fetched
        self._failed_gaps: list[Gap] = []
        self._thread = threading.Thread(target=self._work, name=f"{venue}-gap-filler", daemon=True)

    def start(self) -> None:
        """Start the worker."""
        self._thread.start()

    def submit(self, gap: Gap) -> None:
        """Queue ``gap`` for fetching (never blocks)."""
        self._put(gap)

    def probe(self, probe: TailProbe) -> None:
        """Queue a tail probe (never blocks); it runs between gap fills."""
        self._put(probe)

    def _put(self, item: Gap | TailProbe) -> None:
        with self._ready:
            self._queue.append(item)
            self._ready.notify()

    def join(self, timeout_s: float) -> None:
        """Wait for the worker to end (it ends soon after the stop event is set)."""
        self._thread.join(timeout_s)
        if self._thread.is_alive():
            log.warning("%s gap filler did not stop within %.1f s", self._venue, timeout_s)

    def unfilled(self) -> list[Gap]:
        """Gaps that failed, are being fetched or are queued: what a restarted feed (or the day's seal)
        still has to fill."""
        with self._lock:
            out = list(self._failed_gaps)
            if self._current is not None:
                out.append(self._current)
            out.extend(item for item in self._queue if isinstance(item, Gap))
        return out

    def _work(self) -> None:
        while not self._stop.is_set():
            gap = self._take(timeout_s=0.1)
            if gap is None:
                continue
            if isinstance(gap, TailProbe):
                self._probe(gap)
                continue
            try:
                self._fill(gap)
            except Exception as exc:
                # Most likely the sink failed. This thread cannot raise into the feed's caller, so
                # the gap is recorded as failed (still in unfilled()) and the worker carries on.
                log.exception("%s gap filler: unexpected error on %s", self._venue, gap)
                with self._lock:
                    remainder = self._current or gap
                self._failed(remainder, remainder.first_id, 0, f"unexpected {type(exc).__name__}: {exc}")

    def _take(self, timeout_s: float) -> Gap | TailProbe | None:
        """The next queued item (None after ``timeout_s`` without one); a gap becomes the current one."""
        with self._ready:
            if not self._ready.wait_for(lambda: bool(self._queue), timeout_s):
                return None
            item = self._queue.popleft()
            if isinstance(item, Gap):
                self._current = item
            return item

    def _probe(self, probe: TailProbe) -> None:
        try:
            ids = self._history.recent_trades(probe.symbol, limit=1).column("trade_id").to_numpy()
            if len(ids):
                probe.on_latest(probe.symbol, int(ids.max()))
        except HistoryError as exc:
            # Only a lookout: the next probe, the next trade's id jump or the day's seal find the tail.
            log.warning("%s %s: tail probe failed: %s", self._venue, probe.symbol, exc)
        except Exception:
            log.exception("%s %s: tail probe failed unexpectedly", self._venue, probe.symbol)

    def _fill(self, gap: Gap) -> None:
        next_id, filled = gap.first_id, 0
        first_time_us: int | None = None  # exchange time of the first trade filled: the gap's day
        if gap.count > self._max_gap_ids:
            # Likely a bogus id from the venue; fetching it would page through REST for hours.
            self._failed(
                gap, next_id, 0, f"{gap.count} ids is more than max_gap_fill_ids={self._max_gap_ids}"
            )
            return
        pages = self._history.trades_by_id(gap.symbol, gap.first_id, gap.last_id, page_limit=self._page_limit)
        while next_id <= gap.last_id:
            if self._stop.is_set():
                return  # the remainder stays in self._current for unfilled()
            try:
                page = next(pages, None)
            except HistoryError as exc:
                if self._stop.is_set():
                    return
                self._failed(gap, next_id, filled, str(exc), first_time_us)
                return
            if page is None:
                self._failed(
                    gap, next_id, filled, f"the venue returned no trades from id {next_id}", first_time_us
                )
                return
            for frame in page.malformed:
                log.warning("%s gap fill: malformed trade: %s", self._venue, frame.reason)
                self._sink.on_malformed(frame)
            self._sink.on_ticks(page.ticks)
            if first_time_us is None and page.ticks.num_rows:
                first_time_us = int(pc.min(page.ticks["trade_time_us"]).as_py())
            filled += page.ids
            self._stats.gap_filled_ticks += page.ids
            next_id = page.next_id
            # What is left, should the feed stop before the next page.
            left = (
                Gap(symbol=gap.symbol, first_id=next_id, last_id=gap.last_id)
                if next_id <= gap.last_id
                else None
            )
            with self._lock:
                self._current = left
        detail = f"ids {gap.first_id}..{gap.last_id}"
        skipped = gap.count - filled
        self._ledger.resolved(filled=filled, failed=skipped)
        # One log line per gap, here where it is resolved (found: debug; the summaries count them).
        if skipped > 0:
            # Ids are consecutive, so a shortfall means the venue itself lacks some of them.
            log.warning(
                "%s %s: gap %s: filled %d of %d missing trades; the venue lacks the other %d",
                self._venue,
                gap.symbol,
                detail,
                filled,
                gap.count,
                skipped,
            )
            self._event("gap_fill_failed", gap, skipped, f"{detail}: the venue skipped ids")
        else:
            log.info("%s %s: gap %s: filled %d missing trades", self._venue, gap.symbol, detail, filled)
        self._event("gap_filled", gap, filled, detail, trade_time_us=first_time_us)

    def _failed(
        self, gap: Gap, next_id: int, filled: int, reason: str, first_time_us: int | None = None
    ) -> None:
        missing = gap.last_id - next_id + 1
        self._ledger.resolved(filled=filled, failed=missing)
        with self._lock:
            self._failed_gaps.append(Gap(symbol=gap.symbol, first_id=next_id, last_id=gap.last_id))
            self._current = None
        log.error(
            "%s %s: gap ids %d..%d: filled %d, %d trades could not be fetched: %s",
            self._venue,
            gap.symbol,
            gap.first_id,
            gap.last_id,
            filled,
            missing,
            reason,
        )
        if filled:
            self._event(
                "gap_filled",
                gap,
                filled,
                f"ids {gap.first_id}..{next_id - 1} (partial)",
                last_id=next_id - 1,
                trade_time_us=first_time_us,
            )
        self._event(
            "gap_fill_failed", gap, missing, f"ids {next_id}..{gap.last_id}: {reason}", first_id=next_id
        )

    def _event(
        self,
        kind: str,
        gap: Gap,
        count: int,
        detail: str,
        *,
        first_id: int | None = None,
        last_id: int | None = None,
        trade_time_us: int | None = None,
    ) -> None:
        self._sink.on_event(
            FeedEvent(
                kind=kind,  # type: ignore[arg-type]
                venue=self._venue,
                symbol=gap.symbol,
                detail=detail,
                count=count,
                first_id=gap.first_id if first_id is None else first_id,
                last_id=gap.last_id if last_id is None else last_id,
                trade_time_us=trade_time_us,
            )
        )
