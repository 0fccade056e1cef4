"""A websocket feed for venues with consecutive per-symbol trade ids: gaps found and filled from history.

Such ids make a jump lost data. After each flush the feed runs the batch's ids through a
:class:`~resources.exchange_feed.gaps.GapTracker`; a gap still open after ``gap_grace_s`` (late,
reordered trades shrink it meanwhile) is reported as ``gap_found`` and fetched by a
:class:`~resources.exchange_feed.gap_fill.GapFiller` thread from the venue's
:class:`~resources.exchange_feed.history.TradeHistory`. A reconnect needs nothing special: the first id
after it jumps from the last id before the drop. Venues add their URL, subscriptions, parser and history
(see :mod:`resources.exchange_feed.binance.stream`).
"""

from __future__ import annotations

import abc
import logging
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from resources.exchange_feed.base import FeedConfig, FeedEvent, FeedSink
from resources.exchange_feed.gap_fill import GapFiller, TailProbe
from resources.exchange_feed.gaps import Gap, GapLedger, GapTracker
from resources.exchange_feed.history import TradeHistory
from resources.exchange_feed.websocket import WebSocketFeed
from resources.exchange_feed.wire import ParsedBatch

log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class IdFeedConfig(FeedConfig):
    """Gap detection and filling of a feed whose venue numbers trades consecutively per symbol."""

    gap_grace_s: float = 0.5
    """How long a gap may wait for late (reordered) trades before it is fetched from history."""
    max_gap_fill_ids: int = 10_000_000
    """Larger gaps are reported as ``gap_fill_failed`` unfetched (a bogus id would page history for hours)."""
    rest_page_limit: int = 1000
    """Trades per history page."""
    rest_timeout_s: float = 10.0
    """Timeout of one history request."""
    tail_probe_after_s: float = 2.0
    """Ask the history for a symbol's newest trade id once no new id arrived for this long: trades missed
    just before a symbol went quiet (a drop, a skipped last trade, a restart in a quiet spell) show no id
    jump until its next trade, which may be far off. 0 turns the probes off."""
    tail_probe_max_s: float = 60.0
    """Each probe that finds nothing doubles the quiet time before the next one, up to this (REST weight)."""
    gap_summary_interval_s: float = 60.0
    """Log one summary line of the gaps found and filled this often (only when there were some); each
    gap also gets one line when it is filled or given up, and the run ends with a closing summary."""

    def __post_init__(self) -> None:
        super().__post_init__()
        name = type(self).__name__
        if not 0 <= self.tail_probe_after_s <= self.tail_probe_max_s:
            raise ValueError(
                f"{name}.tail_probe_after_s={self.tail_probe_after_s} must be >= 0 (0: off) and at "
                f"most tail_probe_max_s={self.tail_probe_max_s}"
            )
        if self.gap_summary_interval_s <= 0:
            raise ValueError(f"{name}.gap_summary_interval_s={self.gap_summary_interval_s} must be positive")
        if self.gap_grace_s < 0 or self.rest_page_limit < 1:
            raise ValueError(f"{name}.gap_grace_s must be >= 0 and rest_page_limit >= 1")


