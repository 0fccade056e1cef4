"""Features of one-minute bars: one pure function over windows counted in rows, per (venue, symbol).

:func:`compute_features` turns a bar table into a feature table (:data:`FEATURES_TABLE`). Bars exist
only for minutes with trades, so windows count rows, not minutes: the executor that keeps the last
:data:`WARMUP_BARS` bars of a symbol computes the same features as the full history, bit for bit
(``trading_assets.models.windows`` sums every window directly, so no running sum carries history in).
The features of row t depend on rows ``t - WARMUP_BARS + 1 .. t`` of its (venue, symbol) and nothing
later; a row whose window is not complete yet holds NaN in that feature (never a null).

:func:`feature_code_digest` hashes the source of this module and of the window helpers, and is
recorded with every model: a model only trades on features computed by the code it was trained on.
"""

from __future__ import annotations

import hashlib
import inspect
import sys

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from resources.table_store.spec import TableSpec
from trading_assets.core.bars import conform_bars
from trading_assets.core.time import US_PER_MINUTE
from trading_assets.models import windows
from trading_assets.models.windows import lagged, positions_in_groups, window_mean_std, window_sum

RETURN_HORIZONS: tuple[int, ...] = (1, 5, 15, 60)
"""Close-to-close log returns over these many rows (``ret_<h>`` needs ``h + 1`` rows)."""
VOLATILITY_WINDOWS: tuple[int, ...] = (15, 60)
"""Realized volatility over these many one-row log returns (``rvol_<w>`` needs ``w + 1`` rows)."""
RANGE_WINDOWS: tuple[int, ...] = (1, 15)
"""Mean high-low log range over these many rows."""
ZSCORE_WINDOW = 60
"""Rows of the window the volume and trade-count z-scores compare the current row with."""
IMBALANCE_WINDOWS: tuple[int, ...] = (1, 15)
"""Order-flow imbalance ``(buy - sell) / (buy + sell)`` over these many rows."""
VWAP_WINDOWS: tuple[int, ...] = (15, 60)
"""Log distance of the close to the VWAP of these many rows (their quote volume over their volume)."""

MINUTES_PER_DAY = 1440

# Rows each feature needs, the current row included: the mask and WARMUP_BARS both derive from it, so
# a new feature cannot be added without declaring its window.
_ROWS_NEEDED: dict[str, int] = {
    **{f"ret_{h}": h + 1 for h in RETURN_HORIZONS},
    **{f"rvol_{w}": w + 1 for w in VOLATILITY_WINDOWS},
    **{f"range_{w}": w for w in RANGE_WINDOWS},
    f"volume_z_{ZSCORE_WINDOW}": ZSCORE_WINDOW,
    f"trades_z_{ZSCORE_WINDOW}": ZSCORE_WINDOW,
    **{f"ofi_{w}": w for w in IMBALANCE_WINDOWS},
    **{f"vwap_dist_{w}": w for w in VWAP_WINDOWS},
    "gap_minutes": 2,
    "tod_sin": 1,
    "tod_cos": 1,
}

FEATURE_COLUMNS: tuple[str, ...] = tuple(_ROWS_NEEDED)
"""Names of the feature columns, in table order (all float64)."""

WARMUP_BARS: int = max(_ROWS_NEEDED.values())
"""Rows of one (venue, symbol), the current one included, that every feature of a row depends on:
the executor keeps exactly this many bars per symbol. Earlier rows hold NaN where a window is short."""

_KEY_COLUMNS = ("venue", "symbol", "minute_us")

FEATURES_SCHEMA = pa.schema(
    [
        pa.field("venue", pa.string(), nullable=False),
        pa.field("symbol", pa.string(), nullable=False),
        pa.field("minute_us", pa.int64(), nullable=False),
        pa.field("open", pa.float64(), nullable=False),
        pa.field("close", pa.float64(), nullable=False),
        *(pa.field(name, pa.float64(), nullable=False) for name in FEATURE_COLUMNS),
    ]
)
"""Arrow schema of a feature table: the bar's key, its open (labels are computed from the opens) and
close, then :data:`FEATURE_COLUMNS`. NaN marks an incomplete window; no column holds nulls."""

