"""The no-lookahead check, shared by the test of the real features and by its planted-leak twin.

A feature function has no lookahead when the features of a bar are the same whether or not later bars
exist. :func:`lookahead_differences` proves it empirically: it cuts the bars at given rows t (in time
order, all symbols interleaved), computes the features on ``bars[:t+1]`` and compares, for every symbol
present, its last feature row with the row of the same bar in the features of all bars; and it computes
the features on only the last ``warmup`` bars of row t's symbol and compares their last row too. A NaN
against a value is a difference; values must be equal or within ``tolerance`` (relative, and absolute
below 1).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np
import pyarrow as pa

FeatureFunction = Callable[[pa.Table], pa.Table]
KEY = ("venue", "symbol", "minute_us")


def time_ordered(bars: pa.Table) -> pa.Table:
    """The bars in the order they happen: by minute, then venue and symbol."""
    return bars.sort_by([("minute_us", "ascending"), ("venue", "ascending"), ("symbol", "ascending")])


def lookahead_differences(
    compute: FeatureFunction,
    bars: pa.Table,
    *,
    cuts: Iterable[int],
    warmup: int,
    tolerance: float = 1e-12,
) -> list[str]:
    """Descriptions of every difference found (empty when the feature function passes).

    ``bars`` must be in time order (:func:`time_ordered`); ``cuts`` are row indices into it.
    """
    full = compute(bars)
    full_rows = _rows_by_key(full)
    symbols = np.array(
        [
            f"{v}\0{s}"
            for v, s in zip(bars.column("venue").to_pylist(), bars.column("symbol").to_pylist(), strict=True)
        ]
    )
    differences: list[str] = []
    for cut in cuts:
        truncated = compute(bars.slice(0, cut + 1))
        # Every symbol's last row in the truncated features is a bar whose future was cut off.
        for row in _last_rows_per_symbol(truncated):
            differences += _compare(truncated, row, full, full_rows, f"cut at row {cut}", tolerance)
        # Only the last `warmup` bars of row t's symbol: the executor's view of the same bar.
        own = np.flatnonzero(symbols[: cut + 1] == symbols[cut])[-warmup:]
        window = compute(bars.take(pa.array(own)))
        differences += _compare(
            window, window.num_rows - 1, full, full_rows, f"last {warmup} bars to row {cut}", tolerance
        )
    return differences


def _rows_by_key(table: pa.Table) -> dict[tuple[object, ...], int]:
    keys = zip(*(table.column(name).to_pylist() for name in KEY), strict=True)
    return {key: index for index, key in enumerate(keys)}


def _last_rows_per_symbol(table: pa.Table) -> list[int]:
    last: dict[tuple[object, object], int] = {}
    for index, key in enumerate(
        zip(table.column("venue").to_pylist(), table.column("symbol").to_pylist(), strict=True)
    ):
        last[key] = index
    return list(last.values())


def _compare(
    part: pa.Table,
    row: int,
    full: pa.Table,
    full_rows: dict[tuple[object, ...], int],
    context: str,
    tolerance: float,
) -> list[str]:
    key = tuple(part.column(name)[row].as_py() for name in KEY)
    if key not in full_rows:
        return [f"{context}: bar {key} is missing from the features of all bars"]
    full_row = full_rows[key]
    out = []
    for name in part.column_names:
        if name in KEY:
            continue
        seen, expected = part.column(name)[row].as_py(), full.column(name)[full_row].as_py()
        if not _same(seen, expected, tolerance):
            out.append(f"{context}: {name} of {key} is {seen} with the cut, {expected} with all bars")
    return out


def _same(seen: object, expected: object, tolerance: float) -> bool:
    if seen is None or expected is None:
        return seen is expected
    if isinstance(seen, float) and isinstance(expected, float):
        if np.isnan(seen) or np.isnan(expected):
            return bool(np.isnan(seen) and np.isnan(expected))
        return seen == expected or abs(seen - expected) <= tolerance * max(1.0, abs(expected))
    return seen == expected
