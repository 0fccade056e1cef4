"""The exchange's heart: an accelerated clock that releases trades in small batches to history and wire.

Every ``batch_interval_s`` (about 5 ms) the exchange clock advances by the elapsed wall time times
``speed``; the trades whose time it passed are released (at most ``max_batch_trades``; beyond that the
clock waits for them instead of bursting), stored in the REST history, given their faults and sent.
While a client's send buffer is above the high-water mark the clock stands still, so nothing is ever
dropped for a slow reader. After ``max_trades`` (or the end of a replay) generation stops for good and
the servers keep answering.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import numpy as np

from trading_assets.services.exchange_sim.config import ExchangeSimConfig
from trading_assets.services.exchange_sim.faults import FaultInjector
from trading_assets.services.exchange_sim.history import TradeHistory
from trading_assets.services.exchange_sim.replay import ReplaySource
from trading_assets.services.exchange_sim.sources import SimulatedSource, TradeBatch, TradeSource
from trading_assets.services.exchange_sim.streams import BINANCE_COMBINED, BINANCE_RAW, FINNHUB, StreamHub

log = logging.getLogger(__name__)

MAX_STEP_S = 0.1
"""Longest wall step the clock takes at once: a stalled loop slows the clock instead of bursting."""
HOUSEKEEPING_S = 0.05


class Engine:
    """Clock, source, history, faults and fan-out of one simulated exchange (runs in one event loop)."""

    def __init__(self, config: ExchangeSimConfig) -> None:
        self.config = config
        self.symbols = config.market_symbols
        self.source: TradeSource
        if config.replay_path is not None:
            self.source = ReplaySource(config.replay_path, config.replay_symbol)
            first = self.source.first_time_us()
            fallback = config.start_us if config.start_us is not None else int(time.time() * 1e6)
            self.start_us = first if first is not None else fallback
        else:
            self.start_us = config.start_us if config.start_us is not None else int(time.time() * 1e6)
            self.source = self._simulated_source()
        self.clock_us = self.start_us
        self.history = TradeHistory(self.symbols, config.history_per_symbol)
        self.faults = FaultInjector(config.faults, len(self.symbols), config.seed)
        self.hub = StreamHub(
            symbols=self.symbols,
            counters=self.faults.counters,
            finnhub_token=config.finnhub_token,
            finnhub_trades_per_frame=config.finnhub_trades_per_frame,
        )
        k = len(self.symbols)
        self.generated = np.zeros(k, np.int64)
        self.emitted = np.zeros(k, np.int64)
        self.first_emitted = np.full(k, -1, np.int64)
        self.last_emitted = np.full(k, -1, np.int64)
        self.batches = 0
        self.paused_s = 0.0
        self.finished = False
        self.clock_running = False
        """False until generation starts (e.g. while waiting for subscribers) and after it has stopped."""
        self._budget = 0.0

    def _simulated_source(self) -> SimulatedSource:
        return SimulatedSource(
            symbols=self.symbols,
            seed=self.config.seed,
            start_us=self.start_us,
            trades_per_exchange_second=self.config.rate / self.config.speed,
        )

    @property
    def released(self) -> int:
        """Trades released so far (all symbols)."""
        return int(self.generated.sum())

    async def run(self, stop: asyncio.Event) -> None:
        """Generate until ``max_trades``, the end of the replay, or ``stop``."""
        loop = asyncio.get_running_loop()
        interval = self.config.batch_interval_s
        if self.config.wait_for_subscribers:
            log.info("waiting for %d subscribed websocket connections", self.config.wait_for_subscribers)
            await self.hub.wait_for_subscribers(self.config.wait_for_subscribers, stop)
        if self.config.start_us is None and self.config.replay_path is None:
            # "Now" means when the clock starts running, so exchange time tracks wall time at speed 1.
            self.start_us = self.clock_us = int(time.time() * 1e6)
            self.source = self._simulated_source()
        last = loop.time()
        self.clock_running = True
        log.info(
            "exchange clock starts at %d us, speed %g, %s",
            self.start_us,
            self.config.speed,
            f"replay of {self.config.replay_path}"
            if self.config.replay_path
            else f"{self.config.rate:g} trades/s over {len(self.symbols)} symbols",
        )
        while not stop.is_set() and not self.finished:
            await asyncio.sleep(interval)
            if self.hub.paused:
                paused_at = loop.time()
                await self.hub.wait_writable(0.5)
                self.paused_s += loop.time() - paused_at
                last = loop.time()  # the clock stood still while a client drained
                continue
            now = loop.time()
            self.step(min(now - last, MAX_STEP_S))
            last = now
        self.clock_running = False
        log.info("generation stopped after %d trades (finished=%s)", self.released, self.finished)

    def step(self, wall_s: float) -> TradeBatch:
        """Advance the clock by ``wall_s`` wall seconds and release, store, fault and send what is due."""
        cfg = self.config
        target = self.clock_us + int(wall_s * cfg.speed * 1_000_000)
        limit = cfg.max_batch_trades
        if cfg.max_trades is not None:
            limit = min(limit, cfg.max_trades - self.released)
        if cfg.replay_path is not None:
            # In replay the file's own times set the pace; `rate` caps it so a dense file cannot flood.
            self._budget = min(self._budget + wall_s * cfg.rate, max(cfg.rate * MAX_STEP_S, 1.0))
            limit = min(limit, int(self._budget))
        batch = self.source.release(target, limit) if limit > 0 else TradeBatch.empty()
        if len(batch) and len(batch) == limit:
            self.clock_us = max(self.clock_us, int(batch.time_us.max()))  # wait for the backlog
        else:
            self.clock_us = max(self.clock_us, target)
        if cfg.replay_path is not None:
            self._budget -= len(batch)
        if (cfg.max_trades is not None and self.released + len(batch) >= cfg.max_trades) or (
            not len(batch) and self.source.exhausted
        ):
            self.finished = True
        if len(batch):
            self._release(batch)
        return batch

    def _release(self, batch: TradeBatch) -> None:
        self.batches += 1
        self.history.append(batch)
        k = len(self.symbols)
        self.generated += np.bincount(batch.symbol, minlength=k)
        emission = self.faults.apply(batch)
        sent = np.zeros(len(batch), np.bool_)
        sent[emission.order[emission.order >= 0]] = True
        for s in range(k):
            ids = batch.trade_id[sent & (batch.symbol == s)] if k > 1 else batch.trade_id[sent]
            if len(ids):
                self.emitted[s] += len(ids)
                low, high = int(ids.min()), int(ids.max())
                self.first_emitted[s] = (
                    low if self.first_emitted[s] < 0 else min(low, int(self.first_emitted[s]))
                )
                self.last_emitted[s] = max(high, int(self.last_emitted[s]))
        self.hub.publish(batch, emission, self.clock_us // 1000)

    async def housekeeping(self, stop: asyncio.Event) -> None:
        """Timed faults and chores: connection drops, pings, slow-client disconnects."""
        next_ping = next_finnhub_ping = time.monotonic()
        while not stop.is_set():
            await asyncio.sleep(HOUSEKEEPING_S)
            now = time.monotonic()
            faults = self.faults.config
            if self.faults.drop_due(now):
                self.hub.drop_all()
            if faults.ping_interval_s is None:
                next_ping = now
            elif now - next_ping >= faults.ping_interval_s:
                next_ping = now
                self.hub.ping()
            if faults.finnhub_ping_interval_s is None:
                next_finnhub_ping = now
            elif now - next_finnhub_ping >= faults.finnhub_ping_interval_s:
                next_finnhub_ping = now
                self.hub.finnhub_ping()
            self.hub.disconnect_slow(now, self.config.slow_client_timeout_s)

    def stats(self) -> dict[str, Any]:
        """The ``/sim/stats`` document."""
        counters = self.faults.counters
        per_symbol: dict[str, Any] = {}
        for s, symbol in enumerate(self.symbols):
            held = self.history.by_symbol[symbol]
            per_symbol[symbol] = {
                "generated": int(self.generated[s]),
                "emitted": int(self.emitted[s]),
                "first_id_emitted": None if self.first_emitted[s] < 0 else int(self.first_emitted[s]),
                "last_id_emitted": None if self.last_emitted[s] < 0 else int(self.last_emitted[s]),
                "skipped": int(counters.skipped[s]),
                "duplicated": int(counters.duplicated[s]),
                "reordered": int(counters.reordered[s]),
                "history_first_id": held.first_id,
                "history_last_id": held.last_id,
                "history_trades": len(held),
            }
        open_by_kind = dict.fromkeys((BINANCE_RAW, BINANCE_COMBINED, FINNHUB), 0)
        for conn in self.hub.connections:
            open_by_kind[conn.kind] += 1
        return {
            "mode": "replay" if self.config.replay_path is not None else "simulated",
            "finished": self.finished,
            "clock_running": self.clock_running,
            "generated": self.released,
            "emitted": int(self.emitted.sum()),
            "max_trades": self.config.max_trades,
            "batches": self.batches,
            "exchange_start_ms": self.start_us // 1000,
            "exchange_time_ms": self.clock_us // 1000,
            "speed": self.config.speed,
            "rate": self.config.rate,
            "paused_s": round(self.paused_s, 3),
            "symbols": per_symbol,
            "faults": counters.to_json(),
            "fault_config": self.faults.config.to_json(),
            "connections": {
                "open": open_by_kind,
                "opened": dict(self.hub.opened),
                "pongs": self.hub.pongs,
                **self.hub.totals(),
            },
        }