class IdGapFeed(WebSocketFeed):
    """A :class:`WebSocketFeed` that finds trade-id gaps and fills them from the venue's history."""

    def __init__(
        self,
        config: IdFeedConfig,
        *,
        venue: str,
        initial_last_ids: Mapping[str, int] | None = None,
        initial_gaps: Mapping[str, Sequence[tuple[int, int]]] | None = None,
    ) -> None:
        """``initial_last_ids``: highest id already published per symbol (a restarted streamer); the gap
        from it to the first id received is filled. ``initial_gaps``: ranges known missing (e.g. a
        previous run's :meth:`unfilled_gaps`), fetched at start."""
        super().__init__(config, venue=venue)
        self.config: IdFeedConfig = config
        self._tracker = GapTracker(
            grace_s=config.gap_grace_s, initial_last_ids=initial_last_ids, initial_gaps=initial_gaps
        )
        # The read thread updates the tracker once per flush; the lock lets other threads (metrics,
        # a streamer saving its state) read last_ids()/unfilled_gaps() at any time.
        self._tracker_lock = threading.Lock()
        self._filler: GapFiller | None = None
        self._releasing: list[Gap] = []  # due gaps between the tracker and the filler (_release_due)
        self._history: TradeHistory | None = None
        self._sink: FeedSink | None = None
        # Tail probes (read thread): when each symbol's highest id last grew, and how long it must stay
        # quiet before the next probe.
        self._quiet_since: dict[str, float] = {}
        self._probe_wait: dict[str, float] = {}
        self._gap_ledger = GapLedger()
        self._next_gap_summary = 0.0

    # --- hooks for venues -------------------------------------------------------------------------

    @abc.abstractmethod
    def _new_history(self, stop: threading.Event) -> TradeHistory:
        """The venue's history for gap fills and tail probes; its waits end when ``stop`` is set."""

    def _history_display(self) -> str:
        """Where gaps are fetched from, as it may appear in logs (no secrets)."""
        return repr(self._history)

    # --- state ------------------------------------------------------------------------------------

    def last_ids(self) -> dict[str, int]:
        """Highest trade id seen per symbol (persist it to pass as ``initial_last_ids`` after a restart)."""
        with self._tracker_lock:
            return self._tracker.last_ids()

    def unfilled_gaps(self) -> dict[str, list[tuple[int, int]]]:
        """Gaps not (yet) filled: pending, queued, being fetched or failed. Persist with :meth:`last_ids`."""
        # Under the tracker's lock, as _release_due moves gaps to the filler: a gap is always in one place.
        with self._tracker_lock:
            out = self._tracker.pending()
            for gap in [*self._releasing, *(self._filler.unfilled() if self._filler else [])]:
                out.setdefault(gap.symbol, []).append((gap.first_id, gap.last_id))
        return {symbol: sorted(ranges) for symbol, ranges in out.items()}

    # --- WebSocketFeed hooks ----------------------------------------------------------------------

    def _on_start(self, sink: FeedSink, stop: threading.Event) -> None:
        cfg = self.config
        self._history = history = self._new_history(stop)
        self._sink = sink
        self._filler = GapFiller(
            history=history,
            sink=sink,
            stop=stop,
            venue=self.venue,
            stats=self.stats,
            page_limit=cfg.rest_page_limit,
            max_gap_ids=cfg.max_gap_fill_ids,
            ledger=self._gap_ledger,
        )
        self._filler.start()
        now = time.monotonic()
        self._next_gap_summary = now + cfg.gap_summary_interval_s
        self._quiet_since = dict.fromkeys(cfg.symbols, now)
        self._probe_wait = dict.fromkeys(cfg.symbols, cfg.tail_probe_after_s)
        self._release_due(now)  # initial gaps are due at once

    def _on_finish(self) -> None:
        if self._filler is not None:
            self._filler.join(timeout_s=self.config.rest_timeout_s + 1.0)
        if self._history is not None:
            self._history.close()
        tally = self._gap_ledger.run
        if tally:
            open_ids = sum(
                last - first + 1 for ranges in self.unfilled_gaps().values() for first, last in ranges
            )
            log.log(
                logging.WARNING if open_ids else logging.INFO,
                "%s feed stopped; gaps this run: %s; %d ids still missing",
                self.venue,
                tally.describe(),
                open_ids,
            )

    def _deliver(self, batch: ParsedBatch, sink: FeedSink) -> None:
        if batch.ticks.num_rows:
            # The ids are observed before the ticks are published: once the streamer holds a batch, the
            # gaps its ids open are in unfilled_gaps(), so a restart state never covers a jump without them.
            now = time.monotonic()
            with self._tracker_lock:
                before = self._tracker.last_ids()
                self.stats.duplicates += self._tracker.observe_table(batch.ticks, now)
                after = self._tracker.last_ids()
            sink.on_ticks(batch.ticks)
            for symbol, last_id in after.items():
                if before.get(symbol) != last_id:
                    self._quiet_since[symbol] = now
        self._deliver_rest(batch, sink)

    def _housekeeping(self, sink: FeedSink, now: float) -> None:
        self._probe_quiet_symbols(now)
        self._release_due(now)
        if now >= self._next_gap_summary:
            self._next_gap_summary = now + self.config.gap_summary_interval_s
            period = self._gap_ledger.take_period()
            if period:
                log.info(
                    "%s feed: gaps in the last %.0f s: %s",
                    self.venue,
                    self.config.gap_summary_interval_s,
                    period.describe(),
                )

    # --- gaps -------------------------------------------------------------------------------------

    def _probe_quiet_symbols(self, now: float) -> None:
        cfg = self.config
        if cfg.tail_probe_after_s <= 0 or self._filler is None:
            return
        with self._tracker_lock:
            known = self._tracker.last_ids()
        for symbol, quiet_since in self._quiet_since.items():
            # A symbol never seen (and without restart state) has no tail to miss.
            if symbol in known and now - quiet_since >= self._probe_wait[symbol]:
                self._quiet_since[symbol] = now
                self._probe_wait[symbol] = min(self._probe_wait[symbol] * 2, cfg.tail_probe_max_s)
                self._filler.probe(TailProbe(symbol, self._on_latest))

    def _on_latest(self, symbol: str, latest_id: int) -> None:
        """A tail probe's answer (gap-filler thread): the ids above the highest seen become a pending gap."""
        with self._tracker_lock:
            opened = self._tracker.observe_latest(symbol, latest_id, time.monotonic())
        if opened:
            self._probe_wait[symbol] = self.config.tail_probe_after_s
            log.info(
                "%s %s: the venue's newest trade is id %d, beyond the last one received",
                self.venue,
                symbol,
                latest_id,
            )

    def _release_due(self, now: float) -> None:
        assert self._filler is not None and self._sink is not None
        filler = self._filler
        # A due gap leaves the tracker, is reported found, then queued; _releasing holds it meanwhile so
        # that unfilled_gaps() never misses it (the events stay in order: found before filled).
        with self._tracker_lock:
            due = self._releasing = self._tracker.due(now)
        for gap in due:
            self._report_found(gap)
        with self._tracker_lock:
            for gap in due:
                filler.submit(gap)
            self._releasing = []

    def _report_found(self, gap: Gap) -> None:
        detail = f"ids {gap.first_id}..{gap.last_id} missing; fetching from {self._history_display()}"
        # Debug only: the gap gets its one line when the filler resolves it, and the summaries count it.
        log.debug("%s %s: %s", self.venue, gap.symbol, detail)
        self._gap_ledger.found(gap)
        assert self._sink is not None
        self._sink.on_event(
            FeedEvent(kind="gap_found", venue=self.venue, symbol=gap.symbol, detail=detail, count=gap.count)
        )
