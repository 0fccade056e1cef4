"""Replay of a data.binance.vision trades CSV through the simulated exchange.

The files have the columns ``id, price, qty, quoteQty, time, isBuyerMaker, isBestMatch``, usually
without a header. Spot files switched from millisecond to microsecond times on 2025-01-01, so the unit
is decided per value by magnitude: a millisecond time of today is about 1.7e12, a microsecond one 1.7e15.
The file is read in blocks with pyarrow's streaming CSV reader, so its size does not bound memory.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from trading_assets.services.exchange_sim.sources import TradeBatch, TradeSource

log = logging.getLogger(__name__)

CSV_COLUMNS: tuple[str, ...] = ("id", "price", "qty", "quoteQty", "time", "isBuyerMaker", "isBestMatch")
_COLUMN_TYPES: dict[str, pa.DataType] = {
    "id": pa.int64(),
    "price": pa.float64(),
    "qty": pa.float64(),
    "quoteQty": pa.float64(),
    "time": pa.int64(),
    "isBuyerMaker": pa.bool_(),
    "isBestMatch": pa.bool_(),
}
MICROSECOND_THRESHOLD = 100_000_000_000_000
"""Times at or above 1e14 are microseconds (1e14 ms would be the year 5138; 1e14 us is 1973)."""


def has_header(path: Path) -> bool:
    """Whether the CSV's first line is a header (its first field is not an integer)."""
    with open(path, "rb") as handle:
        first = handle.readline().strip()
    if not first:
        return False
    return not first.split(b",", 1)[0].strip().lstrip(b"-").isdigit()


def times_to_us(times: np.ndarray) -> np.ndarray:
    """Trade times in microseconds from a mix of millisecond and microsecond values."""
    times = times.astype(np.int64, copy=False)
    return np.where(times >= MICROSECOND_THRESHOLD, times, times * 1000)


def open_trades_csv(path: Path, block_size: int = 1 << 20) -> pacsv.CSVStreamingReader:
    """A streaming reader of a trades CSV with typed columns, header or not."""
    read_options = pacsv.ReadOptions(
        column_names=list(CSV_COLUMNS), skip_rows=1 if has_header(path) else 0, block_size=block_size
    )
    convert_options = pacsv.ConvertOptions(
        column_types=_COLUMN_TYPES, true_values=["True", "true", "1"], false_values=["False", "false", "0"]
    )
    return pacsv.open_csv(path, read_options=read_options, convert_options=convert_options)


def record_batch_to_trades(batch: pa.RecordBatch) -> TradeBatch:
    """A CSV block as trades of symbol index 0."""
    count = batch.num_rows
    return TradeBatch(
        np.zeros(count, np.int32),
        batch.column("id").to_numpy(zero_copy_only=False).astype(np.int64, copy=False),
        batch.column("price").to_numpy(zero_copy_only=False),
        batch.column("qty").to_numpy(zero_copy_only=False),
        times_to_us(batch.column("time").to_numpy(zero_copy_only=False)),
        batch.column("isBuyerMaker").to_numpy(zero_copy_only=False).astype(np.bool_, copy=False),
    )


def read_trades_csv(path: Path) -> TradeBatch:
    """The whole file as one batch (tests and small files)."""
    return TradeBatch.concat([record_batch_to_trades(b) for b in open_trades_csv(Path(path))])


class ReplaySource(TradeSource):
    """Trades of one CSV file, published under one symbol."""

    def __init__(self, path: Path, symbol: str) -> None:
        super().__init__((symbol,))
        self.path = Path(path)
        try:
            self._reader: pacsv.CSVStreamingReader | None = open_trades_csv(self.path)
        except pa.ArrowInvalid as exc:
            raise ValueError(f"replay file {str(self.path)!r} is not a Binance trades CSV: {exc}") from exc
        log.info("replaying %s as %s", self.path, symbol)

    def _next_chunk(self) -> TradeBatch | None:
        if self._reader is None:
            return None
        try:
            batch = self._reader.read_next_batch()
        except StopIteration:
            self._reader.close()
            self._reader = None
            log.info("replay of %s finished", self.path)
            return None
        except pa.ArrowInvalid as exc:
            # A bad line mid-file ends the replay with a clear message; what was read stays served.
            log.error("replay of %s stopped at a bad block: %s", self.path, exc)
            self._reader.close()
            self._reader = None
            return None
        return record_batch_to_trades(batch)
