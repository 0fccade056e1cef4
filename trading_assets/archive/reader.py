"""One reader for ticks of any day: hot days from the tick store, older days from the Parquet archive.

A day present in both is read from the store: it is the source of truth until the day is dropped
(the archive copy was made from it), and it is the faster of the two. A range that crosses the
boundary is served from both and merged in the store's order (trade_time_us, venue, trade_id).

Concurrency with retention: a day may be dropped from the store between the moment the reader lists
the store's days and the moment it reads them. Retention drops only archived days, so after reading
the reader lists the store again and re-reads any day that vanished from the archive instead.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any, Literal

import numpy as np
import pyarrow as pa

from resources.archive.base import DayNotArchivedError, TickArchive
from resources.tick_store.base import TickStore
from trading_assets.core.ticks import TICK_SCHEMA, conform
from trading_assets.core.time import US_PER_DAY, day_from_number, day_number

log = logging.getLogger(__name__)

Location = Literal["hot", "archive", "missing"]
_ORDER = [("trade_time_us", "ascending"), ("venue", "ascending"), ("trade_id", "ascending")]


class TickDayMissingError(LookupError):
    """A day is neither in the tick store nor in the archive; the message names both places."""


def _date(day_number: int) -> dt.date:
    return day_from_number(day_number)


class TickReader:
    """Reads ticks from ``store`` (hot days) and ``archive`` (archived days) behind one interface."""

    def __init__(self, store: TickStore, archive: TickArchive) -> None:
        self.store = store
        self.archive = archive

    def _hot_days(self) -> set[dt.date]:
        return {partition.day for partition in self.store.partitions() if partition.rows > 0}

    def where(self, day: dt.date) -> Location:
        """Where ``day`` would be read from: ``hot`` (store), ``archive``, or ``missing``."""
        if day in self._hot_days():
            return "hot"
        if self.archive.info(day) is not None:
            return "archive"
        return "missing"

    def read_day(self, day: dt.date) -> pa.Table:
        """All ticks of ``day`` once each, ordered by (venue, symbol, trade_time_us).

        Raises :class:`TickDayMissingError` when neither the store nor the archive has the day.
        """
        if day in self._hot_days():
            ticks = self.store.export(day)
            if ticks.num_rows:
                return ticks
            log.info("day %s left the store while being read; reading the archive", day)
        try:
            return self.archive.read_day(day)
        except DayNotArchivedError as exc:
            raise TickDayMissingError(
                f"day {day} has no ticks in the tick store {self.store!r} and is not archived"
                f" ({self.archive.parquet_uri(day)})"
            ) from exc

    def read(self, *, symbol: str, start_us: int, end_us: int, venue: str | None = None) -> pa.Table:
        """Ticks of ``symbol`` with ``start_us <= trade_time_us < end_us``, once each, by trade time.

        Hot days come from the store; the other days from the archive, through DuckDB with the symbol,
        venue and time filters pushed down to the Parquet row groups. Days in neither add nothing.
        """
        start_us, end_us = int(start_us), int(end_us)
        if end_us <= start_us:
            return TICK_SCHEMA.empty_table()
        first, last = start_us // US_PER_DAY, (end_us - 1) // US_PER_DAY
        hot = {day for day in self._hot_days() if first <= day_number(day) <= last}
        parts = []
        if hot:
            from_store = self.store.read(symbol=symbol, start_us=start_us, end_us=end_us, venue=venue)
            vanished = hot - self._hot_days()
            if vanished:
                # Dropped by retention while we read: whatever the store returned for them may be
                # partial, so take those days wholly from the archive instead.
                days = from_store.column("trade_time_us").to_numpy() // US_PER_DAY
                keep = ~np.isin(days, [day_number(day) for day in vanished])
                from_store = from_store.filter(pa.array(keep))
                hot -= vanished
            parts.append(from_store)
        archived = [
            day for day in self.archive.list_days() if first <= day_number(day) <= last and day not in hot
        ]
        if archived:
            parts.append(self._read_archive(archived, symbol, start_us, end_us, venue))
        if not parts:
            return TICK_SCHEMA.empty_table()
        if len(parts) == 1:
            return parts[0]
        return pa.concat_tables(parts).sort_by(_ORDER)

    def _read_archive(
        self, days: list[dt.date], symbol: str, start_us: int, end_us: int, venue: str | None
    ) -> pa.Table:
        params: dict[str, Any] = {"symbol": symbol, "start_us": start_us, "end_us": end_us}
        venue_filter = ""
        if venue is not None:
            params["venue"] = venue
            venue_filter = " AND venue = $venue"
        connection = self.archive.duckdb_connection(days)
        try:
            result = connection.sql(
                "SELECT * FROM ticks WHERE symbol = $symbol AND trade_time_us >= $start_us"
                f" AND trade_time_us < $end_us{venue_filter} ORDER BY trade_time_us, venue, trade_id",
                params=params,
            ).to_arrow_table()
        finally:
            connection.close()
        return conform(result)

    def rehydrate(self, day: dt.date) -> int:
        """Copy an archived day back into the store and seal it; return the rows the store then holds.

        Idempotent: the store removes duplicate trades on sealing, so rehydrating twice (or a day
        still partly in the store) leaves each trade once. Raises
        :class:`~resources.archive.base.DayNotArchivedError` when the day is not archived.
        """
        ticks = self.archive.read_day(day)
        self.store.insert(ticks)
        rows = self.store.seal(day)
        log.info("rehydrated %s: %d archived ticks, store now holds %d", day, ticks.num_rows, rows)
        return rows
