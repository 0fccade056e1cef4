"""One-minute bars and feature rows built online from ticks in arrival order, equal to the batch code's.

:class:`OnlineBars` takes tick tables as they arrive (late and out-of-order ticks included) and returns
the bars that closed. Per (venue, symbol), the watermark is the latest trade time seen minus
``lateness_us``; the bar ``[m, m + 60 s)`` closes when the watermark reaches ``m + 60 s``, and is then
what :func:`trading_assets.market.bars.compute_bars_1m` makes of the same ticks: open and close by
(trade_time_us, trade_id), high, low and the trade count exactly; the sums (volume, quote volume, buy and
sell volume, and the VWAP from them) correctly rounded with ``math.fsum``. DuckDB's ``fsum`` in
``compute_bars_1m`` is a compensated sum whose last bit depends on the order in which rows reach it
(threads, row order): it agrees with the correctly rounded sum in most bars and is within one ulp of it
in the rest, so the online bars equal the batch bars to one ulp in the sums and exactly everywhere else.

A tick whose minute has already closed when it arrives is later than the lateness allows: it is not
added (the bar was already handed out), but counted in :attr:`OnlineBars.late_ticks` and logged, never
dropped silently. A trade seen twice (same venue, symbol, trade_id) counts once.

:class:`~trading_assets.execution.feature_window.FeatureWindow` (its own module; imported here too, so
checkpoints written when it lived here still load) keeps the bars features are computed from.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from trading_assets.core.bars import empty_bars_table
from trading_assets.core.ticks import conform
from trading_assets.core.time import US_PER_MINUTE
from trading_assets.execution import feature_window as _feature_window
from trading_assets.execution.minute_bars import BarColumns, aggregate_minutes, bars_table, minute_of

log = logging.getLogger(__name__)

# Checkpoints pickled before FeatureWindow had its own module name these classes in this one.
FeatureWindow = _feature_window.FeatureWindow
_Kept = _feature_window._Kept

Key = tuple[str, str]
"""(venue, symbol)."""
_Ticks = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]
"""Ticks of one (venue, symbol) as arrays: trade times, ids, prices, quantities, sides."""


@dataclass(frozen=True, slots=True, kw_only=True)
class TradeBatch:
    """The accepted trades of one (venue, symbol) from one pushed table, in arrival order."""

    venue: str
    """The venue."""
    symbol: str
    """The symbol."""
    trade_time_us: npt.NDArray[np.int64]
    """Trade times, µs."""
    trade_id: npt.NDArray[np.int64]
    """Trade ids."""
    price: npt.NDArray[np.float64]
    """Trade prices."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ClosedBars:
    """Bars that closed, as arrays: what the decisions read; :meth:`table` builds the bar table."""

    keys: list[Key]
    """The (venue, symbol) of each group."""
    columns: BarColumns
    """The numeric bar columns and ``group`` (the index of each bar's key), ordered by (venue, symbol,
    minute_us); empty without bars."""

    @property
    def num_rows(self) -> int:
        """Number of bars."""
        return len(self.columns["group"]) if self.columns else 0

    def row_keys(self) -> list[Key]:
        """The (venue, symbol) of each bar."""
        return [self.keys[group] for group in self.columns["group"].tolist()] if self.columns else []

    def table(self) -> pa.Table:
        """The bars as a table, :data:`BARS_SCHEMA`, ordered by (venue, symbol, minute_us)."""
        return bars_table(self.keys, self.columns) if self.num_rows else _no_bars()


_NO_CLOSED_BARS = ClosedBars(keys=[], columns={})


@dataclass(frozen=True, kw_only=True)
class BarsUpdate:
    """What one pushed tick table did."""

    closed: ClosedBars
    """The bars that closed, as arrays."""
    trades: tuple[TradeBatch, ...]
    """The accepted (not late) trades per (venue, symbol): what a paper broker may fill at."""
    watermarks: dict[Key, int]
    """Watermark of each (venue, symbol) after the table: bars ending at or before it are closed."""
    late: int
    """Ticks of this table that arrived after their minute closed (not added)."""

    @functools.cached_property
    def bars(self) -> pa.Table:
        """The bars that closed, :data:`BARS_SCHEMA`, ordered by (venue, symbol, minute_us); built on
        first use (the executor decides from :attr:`closed` and builds it after its decisions)."""
        return self.closed.table()


