"""Closed ticks into one-minute bars, vectorised over the (venue, symbol)s and minutes of a poll.

The rules are :class:`~trading_assets.execution.online.OnlineBars`' (its module doc): open and close by
(trade_time_us, trade_id), high, low and the trade count exactly, the sums correctly rounded with
``math.fsum``; a trade seen twice (same time and id) counts once, and an id repeated within a minute with
another time (a corrected print) counts once, at its earliest (time, id). Everything but the correctly
rounded sums is computed for all the minutes at once; the sums take one ``math.fsum`` per bar over a
list slice (fsum's result does not depend on the order of its values, only on which values they are).
"""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa

from trading_assets.core.bars import BARS_SCHEMA
from trading_assets.core.ticks import Side
from trading_assets.core.time import US_PER_MINUTE

BarColumns = dict[str, np.ndarray]
"""The numeric columns of some bars, by bar column name, plus ``group``: the index of each bar's (venue,
symbol); ordered by (group, minute)."""


def minute_of(times_us: np.ndarray) -> np.ndarray:
    """Start of the minute of each time. Floor division floors toward -inf: the same minute as
    compute_bars_1m's modulo for any time."""
    return (times_us // US_PER_MINUTE) * US_PER_MINUTE


def aggregate_minutes(
    groups: np.ndarray,
    times: np.ndarray,
    ids: np.ndarray,
    prices: np.ndarray,
    quantities: np.ndarray,
    sides: np.ndarray,
    n_groups: int,
) -> tuple[BarColumns, np.ndarray]:
    """The bars of these ticks (any order, at least one) of ``n_groups`` (venue, symbol) groups, ordered
    by (group, minute), with each bar's ``group``; and the duplicate ticks per group."""
    minutes = minute_of(times)
    if _ascending(groups, times, ids):
        # Already in (group, minute, time, id) order (ticks arrive in time order): the stable sort below
        # would return them as they are.
        g, t, i, p, q, s, m = groups, times, ids, prices, quantities, sides, minutes
    else:
        order = np.lexsort((ids, times, minutes, groups))
        g, t, i, p, q, s, m = (
            groups[order],
            times[order],
            ids[order],
            prices[order],
            quantities[order],
            sides[order],
            minutes[order],
        )
    # One trade counts once: drop a tick whose (time, id) repeats the previous one's.
    first = np.ones(len(g), dtype=bool)
    first[1:] = (i[1:] != i[:-1]) | (t[1:] != t[:-1]) | (m[1:] != m[:-1]) | (g[1:] != g[:-1])
    dropped = [g[~first]]
    if not first.all():
        g, t, i, p, q, s, m = g[first], t[first], i[first], p[first], q[first], s[first], m[first]
    # Then an id repeated within a minute with another time: the first in (time, id) order counts. None
    # is when ids ascend strictly within each minute (the usual case), so the sort by id is skipped then.
    same_bar = (g[1:] == g[:-1]) & (m[1:] == m[:-1])
    if (same_bar & (i[1:] <= i[:-1])).any():
        by_id = np.lexsort((np.arange(len(i)), i, m, g))
        gb, mb, ib = g[by_id], m[by_id], i[by_id]
        repeated = (gb[1:] == gb[:-1]) & (mb[1:] == mb[:-1]) & (ib[1:] == ib[:-1])
    else:
        repeated = np.zeros(0, dtype=bool)
    if repeated.any():
        keep = np.ones(len(i), dtype=bool)
        keep[by_id[1:][repeated]] = False
        dropped.append(g[~keep])
        g, t, i, p, q, s, m = g[keep], t[keep], i[keep], p[keep], q[keep], s[keep], m[keep]
    duplicated = np.bincount(np.concatenate(dropped).astype(np.int64), minlength=n_groups)
    starts = np.flatnonzero(np.concatenate(([True], (m[1:] != m[:-1]) | (g[1:] != g[:-1]))))
    ends = np.concatenate((starts[1:], [len(m)]))
    bounds = list(zip(starts.tolist(), ends.tolist(), strict=True))
    quantity_list = q.tolist()
    quote_list = (p * q).tolist()
    volume = [math.fsum(quantity_list[a:b]) for a, b in bounds]
    quote = [math.fsum(quote_list[a:b]) for a, b in bounds]
    columns: BarColumns = {
        "group": g[starts],
        "minute_us": m[starts],
        "open": p[starts],
        "high": np.maximum.reduceat(p, starts),
        "low": np.minimum.reduceat(p, starts),
        "close": p[ends - 1],
        "volume": np.array(volume, dtype=np.float64),
        "quote_volume": np.array(quote, dtype=np.float64),
        "vwap": np.array(
            [total / amount if amount else math.nan for total, amount in zip(quote, volume, strict=True)],
            dtype=np.float64,
        ),
        "trades": (ends - starts).astype(np.int64),
    }
    for name, side in (("buy_volume", Side.BUY), ("sell_volume", Side.SELL)):
        # The side's quantities in row order, and where each bar's start among them.
        chosen = s == int(side)
        values = q[chosen].tolist()
        before = np.concatenate(([0], np.cumsum(chosen))).tolist()
        columns[name] = np.array(
            [math.fsum(values[before[a] : before[b]]) for a, b in bounds], dtype=np.float64
        )
    return columns, duplicated


def _ascending(groups: np.ndarray, times: np.ndarray, ids: np.ndarray) -> bool:
    """Whether the ticks are in (group, time, id) order, equal keys allowed (then also in (group, minute,
    time, id) order: the minute grows with the time)."""
    if len(groups) < 2:
        return True
    same_group = groups[1:] == groups[:-1]
    same_time = times[1:] == times[:-1]
    later = (groups[1:] > groups[:-1]) | (same_group & (times[1:] > times[:-1]))
    return bool((later | (same_group & same_time & (ids[1:] >= ids[:-1]))).all())


def bars_table(keys: list[tuple[str, str]], columns: BarColumns) -> pa.Table:
    """The bar table (:data:`BARS_SCHEMA`) of ``columns``, each bar's (venue, symbol) ``keys[group]``."""
    groups = columns["group"].tolist()
    arrays = [
        pa.array([keys[group][0] for group in groups], pa.string()),
        pa.array([keys[group][1] for group in groups], pa.string()),
    ]
    for field in BARS_SCHEMA:
        if field.name not in ("venue", "symbol"):
            arrays.append(pa.array(columns[field.name], type=field.type))
    return pa.Table.from_arrays(arrays, schema=BARS_SCHEMA)
