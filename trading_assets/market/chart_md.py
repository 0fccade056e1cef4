"""A day's bars as a small Markdown table of sparklines, short enough for the Dagster UI to show inline.

Dagster 1.13's UI renders Markdown metadata inline in the metadata table only below 1,000 characters;
anything longer (a chart PNG as a ``data:`` URI is tens of kilobytes) hides behind a "[Show Markdown]"
link that opens it in a dialog. A row of Unicode block characters per symbol fits: the hourly closing
price and the hourly traded value, each scaled to its own range. The full PNG chart stays beside it.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from trading_assets.core.time import US_PER_MINUTE

MAX_CHARS = 999
"""The UI shows Markdown metadata inline below 1,000 characters."""
_BLOCKS = "▁▂▃▄▅▆▇█"
_US_PER_HOUR = 60 * US_PER_MINUTE


def sparkline(values: np.ndarray) -> str:
    """One block character per value, scaled from the lowest to the highest; NaN is a blank."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return " " * len(values)
    low, high = float(finite.min()), float(finite.max())
    span = high - low
    out = []
    for value in values:
        if not np.isfinite(value):
            out.append(" ")
        elif span == 0:
            out.append(_BLOCKS[0])
        else:
            out.append(_BLOCKS[min(len(_BLOCKS) - 1, int((value - low) / span * len(_BLOCKS)))])
    return "".join(out)


def _hourly(bars: pa.Table, day_start_us: int) -> tuple[np.ndarray, np.ndarray]:
    """(last close, traded value) per hour of the day; NaN close for hours without a bar."""
    hours = (bars.column("minute_us").to_numpy() - day_start_us) // _US_PER_HOUR
    closes = bars.column("close").to_numpy()
    notional = bars.column("quote_volume").to_numpy()
    order = np.argsort(bars.column("minute_us").to_numpy(), kind="stable")
    close = np.full(24, np.nan)
    value = np.zeros(24)
    for i in order:
        hour = int(hours[i])
        if 0 <= hour < 24:
            close[hour] = closes[i]
            value[hour] += notional[i]
    return close, value


def bars_sparklines_md(bars: pa.Table, *, day_start_us: int) -> str:
    """Markdown table: per symbol, hourly close and traded-value sparklines and the day's change."""
    header = "| symbol | close, hourly (00-23 UTC) | change | traded value, hourly |\n|---|---|---|---|"
    if bars.num_rows == 0:
        return f"{header}\n| - | no bars | - | - |"
    rows: list[str] = []
    keys = sorted(set(zip(bars.column("venue").to_pylist(), bars.column("symbol").to_pylist(), strict=True)))
    several_venues = len({venue for venue, _ in keys}) > 1
    text = header
    for shown, (venue, symbol) in enumerate(keys):
        mask = pc.and_(pc.equal(bars["venue"], venue), pc.equal(bars["symbol"], symbol))
        close, value = _hourly(bars.filter(mask), day_start_us)
        finite = close[np.isfinite(close)]
        change = f"{(finite[-1] / finite[0] - 1) * 100:+.2f}%" if finite.size and finite[0] else "-"
        label = f"{venue}:{symbol}" if several_venues else symbol
        row = f"| {label} | {sparkline(close)} | {change} | {sparkline(value)} |"
        more = f"\n\n{len(keys) - shown} more symbols: see `TickStore.read_bars`"
        if len(text) + 1 + len(row) + len(more) > MAX_CHARS:
            return text + more
        rows.append(row)
        text = f"{text}\n{row}"
    return text
