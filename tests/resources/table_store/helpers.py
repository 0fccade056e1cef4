"""A table spec of every supported column type, rows of it for given days, and bars, for table store tests."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pyarrow as pa

from resources.table_store import TableSpec, TableStoreConfig, open_table_store
from tests.resources.tick_store.helpers import table, tick
from trading_assets.core.time import US_PER_DAY, US_PER_SECOND, day_start_us
from trading_assets.market.bars import compute_bars_1m

DAY1 = dt.date(2024, 3, 1)
DAY2 = dt.date(2024, 3, 2)
DAY3 = dt.date(2024, 3, 3)

SIGNALS = TableSpec(
    name="signals",
    schema=pa.schema(
        [
            pa.field("venue", pa.string(), nullable=False),
            pa.field("symbol", pa.string(), nullable=False),
            pa.field("time_us", pa.int64(), nullable=False),
            pa.field("score", pa.float64(), nullable=False),
            pa.field("weight", pa.float32(), nullable=False),
            pa.field("horizon", pa.int32(), nullable=False),
            pa.field("level", pa.int16(), nullable=False),
            pa.field("side", pa.int8(), nullable=False),
            pa.field("active", pa.bool_(), nullable=False),
        ]
    ),
    time_column="time_us",
    key=("symbol", "venue", "time_us"),
)
"""A made-up table of every supported type, keyed by (symbol, venue, time_us)."""


def rows(
    day: dt.date,
    *,
    count: int = 4,
    score: float = 1.0,
    symbols: tuple[str, ...] = ("BTCUSDT", "ETHUSDT"),
    venues: tuple[str, ...] = ("binance", "sim"),
) -> pa.Table:
    """``count`` rows per (venue, symbol) on ``day``, one a minute from midnight, in no particular order."""
    records = [
        {
            "venue": venue,
            "symbol": symbol,
            "time_us": day_start_us(day) + 60 * US_PER_SECOND * n,
            "score": score + n / 8,
            "weight": 0.5 * n,
            "horizon": 60 * (n + 1),
            "level": -n,
            "side": 1 if n % 2 else -1,
            "active": n % 3 == 0,
        }
        for n in reversed(range(count))
        for venue in venues
        for symbol in symbols
    ]
    return pa.Table.from_pylist(records, schema=SIGNALS.schema)


def in_key_order(table: pa.Table) -> list[dict[str, object]]:
    """Rows of ``table`` as dicts, ordered by the SIGNALS key (symbol, venue, time_us)."""
    return sorted(table.to_pylist(), key=lambda row: (row["symbol"], row["venue"], row["time_us"]))


def day_bars(day: dt.date, *, price: float = 100.0, minutes: int = 3) -> pa.Table:
    """Bars of ``day``: BTCUSDT and ETHUSDT on binance and BTCUSDT on sim, two trades a minute."""
    ticks = [
        tick(
            1_000 * m + n,
            day=day,
            offset_s=60 * m + 10 * n,
            symbol=symbol,
            venue=venue,
            price=price + m + n / 10,
            quantity=0.25 * (n + 1),
        )
        for venue, symbol in (("binance", "BTCUSDT"), ("binance", "ETHUSDT"), ("sim", "BTCUSDT"))
        for m in range(minutes)
        for n in range(2)
    ]
    return compute_bars_1m(table(ticks))


def count_versions_read(
    config: TableStoreConfig,
    versions: list[list[dict[str, object]]],
    counts: Any,
    stop: Any,
) -> None:
    """In a child process: read SIGNALS of DAY1 until ``stop`` is set; ``counts[i]`` counts the reads that
    returned ``versions[i]``, ``counts[-1]`` those that returned neither."""
    with open_table_store(config) as store:
        while not stop.is_set():
            got = store.read(SIGNALS, start_us=day_start_us(DAY1), end_us=day_start_us(DAY1) + US_PER_DAY)
            rows = got.to_pylist()
            index = versions.index(rows) if rows in versions else -1
            with counts.get_lock():
                counts[index] += 1
