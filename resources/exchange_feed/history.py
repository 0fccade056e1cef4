"""The trade-history interface: a venue's past trades by trade id, for the live gap fill and the seal.

Venues with consecutive per-symbol trade ids (Binance and the simulated exchange) implement
:class:`TradeHistory`; venues without ids (Finnhub) have none, and the registry gives ``None`` for them.
Callers never name a venue: they ask the registry (or :class:`~resources.exchange_feed.resource.
VenueHistoryResource`) for the venue's history and call this interface.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import pyarrow as pa

from resources.exchange_feed.wire import MalformedFrame, ParsedBatch


class HistoryError(RuntimeError):
    """A venue's history could not be read; the message names the request (without secrets) and why."""


@dataclass(frozen=True, slots=True, kw_only=True)
class TradePage:
    """One page of history within the wanted id range."""

    ticks: pa.Table
    """Trades with ids inside the range asked for."""
    malformed: tuple[MalformedFrame, ...]
    """Items of the page that could not be parsed."""
    ids: int
    """Distinct trade ids in ``ticks``."""
    next_id: int
    """First id still to fetch after this page."""


class TradeHistory(Protocol):
    """A venue's trade history by trade id. Methods raise :class:`HistoryError` when it cannot be read."""

    venue: str
    """Venue name put in every tick."""

    def trades_by_id(
        self, symbol: str, first_id: int, last_id: int, *, page_limit: int = 1000
    ) -> Iterator[TradePage]:
        """Pages of ``symbol``'s trades with ids ``first_id .. last_id``, in id order; ends early when the
        venue has nothing more in that range (it lacks those ids)."""
        ...

    def recent_trades(self, symbol: str, *, limit: int = 1) -> pa.Table:
        """``symbol``'s newest ``limit`` trades as a tick table (a tail probe asks for the newest id)."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


def pages_by_id(
    fetch: Callable[[int, int], ParsedBatch], *, first_id: int, last_id: int, page_limit: int = 1000
) -> Iterator[TradePage]:
    """Page through ids ``first_id .. last_id`` with ``fetch(from_id, limit)``, a venue's "trades from this
    id" request; trades outside the range are dropped. Shared by every venue with id-ranged history."""
    next_id = first_id
    while next_id <= last_id:
        batch = fetch(next_id, min(page_limit, last_id - next_id + 1))
        ids = batch.ticks.column("trade_id").to_numpy()
        wanted = (ids >= next_id) & (ids <= last_id)
        if not wanted.any():
            return
        got = np.unique(ids[wanted])
        next_id = int(got[-1]) + 1
        yield TradePage(
            ticks=batch.ticks.filter(wanted), malformed=batch.malformed, ids=len(got), next_id=next_id
        )