@dataclass(slots=True)
class _Open:
    """The not yet closed ticks of one (venue, symbol), as chunks of arrays."""

    max_time_us: int
    chunks: list[tuple[np.ndarray, ...]] = field(default_factory=list)
    first_end_us: int | None = None
    """End of the earliest open minute (None without open ticks): nothing closes before it."""


@functools.cache
def _no_bars() -> pa.Table:
    # One shared empty bar table (tables are immutable): building one costs ~0.2 ms, paid per tick otherwise.
    return empty_bars_table()


class OnlineBars:
    """Closed one-minute bars from ticks in arrival order; see the module doc."""

    def __init__(self, *, lateness_us: int) -> None:
        if lateness_us < 0:
            raise ValueError(f"lateness_us must be >= 0, got {lateness_us}")
        self.lateness_us = lateness_us
        """How far behind the latest trade time a tick may arrive and still count."""
        self.late_ticks = 0
        """Ticks not added because their minute had closed, since construction."""
        self.duplicate_ticks = 0
        """Ticks not counted again because their trade was already in the bar, since construction."""
        self._open: dict[Key, _Open] = {}

    def watermark(self, venue: str, symbol: str) -> int | None:
        """The watermark of (venue, symbol), or None before its first tick."""
        state = self._open.get((venue, symbol))
        return None if state is None else state.max_time_us - self.lateness_us

    def push(self, ticks: pa.Table) -> BarsUpdate:
        """Add a tick table (rows in arrival order) and return the bars it closed."""
        table = conform(ticks)
        closing: list[tuple[Key, _Ticks]] = []
        batches: list[TradeBatch] = []
        late_total = 0
        if table.num_rows == 0:
            return BarsUpdate(closed=_NO_CLOSED_BARS, trades=(), watermarks={}, late=0)
        # One code per (venue, symbol): the venue's dictionary index times the symbols' count plus the
        # symbol's (two dictionary encodings cost far less than joining the strings).
        venues = table.column("venue").combine_chunks().dictionary_encode()
        symbols = table.column("symbol").combine_chunks().dictionary_encode()
        n_symbols = len(symbols.dictionary)
        venue_names, symbol_names = venues.dictionary.to_pylist(), symbols.dictionary.to_pylist()
        if len(venue_names) == 1 and n_symbols == 1:
            codes, present = None, [0]  # one (venue, symbol): every row is its
        else:
            codes = venues.indices.to_numpy(zero_copy_only=False).astype(np.int64) * n_symbols
            codes += symbols.indices.to_numpy(zero_copy_only=False)
            present = np.unique(codes).tolist()
        keys = {
            code: (str(venue_names[code // n_symbols]), str(symbol_names[code % n_symbols]))
            for code in present
        }
        columns = {
            name: table.column(name).to_numpy()
            for name in ("trade_id", "price", "quantity", "side", "trade_time_us")
        }
        watermarks: dict[Key, int] = {}
        single = len(present) == 1
        for code in sorted(present, key=keys.__getitem__):
            key = keys[code]
            rows = None if single or codes is None else np.flatnonzero(codes == code)
            cols = columns if rows is None else {name: values[rows] for name, values in columns.items()}
            batch, done, late = self._push_key(key, cols)
            batches.append(batch)
            late_total += late
            if done is not None:
                closing.append((key, done))
            watermarks[key] = self._open[key].max_time_us - self.lateness_us
        closed = self._bars(closing)
        return BarsUpdate(closed=closed, trades=tuple(batches), watermarks=watermarks, late=late_total)

    def _bars(self, closing: list[tuple[Key, _Ticks]]) -> ClosedBars:
        """The bars of the closed ticks of each key (keys in order), all symbols aggregated in one pass."""
        if not closing:
            return _NO_CLOSED_BARS
        groups = np.concatenate(
            [np.full(len(ticks[0]), group, dtype=np.int64) for group, (_, ticks) in enumerate(closing)]
        )
        times, ids, prices, quantities, sides = (
            np.concatenate(parts) for parts in zip(*(ticks for _, ticks in closing), strict=True)
        )
        columns, duplicated = aggregate_minutes(
            groups, times, ids, prices, quantities, sides, n_groups=len(closing)
        )
        for (key, _), count in zip(closing, duplicated.tolist(), strict=True):
            if count:
                self.duplicate_ticks += count
                log.info("%s/%s: %d duplicate ticks counted once", key[0], key[1], count)
        return ClosedBars(keys=[key for key, _ in closing], columns=columns)

    def _push_key(self, key: Key, cols: dict[str, np.ndarray]) -> tuple[TradeBatch, _Ticks | None, int]:
        times = cols["trade_time_us"]
        state = self._open.get(key)
        if state is None:
            state = self._open[key] = _Open(max_time_us=int(times[0]))
        # The watermark each tick meets when it arrives: from the ticks before it, this table's included.
        seen = np.maximum.accumulate(np.concatenate(([state.max_time_us], times[:-1])))
        late = minute_of(times) + US_PER_MINUTE <= seen - self.lateness_us
        n_late = int(late.sum())
        if n_late:
            self.late_ticks += n_late
            log.warning(
                "%s/%s: %d ticks arrived after their minute closed (lateness %d µs); not added, %d so far",
                key[0],
                key[1],
                n_late,
                self.lateness_us,
                self.late_ticks,
            )
            cols = {name: values[~late] for name, values in cols.items()}
        state.max_time_us = max(state.max_time_us, int(times.max()))
        if len(cols["trade_time_us"]):
            state.chunks.append(
                tuple(cols[name] for name in ("trade_time_us", "trade_id", "price", "quantity", "side"))
            )
            end = int(minute_of(cols["trade_time_us"].min())) + US_PER_MINUTE
            state.first_end_us = end if state.first_end_us is None else min(state.first_end_us, end)
        batch = TradeBatch(
            venue=key[0],
            symbol=key[1],
            trade_time_us=cols["trade_time_us"],
            trade_id=cols["trade_id"],
            price=cols["price"],
        )
        return batch, self._close(key, state, state.max_time_us - self.lateness_us), n_late

    def flush(self) -> pa.Table:
        """Close every open bar (the end of a replay): the bars, ordered by (venue, symbol, minute_us).
        See :meth:`flush_closed`."""
        return self.flush_closed().table()

    def flush_closed(self) -> ClosedBars:
        """Close every open bar (the end of a replay): the bars as arrays, ordered by (venue, symbol,
        minute_us).

        The watermark moves to the end of the last bar closed, so a tick of a flushed minute arriving
        afterwards is late like any other, never the start of a second bar for that minute.
        """
        closing = []
        for key in sorted(self._open):
            state = self._open[key]
            done = self._close(key, state, None)
            if done is not None:
                closing.append((key, done))
                end = int(minute_of(done[0].max())) + US_PER_MINUTE
                state.max_time_us = max(state.max_time_us, end + self.lateness_us)
        return self._bars(closing)

    def _close(self, key: Key, state: _Open, watermark_us: int | None) -> _Ticks | None:
        """The ticks of ``key``'s bars ending at or before ``watermark_us`` (all when None), removed from
        the state: (times, ids, prices, quantities, sides)."""
        if not state.chunks or (
            watermark_us is not None and state.first_end_us is not None and watermark_us < state.first_end_us
        ):
            return None
        if len(state.chunks) > 1:
            state.chunks = [tuple(np.concatenate(parts) for parts in zip(*state.chunks, strict=True))]
        times, ids, prices, quantities, sides = state.chunks[0]
        minutes = minute_of(times)
        done = (
            np.ones(len(times), dtype=bool)
            if watermark_us is None
            else minutes + US_PER_MINUTE <= watermark_us
        )
        if not done.any():
            return None
        keep = ~done
        state.chunks = (
            [(times[keep], ids[keep], prices[keep], quantities[keep], sides[keep])] if keep.any() else []
        )
        state.first_end_us = int(minutes[keep].min()) + US_PER_MINUTE if keep.any() else None
        return times[done], ids[done], prices[done], quantities[done], sides[done]
