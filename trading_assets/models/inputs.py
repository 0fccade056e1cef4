"""The bars a day's features are computed from: the day itself and the day before it (the warm-up).

Bars come from the table store. A day whose bars are not stored (bars never computed, or the table store
was rebuilt after the ticks left the hot store) is rebuilt from its ticks, read through the one hot/cold
reader, so archived days make features and train models like hot ones.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

import pyarrow as pa

from resources.table_store.base import TableStore
from trading_assets.archive.reader import TickDayMissingError
from trading_assets.core.bars import empty_bars_table
from trading_assets.core.time import day_bounds_us
from trading_assets.market.bars import BARS_TABLE, compute_bars_1m

log = logging.getLogger(__name__)

ReadTicks = Callable[[dt.date], pa.Table]
"""Reads all ticks of a day, hot or archived; raises TickDayMissingError when the day is nowhere."""


@dataclass(frozen=True, slots=True, kw_only=True)
class FeatureBars:
    """The bars behind one day's features and where each day's bars came from."""

    bars: pa.Table
    """Bars of the warm-up day and the day, in (venue, symbol, minute_us) order."""
    sources: dict[str, str]
    """Day (ISO) -> ``table store``, ``ticks`` (rebuilt from the hot/cold reader) or ``missing``."""


def _day_bars(store: TableStore, day: dt.date, read_ticks: ReadTicks) -> tuple[pa.Table, str]:
    start_us, end_us = day_bounds_us(day)
    stored = store.read(BARS_TABLE, start_us=start_us, end_us=end_us)
    if stored.num_rows:
        return stored, "table store"
    try:
        ticks = read_ticks(day)
    except TickDayMissingError:
        return empty_bars_table(), "missing"
    log.info("bars of %s are not stored: rebuilt from %d ticks", day, ticks.num_rows)
    return compute_bars_1m(ticks), "ticks"


def bars_for_features(store: TableStore, day: dt.date, read_ticks: ReadTicks) -> FeatureBars:
    """Bars of ``day`` and of the day before (warm-up), from the store or rebuilt from ticks.

    Raises LookupError naming the day when ``day`` itself has neither bars nor ticks. A missing warm-up
    day only leaves the first rows' long windows incomplete (NaN), as at the very first day.
    """
    warmup, warmup_source = _day_bars(store, day - dt.timedelta(days=1), read_ticks)
    bars, source = _day_bars(store, day, read_ticks)
    if bars.num_rows == 0:
        raise LookupError(
            f"no bars and no ticks for {day}: materialize tick_partition and bars_1m for {day} first "
            "(or rehydrate the day from the archive)"
        )
    table = pa.concat_tables([warmup, bars]).sort_by(
        [("venue", "ascending"), ("symbol", "ascending"), ("minute_us", "ascending")]
    )
    return FeatureBars(
        bars=table,
        sources={(day - dt.timedelta(days=1)).isoformat(): warmup_source, day.isoformat(): source},
    )