FEATURES_TABLE = TableSpec(
    name="features",
    schema=FEATURES_SCHEMA,
    time_column="minute_us",
    key=_KEY_COLUMNS,
)
"""The feature table in the table store: one partition per UTC day of ``minute_us``."""


def compute_features(bars: pa.Table) -> pa.Table:
    """The features of every bar of ``bars`` (a bar table), as a table of :data:`FEATURES_SCHEMA`.

    Rows come out sorted by (venue, symbol, minute_us), one per input bar; each (venue, symbol) is its own
    series, so no window reaches across symbols. Raises ``ValueError`` when ``bars`` is not a bar table or
    holds one (venue, symbol, minute_us) twice.
    """
    bars = conform_bars(bars)
    if bars.num_rows:
        bars = bars.take(pc.sort_indices(bars, [(name, "ascending") for name in _KEY_COLUMNS]))
    starts = _group_starts(bars)
    minute_us = bars.column("minute_us").to_numpy()
    if bars.num_rows > 1:
        repeated = ~starts[1:] & (minute_us[1:] == minute_us[:-1])
        if repeated.any():
            at = int(np.argmax(repeated)) + 1
            raise ValueError(
                f"bars hold (venue, symbol, minute_us) more than once, first at "
                f"{bars.column('venue')[at].as_py()}/{bars.column('symbol')[at].as_py()} {minute_us[at]}"
            )
    columns = _feature_arrays(bars, minute_us)
    position = positions_in_groups(starts)
    for name, values in columns.items():
        # A window that would reach before its symbol's first row holds another symbol's rows: NaN.
        values[position < _ROWS_NEEDED[name] - 1] = np.nan
    arrays = [
        bars.column("venue"),
        bars.column("symbol"),
        bars.column("minute_us"),
        bars.column("open"),
        bars.column("close"),
        *(pa.array(columns[name], type=pa.float64()) for name in FEATURE_COLUMNS),
    ]
    return pa.Table.from_arrays(arrays, schema=FEATURES_SCHEMA)


def features_between(bars: pa.Table, start_us: int, end_us: int) -> pa.Table:
    """The features of the bars with ``start_us <= minute_us < end_us``; earlier bars serve as history.

    For a day's partition pass the day's bars plus the last ``WARMUP_BARS - 1`` bars of each symbol
    before it (:func:`last_bars` with ``before_us``): then every row equals the features of the full
    history. With less history the first rows hold NaN where a window reaches before it, never another
    value (windows are counted in rows and summed directly).
    """
    table = compute_features(bars)
    minute_us = table.column("minute_us")
    return table.filter(
        pc.and_(
            pc.greater_equal(minute_us, pa.scalar(start_us, pa.int64())),
            pc.less(minute_us, pa.scalar(end_us, pa.int64())),
        )
    )


def last_bars(bars: pa.Table, rows: int = WARMUP_BARS, *, before_us: int | None = None) -> pa.Table:
    """The last ``rows`` bars of each (venue, symbol), only those before ``before_us`` when given,
    sorted by (venue, symbol, minute_us): the warm-up the executor keeps, or the history a day needs."""
    if rows < 0:
        raise ValueError(f"rows must be >= 0, got {rows}")
    if before_us is not None:
        bars = bars.filter(pc.less(bars.column("minute_us"), pa.scalar(before_us, pa.int64())))
    if bars.num_rows:
        bars = bars.take(pc.sort_indices(bars, [(name, "ascending") for name in _KEY_COLUMNS]))
    starts = _group_starts(bars)
    # Rows from the end of the group: the position within the reversed groups.
    ends = np.zeros(bars.num_rows, dtype=bool)
    ends[:-1] = starts[1:]
    if bars.num_rows:
        ends[-1] = True
    from_end = positions_in_groups(ends[::-1])[::-1]
    return bars.filter(pa.array(from_end < rows))


def _group_starts(bars: pa.Table) -> np.ndarray:
    """True on the first row of each (venue, symbol) of a table sorted by them."""
    starts = np.ones(bars.num_rows, dtype=bool)
    if bars.num_rows > 1:
        changed = [
            pc.not_equal(column.slice(1), column.slice(0, bars.num_rows - 1)).to_numpy(zero_copy_only=False)
            for column in (bars.column("venue"), bars.column("symbol"))
        ]
        starts[1:] = changed[0] | changed[1]
    return starts


