"""One-minute bars: OHLCV, VWAP, trade count and buy/sell volume per (venue, symbol, UTC minute).

A "bar table" is a ``pyarrow.Table`` with :data:`BARS_SCHEMA`, one row per minute that had at least
one trade (minutes without trades have no row: no forward fill, so nothing is invented). Bars are
computed from a tick table by :func:`compute_bars_1m` (defined in :mod:`trading_assets.core.bars`, so that
the tick stores compute them too) with DuckDB over the Arrow data (0.5-1 s for 10M ticks on 2 cores,
bench/bars.py) and drawn for a day by :func:`bars_chart_png`.
"""

from __future__ import annotations

import io

import numpy as np
import pyarrow as pa

from resources.table_store.spec import TableSpec
from trading_assets.core.bars import BARS_SCHEMA, compute_bars_1m, conform_bars
from trading_assets.core.time import US_PER_DAY, US_PER_MINUTE, US_PER_SECOND

__all__ = ["BARS_TABLE", "bars_chart_png", "compute_bars_1m"]

BARS_TABLE = TableSpec(
    name="bars_1m",
    schema=BARS_SCHEMA,
    time_column="minute_us",
    key=("venue", "symbol", "minute_us"),
)
"""The bar table in the table store: one partition per UTC day of ``minute_us``, rows in the order
:func:`compute_bars_1m` returns them, so a stored day reads back equal to the computed one."""

_MAX_VOLUME_BUCKETS = 150


def _series(bars: pa.Table) -> list[tuple[str, np.ndarray, np.ndarray, np.ndarray]]:
    """(label, minute_us, close, quote_volume) per (venue, symbol), ordered by label."""
    ordered = bars.sort_by([("venue", "ascending"), ("symbol", "ascending"), ("minute_us", "ascending")])
    venues = ordered.column("venue").to_pylist()
    symbols = ordered.column("symbol").to_pylist()
    keys = list(zip(venues, symbols, strict=True))
    minutes = ordered.column("minute_us").to_numpy()
    closes = ordered.column("close").to_numpy()
    notional = ordered.column("quote_volume").to_numpy()
    several_venues = len(set(venues)) > 1
    series = []
    start = 0
    for end in range(1, len(keys) + 1):
        if end == len(keys) or keys[end] != keys[start]:
            venue, symbol = keys[start]
            label = f"{venue}:{symbol}" if several_venues else symbol
            series.append((label, minutes[start:end], closes[start:end], notional[start:end]))
            start = end
    return series


def _hours(times_us: np.ndarray | int, day_start_us: int) -> np.ndarray:
    return (np.asarray(times_us) - day_start_us) / (3_600 * US_PER_SECOND)


def bars_chart_png(bars: pa.Table, *, title: str) -> bytes:
    """A 900x500 PNG of one day's bars: close per symbol (first close = 100) over quote volume.

    Closes are normalised so that symbols of very different prices share one axis; the lower panel
    stacks each symbol's quote volume (notional; base volumes are not comparable across symbols) in
    buckets of whole minutes, at most about 150 over the span of the bars.
    Renders through matplotlib's Agg canvas directly: no pyplot, no global backend switch, so it is
    safe in servers and threads.
    """
    # Imported here: matplotlib costs about 0.3 s to import, and most users of bars never draw.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import EngFormatter

    table = conform_bars(bars)
    figure = Figure(figsize=(9, 5), dpi=100)
    FigureCanvasAgg(figure)
    price_ax, volume_ax = figure.subplots(
        2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1], "hspace": 0.08}
    )
    price_ax.set_title(title, fontsize=11)
    if table.num_rows == 0:
        price_ax.text(0.5, 0.5, "no trades", ha="center", va="center", transform=price_ax.transAxes)
    else:
        series = _series(table)
        first = min(int(minutes[0]) for _, minutes, _, _ in series)
        last = max(int(minutes[-1]) for _, minutes, _, _ in series)
        day_start = first - first % US_PER_DAY
        # Volume in buckets of whole minutes, at most about 150 of them: per-minute stacks of a day are
        # noise at this size, and they would make the PNG several times larger.
        bucket = max(1, -(-(last - first + US_PER_MINUTE) // (_MAX_VOLUME_BUCKETS * US_PER_MINUTE)))
        bucket_us = bucket * US_PER_MINUTE
        edges = np.arange(first, last + bucket_us + 1, bucket_us)
        stacked = []
        for label, minutes, closes, notional in series:
            price_ax.plot(_hours(minutes, day_start), closes / closes[0] * 100.0, linewidth=0.8, label=label)
            stacked.append(np.histogram(minutes, bins=edges, weights=notional)[0])
        # Each bucket's stack drawn as a step from its start: append the last value once more to close it.
        volume_ax.stackplot(
            _hours(edges, day_start), [np.append(values, values[-1]) for values in stacked], step="post"
        )
        price_ax.legend(loc="upper left", fontsize=8, ncol=min(len(series), 5), frameon=False)
        day = np.datetime64(day_start, "us").astype("datetime64[D]")
        volume_ax.set_xlabel(f"hour of {day} (UTC)")
        volume_ax.set_xlim(_hours(edges[0], day_start), _hours(edges[-1], day_start))
        volume_ax.set_ylabel(f"quote vol / {bucket} min", fontsize=9)
    price_ax.set_ylabel("close (first = 100)")
    volume_ax.yaxis.set_major_formatter(EngFormatter(sep=""))
    price_ax.grid(True, linewidth=0.3)
    volume_ax.grid(True, linewidth=0.3)
    figure.subplots_adjust(left=0.1, right=0.98, top=0.93, bottom=0.11)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
