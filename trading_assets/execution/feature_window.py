"""The last bars of each (venue, symbol) the executor keeps, and the feature rows of the bars it adds.

:class:`FeatureWindow` keeps the last :data:`~trading_assets.models.features.WARMUP_BARS` bars of each
(venue, symbol). :meth:`FeatureWindow.add_bars` appends the bars a poll closed and computes the feature
row of each of them at once with :func:`~trading_assets.models.feature_row.latest_feature_rows` (the
windows ending at each bar, stacked): bit for bit the last row of ``compute_features`` over the bars
kept, which the features code guarantees equals the full history's row. :meth:`FeatureWindow.latest`
gives the latest bar's row alone.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from trading_assets.core.bars import BARS_SCHEMA, empty_bars_table
from trading_assets.models.feature_row import FEATURE_INPUTS, latest_feature_row, latest_feature_rows
from trading_assets.models.features import FEATURE_COLUMNS, WARMUP_BARS

Key = tuple[str, str]
"""(venue, symbol)."""


@dataclass(slots=True)
class _Kept:
    """The last bars of one (venue, symbol): one array per bar column, oldest row first."""

    columns: dict[str, np.ndarray]
    rows: int = 0


BAR_NUMERIC_COLUMNS = tuple(name for name in BARS_SCHEMA.names if name not in ("venue", "symbol"))
"""The bar columns a :class:`FeatureWindow` keeps (all but venue and symbol)."""
_BAR_DTYPES = {name: BARS_SCHEMA.field(name).type.to_pandas_dtype() for name in BAR_NUMERIC_COLUMNS}


_Windows = list[tuple[npt.NDArray[np.int64], dict[str, np.ndarray]]]
"""Windows of bars to compute feature rows of: (the bars in each window, the windows as ``k`` × ``rows``
arrays by column, padded in front where shorter)."""


class FeatureWindow:
    """The last :data:`WARMUP_BARS` bars of each (venue, symbol) and the feature rows of added bars."""

    def __init__(self, rows: int = WARMUP_BARS) -> None:
        if rows < 1:
            raise ValueError(f"rows must be >= 1, got {rows}")
        self.rows = rows
        """Bars kept per (venue, symbol)."""
        self._kept: dict[Key, _Kept] = {}

    def add(self, bars: pa.Table) -> None:
        """Append closed bars (a bar table; each (venue, symbol)'s minutes ascending, after the kept ones)."""
        if bars.num_rows == 0:
            return
        keys = list(zip(bars.column("venue").to_pylist(), bars.column("symbol").to_pylist(), strict=True))
        self.add_bars(keys, {name: bars.column(name).to_numpy() for name in BAR_NUMERIC_COLUMNS}, ())

    def add_row(self, venue: str, symbol: str, bar: Mapping[str, np.generic]) -> None:
        """Append one closed bar of (venue, symbol): its numeric bar columns (numpy scalars of the bar
        table's types), after the kept ones."""
        self.add_bars([(venue, symbol)], {name: np.asarray([bar[name]]) for name in BAR_NUMERIC_COLUMNS}, ())

    def add_bars(
        self, keys: Sequence[Key], columns: Mapping[str, np.ndarray], featured: Collection[str]
    ) -> tuple[list[int], npt.NDArray[np.float64]]:
        """Append closed bars and compute the feature row of each bar of a ``featured`` symbol.

        Bar ``i`` is ``keys[i]``'s, with the value ``columns[name][i]`` of each numeric bar column; each
        key's minutes strictly ascending, after its kept ones. Returns the indices of the bars of the
        ``featured`` symbols and their feature rows (one per index, :data:`FEATURE_COLUMNS` order), each
        the row of the bars kept when that bar was added: as if added one by one.
        """
        wanted: list[int] = []
        windows: _Windows = []
        start = 0
        while start < len(keys):
            end = start + 1
            while end < len(keys) and keys[end] == keys[start]:
                end += 1
            key = keys[start]
            kept = self._kept.get(key)
            if end - start == 1 and kept is not None and kept.rows >= self.rows:
                # One bar after a full window (live, each bar of each symbol): shifted in, its window the
                # kept bars, copied now (a later bar of the same key would shift them again).
                self._shift_in(key, kept, columns, start)
                if key[1] in featured:
                    window = {
                        name: kept.columns[name][np.newaxis, -self.rows :].copy() for name in FEATURE_INPUTS
                    }
                    windows.append((np.array([self.rows]), window))
                    wanted.append(start)
                start = end
                continue
            extended = self._append(key, {name: columns[name][start:end] for name in BAR_NUMERIC_COLUMNS})
            if key[1] in featured:
                self._windows(extended, end - start, windows)
                wanted.extend(range(start, end))
            start = end
        if not windows:
            return wanted, np.empty((0, len(FEATURE_COLUMNS)), dtype=np.float64)
        # The windows are in the order of `wanted` (each key's bars in order): one call for all of them.
        stacked = {name: np.concatenate([part[name] for _, part in windows]) for name in FEATURE_INPUTS}
        lengths = np.concatenate([lengths for lengths, _ in windows])
        return wanted, latest_feature_rows(stacked, lengths)

    def _windows(self, extended: Mapping[str, np.ndarray], added: int, windows: _Windows) -> None:
        """Add to ``windows`` the window ending at each of the last ``added`` bars of ``extended``: the
        ``rows`` bars up to it, padded in front while warming up (the padding is never read: see
        :func:`~trading_assets.models.feature_row.latest_feature_rows`)."""
        total = len(extended["minute_us"])
        ends = np.arange(total - added + 1, total + 1)
        lengths = np.minimum(ends, self.rows)
        padding = max(0, self.rows - int(ends[0]))
        # Row j of `index` picks the `rows` bars (padding included) ending at new bar j.
        index = (ends + padding - self.rows)[:, np.newaxis] + np.arange(self.rows)
        window = {}
        for name in FEATURE_INPUTS:
            values = extended[name]
            if padding:
                fill = np.full(padding, np.nan if values.dtype.kind == "f" else 0, dtype=values.dtype)
                values = np.concatenate((fill, values))
            window[name] = values[index]
        windows.append((lengths, window))

    def _shift_in(self, key: Key, kept: _Kept, columns: Mapping[str, np.ndarray], row: int) -> None:
        """Append bar ``row`` of ``columns`` to ``key``'s full window: each kept column shifted by one in
        place (a memmove; nothing allocated), the new bar last."""
        minute_us, last = int(columns["minute_us"][row]), int(kept.columns["minute_us"][-1])
        if minute_us <= last:
            raise ValueError(f"{key[0]}/{key[1]}: bar {minute_us} is not after the last kept {last}")
        for name in BAR_NUMERIC_COLUMNS:
            column = kept.columns[name]
            column[:-1] = column[1:]
            column[-1] = columns[name][row]

    def _append(self, key: Key, block: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Append ``block`` (one key's bars, minutes ascending) and return the kept bars before it with
        the block after them (the windows of the block's bars are in it)."""
        kept = self._kept.get(key)
        if kept is None:
            kept = self._kept[key] = _Kept(
                columns={name: np.empty(0, dtype=_BAR_DTYPES[name]) for name in BAR_NUMERIC_COLUMNS}
            )
        minutes = np.asarray(block["minute_us"], dtype=np.int64)
        previous = int(kept.columns["minute_us"][-1]) if kept.rows else None
        if previous is not None and int(minutes[0]) <= previous:
            raise ValueError(
                f"{key[0]}/{key[1]}: bar {int(minutes[0])} is not after the last kept {previous}"
            )
        if len(minutes) > 1 and not (minutes[1:] > minutes[:-1]).all():
            raise ValueError(f"{key[0]}/{key[1]}: bars {minutes.tolist()} are not in ascending minutes")
        extended = {
            name: np.concatenate((kept.columns[name], np.asarray(block[name], dtype=_BAR_DTYPES[name])))
            for name in BAR_NUMERIC_COLUMNS
        }
        # The kept arrays are the window's own (copies): extended never leaves this call uncopied.
        kept.columns = {name: values[-self.rows :].copy() for name, values in extended.items()}
        kept.rows = len(kept.columns["minute_us"])
        return extended

    def bars(self, venue: str, symbol: str) -> pa.Table:
        """The kept bars of (venue, symbol), oldest first, as a bar table."""
        kept = self._kept.get((venue, symbol))
        if kept is None or kept.rows == 0:
            return empty_bars_table()
        arrays = [
            pa.array([venue] * kept.rows, pa.string()),
            pa.array([symbol] * kept.rows, pa.string()),
            *(pa.array(kept.columns[name].copy()) for name in BAR_NUMERIC_COLUMNS),
        ]
        return pa.Table.from_arrays(arrays, schema=BARS_SCHEMA)

    def latest(self, venue: str, symbol: str) -> tuple[int, npt.NDArray[np.float64]] | None:
        """(minute_us, feature row in ``FEATURE_COLUMNS`` order) of the latest kept bar, or None.

        The row is :func:`~trading_assets.models.feature_row.latest_feature_row` of the kept bars: bit for
        bit the last row of ``compute_features`` over them, without computing the rows before it.
        """
        kept = self._kept.get((venue, symbol))
        if kept is None or kept.rows == 0:
            return None
        return int(kept.columns["minute_us"][-1]), latest_feature_row(kept.columns)
