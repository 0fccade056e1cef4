"""The archive's Parquet file format: how one day of ticks is laid out, encoded and decoded.

Layout (the same for the local folder and S3, relative to the archive root)::

    ticks/day=YYYY-MM-DD/ticks.parquet

Format ``ticks-v1``: one file per UTC day, zstd, rows sorted by (venue, symbol, trade_time_us, trade_id)
so that row-group statistics let a reader of one symbol and time range skip the rest. The file stores
the tick columns *losslessly* but not verbatim, because verbatim costs ~17 bytes per tick and this
layout ~8.5 (measured by ``bench/archive.py``):

- ``event_time_us`` and ``receive_time_us`` are stored as lags, ``event_lag_us = event - trade`` and
  ``receive_lag_us = receive - event``: the three times are nearly equal, so three absolute times cost
  three times ~2.7 bytes, while lags are small numbers that zstd squeezes to ~0-2 bytes.
- ``quantity`` is stored as an integer count of 1e-8 units (``quantity_e8``) whenever
  ``quantity_e8 / 1e8`` gives back the very same float64 (true for every quantity with at most 8
  decimals, i.e. every Binance quantity); other rows keep the float in ``quantity_float``. Exactly one of
  the two is non-null per row. Integer quantities compress to ~4 bytes instead of ~7.

:func:`decode` (Arrow) and :data:`DECODE_SQL` (DuckDB) turn a file back into :data:`TICK_SCHEMA`
columns; both are exact (IEEE division is correctly rounded, and the encoder checks the round trip
bit for bit). Key-value metadata ``tradegraph.format`` names the format.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from trading_assets.core.ticks import TICK_COLUMNS, TICK_SCHEMA, conform
from trading_assets.core.time import US_PER_DAY, day_start_us

FORMAT = "ticks-v1"
FORMAT_KEY = b"tradegraph.format"
FILE_NAME = "ticks.parquet"
_E8 = 100_000_000.0
# |quantity_e8| must stay below 2**53 so that the int64 -> float64 conversion is exact.
_MAX_EXACT_INT = float(2**53)

ARCHIVE_SCHEMA = pa.schema(
    [
        pa.field("venue", pa.string(), nullable=False),
        pa.field("symbol", pa.string(), nullable=False),
        pa.field("trade_id", pa.int64(), nullable=False),
        pa.field("price", pa.float64(), nullable=False),
        pa.field("quantity_e8", pa.int64(), nullable=True),
        pa.field("quantity_float", pa.float64(), nullable=True),
        pa.field("side", pa.int8(), nullable=False),
        pa.field("trade_time_us", pa.int64(), nullable=False),
        pa.field("event_lag_us", pa.int64(), nullable=False),
        pa.field("receive_lag_us", pa.int64(), nullable=False),
    ],
    metadata={FORMAT_KEY: FORMAT.encode()},
)
"""Columns of an archive file (see the module docstring for how they map to tick columns)."""

SORT_KEYS: tuple[str, ...] = ("venue", "symbol", "trade_time_us", "trade_id")
"""Row order inside a file; the first three are what readers filter on."""

DECODE_SQL = (
    "venue, symbol, trade_id, price,"
    " coalesce(CAST(quantity_e8 AS DOUBLE) / CAST(100000000 AS DOUBLE), quantity_float) AS quantity,"
    " side, trade_time_us,"
    " trade_time_us + event_lag_us AS event_time_us,"
    " trade_time_us + event_lag_us + receive_lag_us AS receive_time_us"
)
"""DuckDB select list that turns archive columns into the tick columns, in :data:`TICK_SCHEMA` order."""


@dataclass(frozen=True, slots=True, kw_only=True)
class WriterSettings:
    """How archive files are written; the defaults won ``bench/archive.py`` on simulated ticks."""

    compression_level: int = 9
    """zstd level: 9 writes about 2x faster than 15 for under 2% more bytes (bench/archive.py)."""
    row_group_rows: int = 65_536
    """Rows per row group: ~0.5 MB groups, so a one-symbol, one-hour read skips most of a day."""
    dictionary_columns: tuple[str, ...] = ("venue", "symbol", "side", "price")
    """Columns with few distinct values per day (prices sit on a tick grid)."""
    column_encoding: tuple[tuple[str, str], ...] = (
        ("trade_id", "DELTA_BINARY_PACKED"),
        ("trade_time_us", "DELTA_BINARY_PACKED"),
        ("event_lag_us", "DELTA_BINARY_PACKED"),
        ("receive_lag_us", "DELTA_BINARY_PACKED"),
        ("quantity_e8", "BYTE_STREAM_SPLIT"),
        ("quantity_float", "BYTE_STREAM_SPLIT"),
    )
    """Encodings of the other columns: ids and times ascend per symbol, quantities are noisy."""

    def write_options(self) -> dict[str, Any]:
        """Keyword arguments for ``pyarrow.parquet.write_table``."""
        return {
            "compression": "zstd",
            "compression_level": self.compression_level,
            "row_group_size": self.row_group_rows,
            "use_dictionary": list(self.dictionary_columns),
            "column_encoding": dict(self.column_encoding),
            "write_statistics": True,
            "sorting_columns": [pq.SortingColumn(ARCHIVE_SCHEMA.get_field_index(name)) for name in SORT_KEYS],
        }


def day_key(day: dt.date) -> str:
    """Path of a day's file relative to the archive root."""
    return f"ticks/day={day.isoformat()}/{FILE_NAME}"


def parse_day_dir(name: str) -> dt.date | None:
    """The day of a ``day=YYYY-MM-DD`` directory name, or None for anything else."""
    if not name.startswith("day="):
        return None
    try:
        return dt.date.fromisoformat(name[4:])
    except ValueError:
        return None


