"""Sealing a closed day: fill trade-id gaps from the venue's REST history, then deduplicate for good."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

import pyarrow.compute as pc

from resources.exchange_feed.history import iter_trade_pages
from resources.exchange_feed.rest import BinanceRestClient, RestError
from resources.tick_store.base import TickStore, TradeIdGap
from trading_assets.market.partitions import day_bounds_us

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class SealReport:
    """What sealing a day did."""

    gaps_found: int
    """Trade ids missing before the fill."""
    gaps_filled: int
    """Trade ids fetched from REST and stored."""
    gaps_left: tuple[TradeIdGap, ...]
    """Runs of ids still missing after the fill (the venue lacks them, or has no history)."""
    rows: int
    """Rows in the sealed partition."""


def seal_day(
    store: TickStore, day: dt.date, history: Callable[[str], BinanceRestClient | None]
) -> SealReport:
    """Fill ``day``'s trade-id gaps from REST where the venue has history, then seal the partition.

    Re-running it is harmless: filled trades that were already stored are removed by the seal.
    """
    start_us, end_us = day_bounds_us(day)
    gaps = store.trade_id_gaps(day)
    filled = 0
    for gap in gaps:
        client = history(gap.venue)
        if client is None:
            continue
        try:
            for page in iter_trade_pages(
                client, venue=gap.venue, symbol=gap.symbol, first_id=gap.first_missing, last_id=gap.last_missing
            ):
                # Ids inside a day's gap were traded inside that day; keep the partition exact anyway.
                times = page.ticks["trade_time_us"]
                in_day = page.ticks.filter(
                    pc.and_(pc.greater_equal(times, start_us), pc.less(times, end_us))
                )
                filled += store.insert(in_day)
        except RestError as exc:
            # The seal still happens; the gap stays and the blocking check reports it.
            log.error("%s %s: could not fill ids %d..%d: %s", gap.venue, gap.symbol, gap.first_missing, gap.last_missing, exc)
    rows = store.seal(day)
    left = tuple(store.trade_id_gaps(day))
    return SealReport(gaps_found=sum(g.size for g in gaps), gaps_filled=filled, gaps_left=left, rows=rows)
