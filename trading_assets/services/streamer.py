"""The streamer: exchange feeds -> validation -> tick bus, with dead letters, metrics, heartbeat and state.

Feeds run in their own threads and hand parsed tick tables to :class:`Streamer` (their sink). The streamer
validates each table column-wise, publishes the good rows, sends malformed frames and invalid ticks to the
dead letters with the reason, and every ``flush_interval_s`` waits for the bus to acknowledge what was
published. Only after an acknowledgement does it record, per symbol, the last trade id published
and the feeds' still-open gaps, as the restart state of its own service instance in the service-state
store (:mod:`resources.service_state`): a restarted streamer with the same identity (venues, symbols,
host, name) hands both to its feeds, which fill what is missing from the venue's REST history, so a kill
loses nothing; a streamer on other symbols never sees them. Gaps the feeds filled are recorded in the
same store (once their ticks are durable), for the day's seal to report.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from resources.bus.base import BusError, DeadLetter, TickBus
from resources.exchange_feed.base import ExchangeFeed, FeedEvent
from resources.exchange_feed.wire import MalformedFrame
from resources.service_state import (
    LiveGapFill,
    RestartState,
    ServiceInstance,
    ServiceStateStore,
    ServiceStateUnavailableError,
)
from resources.service_state.base import Status
from trading_assets.core.time import date_of
from trading_assets.core.validation import DEFAULT_MAX_FUTURE_US, validate_table
from trading_assets.services.heartbeat import HeartbeatWriter, now_us
from trading_assets.services.metrics import StreamerMetrics

log = logging.getLogger(__name__)


class FeedsStoppedError(RuntimeError):
    """Every feed of a streamer stopped while the streamer was meant to run (each feed's error is logged)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class StreamerConfig:
    """How the streamer publishes."""

    flush_interval_s: float = 0.05
    """How often to wait for the bus to acknowledge what was published."""
    heartbeat_interval_s: float = 1.0
    """How often to write the heartbeat and the last-ids state."""
    max_future_us: int = DEFAULT_MAX_FUTURE_US
    """Ticks whose trade time is further ahead of their receive time are rejected."""


StreamerState = RestartState
"""What a restarted streamer needs so that nothing is lost across the restart (last ids, open gaps)."""


def load_state(store: ServiceStateStore, instance: ServiceInstance) -> RestartState:
    """The state ``instance`` left last (empty on its first start; never another instance's)."""
    return store.restart_state(instance) or RestartState.empty()


def save_state(store: ServiceStateStore, instance: ServiceInstance, state: RestartState) -> None:
    """Replace the restart state of ``instance`` (a new exchange, e.g. ``tradegraph run``'s own, starts
    from a reset one)."""
    store.save_restart_state(instance, state)


@dataclass(slots=True)
class _Unacked:
    """Published but not yet acknowledged by the bus."""

    oldest_receive_us: int
    newest_trade_us: int
    last_ids: dict[tuple[str, str], int]


class Streamer:
    """Runs feeds and publishes what they deliver; implements the feeds' sink."""

    def __init__(
        self,
        *,
        feeds: Sequence[ExchangeFeed],
        bus: TickBus,
        state: ServiceStateStore,
        instance: ServiceInstance,
        config: StreamerConfig | None = None,
        metrics: StreamerMetrics | None = None,
        durable: Callable[[int], bool] | None = None,
    ) -> None:
        """``durable(n)``: when the bus's acknowledgement alone does not make ticks durable (the in-process
        bus), a check that returns True once the first ``n`` published ticks are stored (it may wait)."""
        self.feeds = list(feeds)
        self._durable = durable
        self.bus = bus
        self.state = state
        self.instance = instance
        self._heartbeat = HeartbeatWriter(state, instance)
        self.config = config or StreamerConfig()
        self.metrics = metrics or StreamerMetrics()
        self.published = 0
        self.dead_lettered = 0
        self._lock = threading.Lock()
        self._unacked: list[_Unacked] = []
        self._last_ids = load_state(state, instance).last_ids
        self._gap_fills: list[LiveGapFill] = []  # filled by the feeds, not yet recorded in the store
        self._newest_trade_us: int | None = None
        self._bus_failed = False  # a flush lost records: no state is saved from then on

    # --- the feeds' sink (called from feed threads) -------------------------------------------------

    def on_ticks(self, ticks: pa.Table) -> None:
        """Validate and publish a table of ticks from a feed."""
        if ticks.num_rows == 0:
            return
        checked = validate_table(ticks, max_future_us=self.config.max_future_us)
        for rejected in checked.rejected:
            row = ticks.slice(rejected.row, 1).to_pylist()[0]
            self._dead_letter(
                str(row["venue"]), orjson.dumps(row), f"invalid tick: {rejected.reason}", "invalid"
            )
        valid = checked.valid
        if valid.num_rows == 0:
            return
        self.bus.publish(valid)
        counts, last_ids = _counts_and_max_ids(valid)
        unacked = _Unacked(
            oldest_receive_us=int(pc.min(valid["receive_time_us"]).as_py()),
            newest_trade_us=int(pc.max(valid["trade_time_us"]).as_py()),
            last_ids=last_ids,
        )
        with self._lock:
            self._unacked.append(unacked)
            self.published += valid.num_rows
        for (venue, symbol), count in counts.items():
            self.metrics.ticks.labels(venue=venue, symbol=symbol).inc(count)

    def on_malformed(self, frame: MalformedFrame) -> None:
        """Send a frame that could not be parsed to the dead letters."""
        self._dead_letter(frame.venue, bytes(frame.raw), frame.reason, "malformed")

    def on_event(self, event: FeedEvent) -> None:
        """Count connection and gap events."""
        counters = {
            "reconnect": self.metrics.reconnects,
            "gap_found": self.metrics.gaps_found,
            "gap_filled": self.metrics.gaps_filled,
            "gap_fill_failed": self.metrics.gap_fill_failures,
        }
        if event.kind == "gap_filled" and event.count > 0 and event.symbol is not None:
            self._note_gap_fill(event)
        counter = counters.get(event.kind)
        if counter is not None:
            counter.labels(venue=event.venue).inc(max(event.count, 1) if event.kind != "reconnect" else 1)
        # The feed logs each event once, with its context; repeating it here doubled every line.
        log.debug("feed event: %s", event.describe())

    def _note_gap_fill(self, event: FeedEvent) -> None:
        if event.first_id is None or event.last_id is None or event.trade_time_us is None:
            return  # a feed that does not say which ids or day: counted in the metrics only
        assert event.symbol is not None
        fill = LiveGapFill(
            instance_key=self.instance.key,
            venue=event.venue,
            symbol=event.symbol,
            day=date_of(event.trade_time_us),
            first_id=event.first_id,
            last_id=event.last_id,
            filled=event.count,
            recorded_us=now_us(),
        )
        with self._lock:
            self._gap_fills.append(fill)

    def _dead_letter(self, venue: str, raw: bytes, reason: str, kind: str) -> None:
        self.bus.publish_dead_letter(
            DeadLetter(topic=f"feed.{venue}", partition=-1, offset=-1, key=None, value=raw, reason=reason)
        )
        self.metrics.dead_letters.labels(venue=venue, kind=kind).inc()
        with self._lock:
            self.dead_lettered += 1

    # --- the service loop ---------------------------------------------------------------------------

    def last_ids(self) -> dict[str, dict[str, int]]:
        """Last acknowledged trade id per venue and symbol."""
        with self._lock:
            return {venue: dict(ids) for venue, ids in self._last_ids.items()}

    def acknowledge(self) -> bool:
        """Wait until everything published so far is durable; then record it as done.

        Returns False when it could not be confirmed yet (it is then retried at the next call).
        """
        with self._lock:
            taken = self._take_unacked()
        return self._confirm(*taken)

    def _take_unacked(self) -> tuple[list[_Unacked], int]:
        """What was published and not yet acknowledged, and the publish count it brings us to (hold the
        lock)."""
        batch, self._unacked = self._unacked, []
        return batch, self.published

    def _confirm(self, batch: list[_Unacked], target: int) -> bool:
        """Wait until ``batch`` is durable, then record its last ids. False if it is not durable yet (it is
        put back for the next call), or if the bus lost records before (then never again)."""
        if self._bus_failed:
            return False
        if not batch:
            return True
        try:
            self.bus.flush()
        except BusError:
            # The bus drops the records it could not deliver, so a later flush cannot vouch for them:
            # acknowledging what came after would save ids past a hole. Save nothing more; the streamer
            # stops, and a restart fetches from the last ids saved.
            self._bus_failed = True
            raise
        if self._durable is not None and not self._durable(target):
            with self._lock:
                self._unacked = batch + self._unacked
            return False
        now = now_us()
        with self._lock:
            for unacked in batch:
                self.metrics.publish_latency.observe(max(now - unacked.oldest_receive_us, 0) / 1e6)
                for (venue, symbol), trade_id in unacked.last_ids.items():
                    ids = self._last_ids.setdefault(venue, {})
                    ids[symbol] = max(ids.get(symbol, trade_id), trade_id)
                newest = unacked.newest_trade_us
                self._newest_trade_us = max(self._newest_trade_us or newest, newest)
        return True

    def beat(self, *, status: Status = "running") -> None:
        """Save the restart state, record the gaps filled since the last beat, write the heartbeat."""
        # The feeds' open gaps are taken in the same step as the ticks to acknowledge, under the lock that
        # every publish takes. Every gap a taken batch opened is then either still open (saved, and fetched
        # again by the next streamer if this one dies) or filled with its ticks published before the step,
        # so the flush covers them. (Feeds note a batch's gaps before they publish it.)
        with self._lock:
            taken = self._take_unacked()
            gaps = {feed.venue: feed.unfilled_gaps() for feed in self.feeds}
            fills = list(self._gap_fills)
        if not self._confirm(*taken):
            # Not durable yet: keep the previous state, it is still true. A last beat still says that
            # this instance stopped (rather than died), so the health sensor does not call it dead.
            if status == "stopped":
                self._write_heartbeat(status)
            return
        with self._lock:
            ids = {venue: dict(v) for venue, v in self._last_ids.items()}
        state = RestartState(last_ids=ids, gaps={v: g for v, g in gaps.items() if g})
        try:
            save_state(self.state, self.instance, state)
            self.state.record_gap_fills(fills)
        except ServiceStateUnavailableError as exc:
            # The saved state stays true (older ids only mean more to fetch again); the next beat retries.
            # The heartbeat would meet the same unreachable store: skip it rather than wait twice.
            log.warning("%s: restart state not saved (%s); trying again next beat", self.instance.label, exc)
            return
        with self._lock:
            del self._gap_fills[: len(fills)]
        self._write_heartbeat(status)

    def _write_heartbeat(self, status: Status) -> None:
        with self._lock:
            published, newest, dead = self.published, self._newest_trade_us, self.dead_lettered
        self._heartbeat.beat(
            ticks=published, last_trade_time_us=newest, detail={"dead_letters": float(dead)}, status=status
        )
        self.metrics.heartbeat.set(time.time())

    def run(self, stop: threading.Event) -> None:
        """Run every feed in its own thread until ``stop`` is set; then flush, beat and return.

        Raises :class:`FeedsStoppedError` once every feed has stopped while ``stop`` was not set (a feed
        ends only when asked to, or by raising): after flushing, without saying it stopped, so the
        stream-health sensor names it dead and a supervisor restarts it.
        """
        feed_errors: list[Exception] = []

        def run_feed(feed: ExchangeFeed) -> None:
            try:
                feed.run(self, stop)
            except Exception as exc:
                # Kept for the streamer's own error; the other feeds stream on meanwhile.
                log.exception("%s feed failed", feed.venue)
                feed_errors.append(exc)

        threads = [
            threading.Thread(target=run_feed, args=(feed,), name=f"feed-{i}", daemon=True)
            for i, feed in enumerate(self.feeds)
        ]
        for thread in threads:
            thread.start()
        next_beat = 0.0
        failed = False
        feeds_stopped = False
        try:
            while not stop.is_set():
                stop.wait(self.config.flush_interval_s)
                self.acknowledge()
                if time.monotonic() >= next_beat:
                    self.beat()
                    next_beat = time.monotonic() + self.config.heartbeat_interval_s
                # Checked after the stop: feeds asked to stop end on their own, which is no failure.
                if not stop.is_set() and not any(thread.is_alive() for thread in threads):
                    log.error("every feed has stopped; the streamer stops too")
                    feeds_stopped = True
                    stop.set()
        except Exception:
            failed = True
            raise
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=10)
            # Feeds may hand over a last batch while stopping: acknowledge it before the final beat.
            self.acknowledge()
            # A streamer that fails (the bus lost records) does not say it stopped: its heartbeat goes
            # silent and the stream-health sensor names it dead, as it would a killed one.
            self.beat(status="running" if failed or feeds_stopped else "stopped")
            log.info(
                "streamer stopped: %d ticks published, %d dead letters", self.published, self.dead_lettered
            )
        if feeds_stopped:
            raise FeedsStoppedError(
                f"every feed of the streamer stopped ({len(feed_errors)} of {len(threads)} with an error, "
                "logged above); fix what the first error names and start the streamer again"
            ) from (feed_errors[0] if feed_errors else None)


def _counts_and_max_ids(
    table: pa.Table,
) -> tuple[dict[tuple[str, str], int], dict[tuple[str, str], int]]:
    """Ticks per (venue, symbol), and the highest trade id of those that have one (ids >= 0; venues without
    ids get negative content keys): one grouping of the table for both."""
    grouped = table.group_by(["venue", "symbol"]).aggregate([("trade_id", "count"), ("trade_id", "max")])
    keys = list(zip(grouped["venue"].to_pylist(), grouped["symbol"].to_pylist(), strict=True))
    counts = dict(zip(keys, grouped["trade_id_count"].to_pylist(), strict=True))
    # A group's highest id is >= 0 exactly when it has an id >= 0, and then it is the highest of those.
    max_ids = {key: i for key, i in zip(keys, grouped["trade_id_max"].to_pylist(), strict=True) if i >= 0}
    return counts, max_ids


__all__ = ["FeedsStoppedError", "Streamer", "StreamerConfig", "StreamerState", "load_state", "save_state"]