def check_one_day(day: dt.date, ticks: pa.Table) -> None:
    """Raise ``ValueError`` unless every tick's trade time falls on ``day`` (UTC)."""
    if ticks.num_rows == 0:
        return
    bounds = pc.min_max(ticks.column("trade_time_us"))
    start = day_start_us(day)
    low, high = bounds["min"].as_py(), bounds["max"].as_py()
    if low < start or high >= start + US_PER_DAY:
        raise ValueError(
            f"archive day {day}: ticks must have trade times on that UTC day, got trade_time_us "
            f"{low}..{high} (day is {start}..{start + US_PER_DAY - 1})"
        )


def _ranked(column: pa.ChunkedArray) -> np.ndarray:
    """Integer codes of a one-chunk string column that order like its strings (byte order, as Arrow's
    sort and Python's ``str`` order UTF-8)."""
    encoded = pc.dictionary_encode(column.combine_chunks())
    names = encoded.dictionary.to_pylist()
    rank = np.empty(len(names), np.int64)
    rank[sorted(range(len(names)), key=names.__getitem__)] = np.arange(len(names))
    return rank[encoded.indices.to_numpy(zero_copy_only=False)]


def in_sort_order(table: pa.Table) -> bool:
    """Whether the rows of a one-chunk tick table already follow :data:`SORT_KEYS` (one vectorised pass;
    a day exported by a tick store does)."""
    if table.num_rows < 2:
        return True
    keys = [_ranked(table.column("venue")), _ranked(table.column("symbol"))]
    keys += [table.column(name).to_numpy() for name in SORT_KEYS[2:]]
    ordered = keys[-1][1:] >= keys[-1][:-1]
    for key in reversed(keys[:-1]):
        ordered = (key[1:] > key[:-1]) | ((key[1:] == key[:-1]) & ordered)
    return bool(ordered.all())


def encode(ticks: pa.Table) -> pa.Table:
    """A tick table as archive columns, sorted by :data:`SORT_KEYS` (not moved when already in order)."""
    table = conform(ticks).combine_chunks()
    if not in_sort_order(table):
        table = table.take(pc.sort_indices(table, sort_keys=[(name, "ascending") for name in SORT_KEYS]))
    quantity = table.column("quantity").to_numpy()
    scaled = quantity * _E8
    fits = np.abs(scaled) < _MAX_EXACT_INT  # False for NaN and inf too
    units = np.where(fits, np.rint(np.where(fits, scaled, 0.0)), 0.0).astype(np.int64)
    # Bit-for-bit check (keeps -0.0 and any float that is not a whole number of 1e-8 units exact).
    exact = fits & ((units / _E8).view(np.int64) == quantity.view(np.int64))
    trade = table.column("trade_time_us").to_numpy()
    event = table.column("event_time_us").to_numpy()
    receive = table.column("receive_time_us").to_numpy()
    # int64 wraps on overflow in numpy and wraps back in decode, so even absurd times round-trip.
    with np.errstate(over="ignore"):
        event_lag = event - trade
        receive_lag = receive - event
    return pa.Table.from_arrays(
        [
            table.column("venue"),
            table.column("symbol"),
            table.column("trade_id"),
            table.column("price"),
            pa.array(units, pa.int64(), mask=~exact),
            pa.array(quantity, pa.float64(), mask=exact),
            table.column("side"),
            table.column("trade_time_us"),
            pa.array(event_lag, pa.int64()),
            pa.array(receive_lag, pa.int64()),
        ],
        schema=ARCHIVE_SCHEMA,
    )


def decode(archived: pa.Table) -> pa.Table:
    """Archive columns back into a tick table (:data:`TICK_SCHEMA`), in file order."""
    missing = [name for name in ARCHIVE_SCHEMA.names if name not in archived.column_names]
    if missing:
        raise ValueError(f"archive file lacks columns {missing}; is it a {FORMAT} file?")
    table = archived.combine_chunks()
    units = table.column("quantity_e8")
    quantity = pc.coalesce(pc.divide(units.cast(pa.float64()), _E8), table.column("quantity_float"))
    trade = table.column("trade_time_us").to_numpy()
    with np.errstate(over="ignore"):
        event = trade + table.column("event_lag_us").to_numpy()
        receive = event + table.column("receive_lag_us").to_numpy()
    columns = {
        "venue": table.column("venue"),
        "symbol": table.column("symbol"),
        "trade_id": table.column("trade_id"),
        "price": table.column("price"),
        "quantity": quantity,
        "side": table.column("side"),
        "trade_time_us": table.column("trade_time_us"),
        "event_time_us": pa.array(event, pa.int64()),
        "receive_time_us": pa.array(receive, pa.int64()),
    }
    return conform(pa.table({name: columns[name] for name in TICK_COLUMNS}))


def to_parquet_bytes(ticks: pa.Table, settings: WriterSettings) -> bytes:
    """One day's ticks as the bytes of an archive file."""
    sink = io.BytesIO()
    pq.write_table(encode(ticks), sink, **settings.write_options())
    return sink.getvalue()


def read_parquet_bytes(data: bytes) -> pa.Table:
    """Decode the bytes of an archive file into a tick table."""
    return decode(pq.read_table(io.BytesIO(data)))


def footer_rows(data: bytes) -> int:
    """Row count from the Parquet footer of ``data`` (raises ``pyarrow.ArrowInvalid`` if not Parquet)."""
    return pq.read_metadata(io.BytesIO(data)).num_rows


def sha256_hex(data: bytes) -> str:
    """Hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def empty_ticks() -> pa.Table:
    """A tick table with no rows."""
    return TICK_SCHEMA.empty_table()