def _feature_arrays(bars: pa.Table, minute_us: np.ndarray) -> dict[str, np.ndarray]:
    """Every feature over the whole sorted table, windows crossing symbols included (masked later)."""
    numpy = {name: bars.column(name).to_numpy().astype(np.float64) for name in _NUMERIC}
    close, high, low = numpy["close"], numpy["high"], numpy["low"]
    log_close = np.log(close)
    one_row_return = log_close - lagged(log_close, 1)
    out: dict[str, np.ndarray] = {}
    for horizon in RETURN_HORIZONS:
        out[f"ret_{horizon}"] = log_close - lagged(log_close, horizon)
    squared = one_row_return * one_row_return
    for rows in VOLATILITY_WINDOWS:
        # Realized volatility: sqrt of the summed squared one-row returns of the last `rows` returns.
        out[f"rvol_{rows}"] = np.sqrt(window_sum(squared, rows))
    log_range = np.log(high / low)
    for rows in RANGE_WINDOWS:
        out[f"range_{rows}"] = window_sum(log_range, rows) / rows
    out[f"volume_z_{ZSCORE_WINDOW}"] = _zscore(numpy["volume"], ZSCORE_WINDOW)
    out[f"trades_z_{ZSCORE_WINDOW}"] = _zscore(numpy["trades"], ZSCORE_WINDOW)
    buy, sell = numpy["buy_volume"], numpy["sell_volume"]
    for rows in IMBALANCE_WINDOWS:
        buys, sells = window_sum(buy, rows), window_sum(sell, rows)
        out[f"ofi_{rows}"] = _ratio(buys - sells, buys + sells)
    for rows in VWAP_WINDOWS:
        volume = window_sum(numpy["volume"], rows)
        with np.errstate(divide="ignore", invalid="ignore"):
            # No volume in the window (only zero-quantity trades): no VWAP, so NaN rather than inf.
            vwap = np.where(volume > 0, window_sum(numpy["quote_volume"], rows) / volume, np.nan)
            out[f"vwap_dist_{rows}"] = np.log(close / vwap)
    out["gap_minutes"] = (minute_us.astype(np.float64) - lagged(minute_us, 1)) / US_PER_MINUTE
    minute_of_day = (minute_us // US_PER_MINUTE) % MINUTES_PER_DAY
    angle = 2.0 * np.pi * minute_of_day / MINUTES_PER_DAY
    out["tod_sin"] = np.sin(angle)
    out["tod_cos"] = np.cos(angle)
    return out


_NUMERIC = ("close", "high", "low", "volume", "quote_volume", "trades", "buy_volume", "sell_volume")


def _zscore(values: np.ndarray, rows: int) -> np.ndarray:
    """(value - window mean) / window std over the row's window; 0 where the window is flat."""
    mean, std = window_mean_std(values, rows)
    # A flat window leaves a rounding-level std (the mean of equal values need not equal them exactly):
    # treat anything that small as flat rather than dividing noise by noise.
    flat = std <= 1e-12 * np.maximum(np.abs(mean), np.finfo(np.float64).tiny)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (values - mean) / std
    return np.where(flat & ~np.isnan(std), 0.0, z)


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """numerator / denominator, 0 where the denominator is 0 (no buy or sell volume at all)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denominator == 0, 0.0, numerator / denominator)


def feature_code_digest() -> str:
    """sha256 of the source of the feature code (this module, its window helpers and the executor's
    latest-row code in :mod:`trading_assets.models.feature_row`), hex.

    Any change to how features are computed changes the digest, so a model records which code made its
    training features and the executor can refuse features made by another version.
    """
    # Imported here: feature_row imports this module. It computes the executor's rows, so it is hashed too.
    from trading_assets.models import feature_row

    digest = hashlib.sha256()
    for module in (sys.modules[__name__], windows, feature_row):
        source = inspect.getsource(module)
        digest.update(module.__name__.encode())
        digest.update(b"\0")
        digest.update(source.encode())
        digest.update(b"\0")
    return digest.hexdigest()
