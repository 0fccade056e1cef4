"""``backtested_signals``: every out-of-sample signal of a backtest, stored with the version that made it.

One table per symbol (``backtested_signals_<symbol>``), partitioned by day like every table of the
table store: a backtest replaces the days it scored, and the per-symbol table keeps one symbol's
backtest from replacing another's rows of the same day when both run at once.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from resources.table_store.base import TableStore
from resources.table_store.spec import TableSpec
from trading_assets.core.time import US_PER_DAY, date_of, day_bounds_us

SIGNALS_SCHEMA = pa.schema(
    [
        pa.field("symbol", pa.string(), nullable=False),
        pa.field("minute_us", pa.int64(), nullable=False),
        pa.field("model_version", pa.int64(), nullable=False),
        pa.field("fold", pa.int32(), nullable=False),
        pa.field("prediction", pa.float64(), nullable=False),
        pa.field("signal", pa.int8(), nullable=False),
        pa.field("position", pa.float64(), nullable=False),
        pa.field("equity", pa.float64(), nullable=False),
    ]
)
"""A bar's decision: the model's prediction and signal after the bar closed, the position held during
the bar and the equity at its close (each fold's backtest starts flat at the capital)."""


def signals_table(symbol: str) -> TableSpec:
    """The table of one symbol's backtested signals."""
    return TableSpec(
        name=f"backtested_signals_{symbol.lower()}",
        schema=SIGNALS_SCHEMA,
        time_column="minute_us",
        key=("minute_us",),
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class SignalRows:
    """One backtest's rows, ready for the store."""

    symbol: str
    """The symbol."""
    table: pa.Table
    """Rows with :data:`SIGNALS_SCHEMA`, in time order."""


def signal_rows(
    *,
    symbol: str,
    version: int,
    minute_us: list[np.ndarray],
    predictions: list[np.ndarray],
    signals: list[np.ndarray],
    positions: list[np.ndarray],
    equity: list[np.ndarray],
) -> SignalRows:
    """The rows of a backtest's windows (one array per fold in each list)."""
    folds = [np.full(len(times), index, dtype=np.int32) for index, times in enumerate(minute_us)]
    times = np.concatenate(minute_us) if minute_us else np.empty(0, np.int64)
    table = pa.table(
        {
            "symbol": pa.array([symbol] * len(times), pa.string()),
            "minute_us": pa.array(times, pa.int64()),
            "model_version": pa.array(np.full(len(times), version, dtype=np.int64)),
            "fold": pa.array(np.concatenate(folds) if folds else np.empty(0, np.int32)),
            "prediction": pa.array(np.concatenate(predictions) if predictions else np.empty(0)),
            "signal": pa.array(np.concatenate(signals).astype(np.int8) if signals else np.empty(0, np.int8)),
            "position": pa.array(np.concatenate(positions) if positions else np.empty(0)),
            "equity": pa.array(np.concatenate(equity) if equity else np.empty(0)),
        },
        schema=SIGNALS_SCHEMA,
    )
    return SignalRows(symbol=symbol, table=table)


def write_signals(store: TableStore, rows: SignalRows) -> list[dt.date]:
    """Replace the days ``rows`` cover in the symbol's table; return those days."""
    spec = signals_table(rows.symbol)
    times = rows.table["minute_us"]
    days = sorted({date_of(int(t)) for t in np.unique(times.to_numpy() // US_PER_DAY * US_PER_DAY)})
    for day in days:
        start_us, end_us = day_bounds_us(day)
        inside = pc.and_(pc.greater_equal(times, start_us), pc.less(times, end_us))
        store.write_partition(spec, day, rows.table.filter(inside))
    return days
