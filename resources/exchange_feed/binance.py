"""Binance spot trades: the combined ``<symbol>@trade`` stream, with trade-id gap detection and REST fill.

Binance trade ids are consecutive per symbol, so a jump in ids is lost data. After each flush the feed
runs the batch's ids through a :class:`~resources.exchange_feed.gaps.GapTracker`; a gap still open after
``gap_grace_s`` (late, reordered trades shrink it meanwhile) is reported as ``gap_found`` and fetched by a
:class:`~resources.exchange_feed.gap_fill.GapFiller` thread from ``GET /api/v3/historicalTrades``. A
reconnect needs nothing special: the first id after it jumps from the last id before the drop.

The optional API key comes from the environment (``BINANCE_API_KEY`` by default), is sent only as the
``X-MBX-APIKEY`` header of REST calls and never logged.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import orjson

from resources.exchange_feed.base import FeedConfig, FeedEvent, FeedSink
from resources.exchange_feed.gap_fill import GapFiller, TailProbe
from resources.exchange_feed.gaps import Gap, GapLedger, GapTracker
from resources.exchange_feed.rest import BinanceRestClient, safe_url
from resources.exchange_feed.websocket import WebSocketFeed
from resources.exchange_feed.wire import BinanceFrameParser, FrameParser, ParsedBatch

log = logging.getLogger(__name__)

_SYMBOL = re.compile(r"^[A-Z0-9]{2,24}$")


@dataclass(frozen=True, kw_only=True)
class BinanceFeedConfig(FeedConfig):
    """Where and how to stream Binance spot trades."""

    ws_base_url: str = "wss://stream.binance.com:9443"
    """Websocket base URL: combined ``/stream?streams=<symbol>@trade/...`` under it; a URL ending in ``/ws``
    connects there and subscribes with the ``SUBSCRIBE`` method instead (servers with raw streams only)."""
    rest_base_url: str = "https://api.binance.com"
    """REST base URL for gap fills (testnet: ``https://testnet.binance.vision``)."""
    api_key_env: str = "BINANCE_API_KEY"
    """Environment variable holding the optional API key (sent as ``X-MBX-APIKEY``)."""
    venue: str = "binance"
    """Venue name put in every tick."""
    gap_grace_s: float = 0.5
    """How long a gap may wait for late (reordered) trades before it is fetched over REST."""
    max_gap_fill_ids: int = 10_000_000
    """Larger gaps are reported as ``gap_fill_failed`` unfetched (a bogus id would page REST for hours)."""
    rest_page_limit: int = 1000
    """Trades per ``historicalTrades`` page (Binance allows at most 1000)."""
    rest_timeout_s: float = 10.0
    """Timeout of one REST request."""
    rest_max_attempts: int = 5
    """Attempts per REST request for retryable failures (429, 418, 5xx, connection errors)."""
    rest_backoff_initial_s: float = 0.5
    """Ceiling of the first REST retry delay when the venue sends no ``Retry-After``."""
    rest_backoff_max_s: float = 30.0
    """Largest REST retry delay ceiling."""
    rest_max_retry_after_s: float = 120.0
    """Fail instead of waiting when the venue's ``Retry-After`` asks for longer than this."""
    tail_probe_after_s: float = 2.0
    """Ask REST (``GET /api/v3/trades``) for a symbol's newest trade id once no new id arrived for this
    long: trades missed just before a symbol went quiet (a drop, a skipped last trade, a restart in a quiet
    spell) show no id jump until its next trade, which may be far off. 0 turns the probes off."""
    tail_probe_max_s: float = 60.0
    """Each probe that finds nothing doubles the quiet time before the next one, up to this (REST weight)."""
    gap_summary_interval_s: float = 60.0
    """Log one summary line of the gaps found and filled this often (only when there were some); each
    gap also gets one line when it is filled or given up, and the run ends with a closing summary."""

    def __post_init__(self) -> None:
        super().__post_init__()
        bad = [s for s in self.symbols if not _SYMBOL.match(s)]
        if bad:
            raise ValueError(
                f"BinanceFeedConfig.symbols has malformed symbols {bad}; e.g. ('BTCUSDT', 'ETHUSDT')"
            )
        if not self.ws_base_url.startswith(("ws://", "wss://")):
            raise ValueError(
                f"BinanceFeedConfig.ws_base_url={self.ws_base_url!r} must start with ws:// or wss://"
            )
        if not self.rest_base_url.startswith(("http://", "https://")):
            raise ValueError(
                f"BinanceFeedConfig.rest_base_url={safe_url(self.rest_base_url)!r} must be an http(s) URL"
            )
        if not 1 <= self.rest_page_limit <= 1000:
            raise ValueError(f"BinanceFeedConfig.rest_page_limit={self.rest_page_limit} must be in 1..1000")
        if not 0 <= self.tail_probe_after_s <= self.tail_probe_max_s:
            raise ValueError(
                f"BinanceFeedConfig.tail_probe_after_s={self.tail_probe_after_s} must be >= 0 (0: off) and at "
                f"most tail_probe_max_s={self.tail_probe_max_s}"
            )
        if self.gap_summary_interval_s <= 0:
            raise ValueError(
                f"BinanceFeedConfig.gap_summary_interval_s={self.gap_summary_interval_s} must be positive"
            )
        if self.gap_grace_s < 0 or self.rest_max_attempts < 1:
            raise ValueError("BinanceFeedConfig.gap_grace_s must be >= 0 and rest_max_attempts >= 1")


class BinanceFeed(WebSocketFeed):
    """Binance spot trades of ``config.symbols``, gaps filled over REST."""

    def __init__(
        self,
        config: BinanceFeedConfig,
        *,
        initial_last_ids: Mapping[str, int] | None = None,
        initial_gaps: Mapping[str, Sequence[tuple[int, int]]] | None = None,
    ) -> None:
        """``initial_last_ids``: highest id already published per symbol (a restarted streamer); the gap
        from it to the first id received is filled. ``initial_gaps``: ranges known missing (e.g. a
        previous run's :meth:`unfilled_gaps`), fetched at start."""
        super().__init__(config, venue=config.venue)
        self.config: BinanceFeedConfig = config
        self._api_key = os.environ.get(config.api_key_env) or None
        self._tracker = GapTracker(
            grace_s=config.gap_grace_s, initial_last_ids=initial_last_ids, initial_gaps=initial_gaps
        )
        # The read thread updates the tracker once per flush; the lock lets other threads (metrics,
        # a streamer saving its state) read last_ids()/unfilled_gaps() at any time.
        self._tracker_lock = threading.Lock()
        self._filler: GapFiller | None = None
        self._rest: BinanceRestClient | None = None
        self._sink: FeedSink | None = None
        # Tail probes (read thread): when each symbol's highest id last grew, and how long it must stay
        # quiet before the next probe.
        self._quiet_since: dict[str, float] = {}
        self._probe_wait: dict[str, float] = {}
        self._gap_ledger = GapLedger()
        self._next_gap_summary = 0.0

    def __repr__(self) -> str:
        key = "set" if self._api_key else "none"
        return f"BinanceFeed(ws_base_url={self.config.ws_base_url!r}, symbols={self.config.symbols}, api_key={key})"

    def last_ids(self) -> dict[str, int]:
        """Highest trade id seen per symbol (persist it to pass as ``initial_last_ids`` after a restart)."""
        with self._tracker_lock:
            return self._tracker.last_ids()

    def unfilled_gaps(self) -> dict[str, list[tuple[int, int]]]:
        """Gaps not (yet) filled: pending, queued, being fetched or failed. Persist with :meth:`last_ids`."""
        with self._tracker_lock:
            out = self._tracker.pending()
        for gap in self._filler.unfilled() if self._filler else []:
            out.setdefault(gap.symbol, []).append((gap.first_id, gap.last_id))
        return {symbol: sorted(ranges) for symbol, ranges in out.items()}

    def _new_parser(self) -> FrameParser:
        return BinanceFrameParser(self.venue)

    def _streams(self) -> list[str]:
        return [f"{symbol.lower()}@trade" for symbol in self.config.symbols]

    def _raw_endpoint(self) -> bool:
        return self.config.ws_base_url.rstrip("/").endswith("/ws")

    def _url(self) -> str:
        base = self.config.ws_base_url.rstrip("/")
        if self._raw_endpoint():
            return base
        return f"{base}/stream?streams={'/'.join(self._streams())}"

    def _subscribe_messages(self) -> list[str]:
        if not self._raw_endpoint():
            return []  # the combined-stream URL already names the streams
        return [orjson.dumps({"method": "SUBSCRIBE", "params": self._streams(), "id": 1}).decode()]

    def _mask(self, text: str) -> str:
        return text.replace(self._api_key, "***") if self._api_key else text

    def _on_start(self, sink: FeedSink, stop: threading.Event) -> None:
        cfg = self.config
        self._rest = rest = BinanceRestClient(
            cfg.rest_base_url,
            api_key=self._api_key,
            timeout_s=cfg.rest_timeout_s,
            max_attempts=cfg.rest_max_attempts,
            backoff_initial_s=cfg.rest_backoff_initial_s,
            backoff_max_s=cfg.rest_backoff_max_s,
            max_retry_after_s=cfg.rest_max_retry_after_s,
            stop=stop,
        )
        self._sink = sink
        self._filler = GapFiller(
            rest=rest,
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
        if self._rest is not None:
            self._rest.close()
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
            sink.on_ticks(batch.ticks)
            now = time.monotonic()
            with self._tracker_lock:
                before = self._tracker.last_ids()
                self.stats.duplicates += self._tracker.observe_table(batch.ticks, now)
                after = self._tracker.last_ids()
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
        with self._tracker_lock:
            due = self._tracker.due(now)
        for gap in due:
            self._report_found(gap)
            self._filler.submit(gap)

    def _report_found(self, gap: Gap) -> None:
        detail = (
            f"ids {gap.first_id}..{gap.last_id} missing; fetching from {safe_url(self.config.rest_base_url)}"
        )
        # Debug only: the gap gets its one line when the filler resolves it, and the summaries count it.
        log.debug("%s %s: %s", self.venue, gap.symbol, detail)
        self._gap_ledger.found(gap)
        assert self._sink is not None
        self._sink.on_event(
            FeedEvent(kind="gap_found", venue=self.venue, symbol=gap.symbol, detail=detail, count=gap.count)
        )
