"""Sealing a closed day: fill trade-id gaps from the venue's trade history, then deduplicate for good.

The history is the venue-neutral :class:`~resources.exchange_feed.history.TradeHistory` interface: the
caller maps a venue name to it (or to None for venues without one, e.g. Finnhub); nothing here names a
venue. Two kinds of missing trades are looked for, per (venue, symbol) with a history:
- inside the day: jumps between consecutive stored ids (found in the sealed, exported day);
- at its edges: trades just before the day's first stored id or just after its last one that still
  belong to the day by trade time (a connection lost before midnight, a skipped last trade). No jump
  inside the day reveals those, so the seal asks the venue for the ids around the edges.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from resources.exchange_feed.history import HistoryError, TradeHistory, TradePage
from resources.tick_store.base import TickStore, TradeIdGap
from trading_assets.core.time import day_bounds_us
from trading_assets.market.quality import trade_id_gap_runs

log = logging.getLogger(__name__)

PAGE = 1000
# How far past the edges the seal looks: enough for hours of a busy symbol, bounded for a bad id.
MAX_EDGE_PAGES = 100


@dataclass(frozen=True, slots=True, kw_only=True)
class SealReport:
    """What sealing a day did."""

    gaps_found: int
    """Trade ids found missing, inside the day or at its edges."""
    gaps_filled: int
    """Trade ids fetched from REST and stored."""
    gaps_left: tuple[TradeIdGap, ...]
    """Runs of ids still missing inside the day after the fill."""
    rows: int
    """Rows in the sealed partition."""


History = Callable[[str], TradeHistory | None]
"""A venue name -> its trade history, or None when it has none."""


class _Histories:
    """One history per venue for the whole seal (not one per gap), closed at the end."""

    def __init__(self, history: History) -> None:
        self._history = history
        self._open: dict[str, TradeHistory | None] = {}

    def __call__(self, venue: str) -> TradeHistory | None:
        if venue not in self._open:
            self._open[venue] = self._history(venue)
        return self._open[venue]

    def close(self) -> None:
        for history in self._open.values():
            if history is not None:
                history.close()


def _in_day(ticks: pa.Table, start_us: int, end_us: int) -> pa.Table:
    times = ticks["trade_time_us"]
    return ticks.filter(pc.and_(pc.greater_equal(times, start_us), pc.less(times, end_us)))


def _pages(history: TradeHistory, symbol: str, first_id: int, last_id: int) -> Iterator[TradePage]:
    return history.trades_by_id(symbol, first_id, last_id, page_limit=PAGE)


def _fill_inside(
    store: TickStore, gaps: list[TradeIdGap], history: History, start_us: int, end_us: int
) -> int:
    filled = 0
    for gap in gaps:
        venue_history = history(gap.venue)
        if venue_history is None:
            continue
        try:
            for page in _pages(venue_history, gap.symbol, gap.first_missing, gap.last_missing):
                # Ids inside a day's gap were traded inside that day; keep the partition exact anyway.
                filled += store.insert(_in_day(page.ticks, start_us, end_us))
        except HistoryError as exc:
            # The seal still happens; the gap stays and the blocking check reports it.
            log.error(
                "%s %s: could not fill ids %d..%d: %s",
                gap.venue,
                gap.symbol,
                gap.first_missing,
                gap.last_missing,
                exc,
            )
    return filled


def _edge_trades(
    history: TradeHistory,
    symbol: str,
    first_id: int,
    last_id: int,
    start_us: int,
    end_us: int,
) -> list[pa.Table]:
    found: list[pa.Table] = []
    # After the last stored id: walk forward until a trade belongs to the next day.
    for page in _pages(history, symbol, last_id + 1, last_id + PAGE * MAX_EDGE_PAGES):
        found.append(_in_day(page.ticks, start_us, end_us))
        if pc.max(page.ticks["trade_time_us"]).as_py() >= end_us:
            break
    # Before the first stored id: walk backward a page at a time until a trade belongs to the day before.
    upper = first_id - 1
    for _ in range(MAX_EDGE_PAGES):
        if upper < 1:
            break
        lower = max(1, upper - PAGE + 1)
        pages = list(_pages(history, symbol, lower, upper))
        if not pages:
            break
        ticks = pa.concat_tables(page.ticks for page in pages)
        found.append(_in_day(ticks, start_us, end_us))
        if pc.min(ticks["trade_time_us"]).as_py() < start_us:
            break
        upper = lower - 1
    return [t for t in found if t.num_rows]


def _fill_edges(store: TickStore, ticks: pa.Table, history: History, start_us: int, end_us: int) -> int:
    with_ids = ticks.filter(pc.greater_equal(ticks["trade_id"], 0))
    if with_ids.num_rows == 0:
        return 0
    ranges = with_ids.group_by(["venue", "symbol"]).aggregate([("trade_id", "min"), ("trade_id", "max")])
    filled = 0
    for venue, symbol, first_id, last_id in zip(
        *(ranges[c].to_pylist() for c in ("venue", "symbol", "trade_id_min", "trade_id_max")), strict=True
    ):
        venue_history = history(venue)
        if venue_history is None:
            continue
        try:
            for table in _edge_trades(venue_history, symbol, first_id, last_id, start_us, end_us):
                filled += store.insert(table)
        except HistoryError as exc:
            log.error(
                "%s %s: could not look past the day's edges (ids %d..%d): %s",
                venue,
                symbol,
                first_id,
                last_id,
                exc,
            )
    return filled


def seal_day(store: TickStore, day: dt.date, history: History) -> tuple[SealReport, pa.Table]:
    """Fill ``day``'s missing trades from the history of each venue that has one, seal the partition,
    and return the report with the sealed day's ticks.

    Re-running it is harmless: filled trades that were already stored are removed by the seal.
    """
    start_us, end_us = day_bounds_us(day)
    histories = _Histories(history)
    try:
        # Seal and export first, then look for gaps in the exported day: the same runs the store's own
        # gap query finds (the seal only drops copies, and copies are never gaps), without that query, which
        # on ClickHouse costs about as much as the seal. A day with gaps to fill is sealed and exported again.
        ticks = store.seal_and_export(day)
        gaps = _gaps_in(ticks)
        inside = _fill_inside(store, gaps, histories, start_us, end_us)
        edges = _fill_edges(store, ticks, histories, start_us, end_us)
    finally:
        histories.close()
    if inside or edges:
        ticks = store.seal_and_export(day)
        # The export is the sealed day, once each: its gaps are the store's.
        left = tuple(_gaps_in(ticks))
    else:
        left = tuple(gaps)
    report = SealReport(
        gaps_found=sum(g.size for g in gaps) + edges,
        gaps_filled=inside + edges,
        gaps_left=left,
        rows=ticks.num_rows,
    )
    return report, ticks


def _gaps_in(ticks: pa.Table) -> list[TradeIdGap]:
    """Runs of missing trade ids of an exported day (see ``TickStore.trade_id_gaps``)."""
    return [
        TradeIdGap(venue=venue, symbol=symbol, first_missing=first, last_missing=last)
        for venue, symbol, first, last in trade_id_gap_runs(ticks)
    ]
