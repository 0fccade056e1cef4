"""Seeded fault injection on the websocket side of the simulated exchange.

Every released batch passes :meth:`FaultInjector.apply`, which decides, with its own seeded generator,
which trades are skipped (kept in the REST history), swapped with the next trade of the same symbol,
sent twice, or followed by a garbage frame. The result is an :class:`Emission`: the order in which the
batch's rows go on the wire, with garbage frames as negative codes. Connection drops are timed by
:meth:`FaultInjector.drop_due`. Everything injected is counted in :class:`FaultCounters`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from trading_assets.services.exchange_sim.config import FaultConfig
from trading_assets.services.exchange_sim.sources import TradeBatch
from trading_assets.services.exchange_sim.wire import GARBAGE_KINDS


@dataclass(frozen=True, slots=True)
class Emission:
    """What goes on the wire for one batch, in order."""

    order: np.ndarray
    """int64: a row of the batch, or ``-(kind + 1)`` for a garbage frame of that kind."""
    symbol: np.ndarray
    """int32 symbol index per entry (a garbage frame takes the symbol of the trade it follows)."""


@dataclass(slots=True)
class FaultCounters:
    """How many faults of each kind were injected."""

    skipped: np.ndarray
    """Per symbol: trades not sent on the websockets."""
    duplicated: np.ndarray
    """Per symbol: trades sent twice."""
    reordered: np.ndarray
    """Per symbol: pairs of trades swapped."""
    garbage: dict[str, int] = field(default_factory=lambda: dict.fromkeys(GARBAGE_KINDS, 0))
    """Garbage frames injected, by kind."""
    drop_events: int = 0
    """Times every websocket was dropped (timer, probability or ``POST /sim/drop-connections``)."""
    dropped_connections: int = 0
    """Websocket connections aborted by those drops."""
    ws_pings: int = 0
    """Websocket ping frames sent (one per connection per interval)."""
    finnhub_pings: int = 0
    """Finnhub ``{"type":"ping"}`` messages sent."""
    slow_client_disconnects: int = 0
    """Clients disconnected because they kept generation paused too long."""

    def to_json(self) -> dict[str, Any]:
        """Totals over all symbols as a JSON-ready dict."""
        return {
            "skipped": int(self.skipped.sum()),
            "duplicated": int(self.duplicated.sum()),
            "reordered": int(self.reordered.sum()),
            "garbage": dict(self.garbage),
            "garbage_total": sum(self.garbage.values()),
            "drop_events": self.drop_events,
            "dropped_connections": self.dropped_connections,
            "ws_pings": self.ws_pings,
            "finnhub_pings": self.finnhub_pings,
            "slow_client_disconnects": self.slow_client_disconnects,
        }


class FaultInjector:
    """Decides the faults of each batch and when connections drop; ``config`` may be replaced at run time."""

    def __init__(self, config: FaultConfig, symbol_count: int, seed: int) -> None:
        self.config = config
        self._symbols = symbol_count
        # Separate stream from the market's, so turning faults on does not change the trades.
        self._rng = np.random.default_rng([seed, 0xFA17])
        self.counters = FaultCounters(
            skipped=np.zeros(symbol_count, np.int64),
            duplicated=np.zeros(symbol_count, np.int64),
            reordered=np.zeros(symbol_count, np.int64),
        )
        self._next_periodic_drop: float | None = None
        self._next_random_check: float | None = None

    def apply(self, batch: TradeBatch) -> Emission:
        """The wire order of ``batch`` with this batch's faults applied (and counted)."""
        cfg, rng, counters, k = self.config, self._rng, self.counters, self._symbols
        symbol = batch.symbol
        order = np.arange(len(batch), dtype=np.int64)
        if cfg.p_skip > 0 and len(order):
            skip = rng.random(len(order)) < cfg.p_skip
            counters.skipped += np.bincount(symbol[skip], minlength=k)
            order = order[~skip]
        if cfg.p_reorder > 0 and len(order) > 1:
            self._reorder(order, symbol[order], cfg.p_reorder)
        if cfg.p_duplicate > 0 and len(order):
            twice = rng.random(len(order)) < cfg.p_duplicate
            counters.duplicated += np.bincount(symbol[order[twice]], minlength=k)
            order = np.repeat(order, 1 + twice.astype(np.int64))
        emitted_symbol = symbol[order]
        if cfg.p_garbage > 0 and len(order):
            after = np.flatnonzero(rng.random(len(order)) < cfg.p_garbage)
            kinds = rng.integers(0, len(GARBAGE_KINDS), size=len(after))
            order = np.insert(order, after + 1, -(kinds + 1))
            emitted_symbol = np.insert(emitted_symbol, after + 1, emitted_symbol[after])
            for kind, count in enumerate(np.bincount(kinds, minlength=len(GARBAGE_KINDS)).tolist()):
                counters.garbage[GARBAGE_KINDS[kind]] += count
        return Emission(order, emitted_symbol.astype(np.int32, copy=False))

    def _reorder(self, order: np.ndarray, symbol: np.ndarray, probability: float) -> None:
        """Swap, in place, chosen entries with the next entry of the same symbol (never one twice)."""
        candidates = np.flatnonzero(self._rng.random(len(order)) < probability)
        if not len(candidates):
            return
        next_same = np.full(len(order), -1, dtype=np.int64)
        for s in np.unique(symbol[candidates]).tolist():
            positions = np.flatnonzero(symbol == s)
            next_same[positions[:-1]] = positions[1:]
        used = np.zeros(len(order), dtype=np.bool_)
        # Few candidates at realistic probabilities: a Python loop over them is cheap and keeps pairs disjoint.
        for first in candidates.tolist():
            second = int(next_same[first])
            if second < 0 or used[first] or used[second]:
                continue
            order[first], order[second] = order[second], order[first]
            used[first] = used[second] = True
            self.counters.reordered[symbol[first]] += 1

    def drop_due(self, now_s: float) -> bool:
        """Whether every websocket should be dropped now (``now_s``: a monotonic clock, checked often)."""
        cfg = self.config
        due = False
        if cfg.drop_every_s is None:
            self._next_periodic_drop = None
        elif self._next_periodic_drop is None or self._next_periodic_drop > now_s + cfg.drop_every_s:
            self._next_periodic_drop = now_s + cfg.drop_every_s  # (re)armed, e.g. after a settings change
        elif now_s >= self._next_periodic_drop:
            self._next_periodic_drop += cfg.drop_every_s * max(
                1, math.ceil((now_s - self._next_periodic_drop) / cfg.drop_every_s)
            )
            due = True
        if cfg.p_drop_per_s <= 0:
            self._next_random_check = None
        elif self._next_random_check is None:
            self._next_random_check = now_s + 1.0
        elif now_s >= self._next_random_check:
            self._next_random_check = now_s + 1.0
            due = due or bool(self._rng.random() < cfg.p_drop_per_s)
        return due
