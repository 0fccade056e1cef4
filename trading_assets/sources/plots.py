"""The picture of a source's day for the Dagster UI: each series' latest values over the day's hours."""

from __future__ import annotations

import datetime as dt
import io

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from resources.sources.base import SourceSpec
from trading_assets.core.time import day_start_us
from trading_assets.sources.versions import latest_as_of

MAX_SERIES_DRAWN = 12
"""Series drawn at most (the first by name); more lines are unreadable at this size."""
_HOUR_US = 3_600_000_000
_NUMERIC = (pa.int8(), pa.int16(), pa.int32(), pa.int64(), pa.float32(), pa.float64())


def value_column(spec: SourceSpec) -> str | None:
    """The first numeric column that is a value (not time, version, series or key), or None."""
    records = spec.records
    taken = {records.time_column, records.version_column, *records.series, *records.key}
    for field in records.schema:
        if field.name not in taken and field.type in _NUMERIC:
            return field.name
    return None


def source_day_png(spec: SourceSpec, rows: pa.Table, *, day: dt.date) -> bytes:
    """A 900x400 PNG of ``day``: per series, its latest version of :func:`value_column` over the hours of
    the day (rows per hour when the source has no numeric value), as PNG bytes.

    Renders through matplotlib's Agg canvas directly (no pyplot): safe in servers and threads.
    """
    # Imported here: matplotlib costs about 0.3 s to import.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    records = spec.records
    column = value_column(spec)
    figure = Figure(figsize=(9, 4), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.subplots()
    axes.set_title(f"source_{spec.name} {day}: {column or 'rows per hour'} per series", fontsize=11)
    axes.set_xlabel("hour of day (UTC)")
    axes.set_xlim(0, 24)
    axes.grid(True, linewidth=0.3)
    start = day_start_us(day)
    latest = latest_as_of(spec, rows, np.iinfo(np.int64).max)
    series = list(records.series)
    labels = (
        sorted({"/".join(str(v) for v in key.values()) for key in latest.select(series).to_pylist()})
        if series
        else ["(all)"]
    )
    if latest.num_rows == 0:
        axes.text(0.5, 0.5, "no rows", ha="center", va="center", transform=axes.transAxes)
    label_of = (
        np.array(["/".join(str(row[c]) for c in series) for row in latest.select(series).to_pylist()])
        if series
        else np.full(latest.num_rows, "(all)")
    )
    times = np.asarray(latest.column(records.time_column).to_numpy(), dtype=np.int64)
    for label in labels[:MAX_SERIES_DRAWN] if latest.num_rows else []:
        chosen = label_of == label
        hours = (times[chosen] - start) / _HOUR_US
        if column is not None:
            values = np.asarray(pc.cast(latest.column(column), pa.float64()).to_numpy(), dtype=np.float64)[
                chosen
            ]
            axes.step(hours, values, where="post", linewidth=0.9, label=label)
        else:
            counts, edges = np.histogram(hours, bins=24, range=(0, 24))
            axes.step(edges[:-1], counts, where="post", linewidth=0.9, label=label)
    if latest.num_rows and len(labels) > 1:
        axes.legend(fontsize=7, ncol=min(4, len(labels)), loc="upper left")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
