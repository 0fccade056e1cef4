"""Paging through a venue's REST trade history by trade id: shared by the live gap filler and the seal."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from resources.exchange_feed.rest import BinanceRestClient
from resources.exchange_feed.wire import MalformedFrame, parse_binance_rest_trades


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


def iter_trade_pages(
    rest: BinanceRestClient, *, venue: str, symbol: str, first_id: int, last_id: int, page_limit: int = 1000
) -> Iterator[TradePage]:
    """Pages of ``symbol``'s trades with ids ``first_id .. last_id`` from ``GET /api/v3/historicalTrades``.

    Stops early when the venue returns nothing in range (it lacks those ids). Raises
    :class:`resources.exchange_feed.rest.RestError` when the venue cannot be read.
    """
    next_id = first_id
    while next_id <= last_id:
        limit = min(page_limit, last_id - next_id + 1)
        body = rest.historical_trades(symbol, from_id=next_id, limit=limit)
        batch = parse_binance_rest_trades(
            body, symbol=symbol, receive_time_us=time.time_ns() // 1_000, venue=venue
        )
        ids = batch.ticks.column("trade_id").to_numpy()
        wanted = (ids >= next_id) & (ids <= last_id)
        if not wanted.any():
            return
        got = np.unique(ids[wanted])
        next_id = int(got[-1]) + 1
        yield TradePage(
            ticks=batch.ticks.filter(wanted), malformed=batch.malformed, ids=len(got), next_id=next_id
        )
