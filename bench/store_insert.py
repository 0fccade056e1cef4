"""Tick store insert throughput: ClickHouse (a real 18.16 server started here) and the embedded store.

Generates ``--ticks`` trades (5 symbols, one UTC day, consecutive ids per symbol, random-walk prices;
not timed), inserts them in ``--batch-rows`` batches into each store, seals the day and checks the row
count. Prints the figures, then one JSON line (the last line) for docs/BENCHMARKS.md.

    .venv/bin/python bench/store_insert.py [--ticks 5000000] [--batch-rows 100000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from resources.tick_store import TickStore, TickStoreConfig, open_tick_store
from testkit.servers import ClickHouseServer, install_cleanup_handlers
from trading_assets.core.ticks import TICK_SCHEMA
from trading_assets.core.time import US_PER_DAY, day_start_us

SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT", "ADAUSDT", "XRPUSDT")
START_PRICES = (65_000.0, 3_500.0, 150.0, 0.45, 0.60)
DAY = dt.date(2024, 3, 1)


def generate(ticks: int, seed: int = 7) -> pa.Table:
    """``ticks`` trades over DAY in time order, symbols interleaved at random, ids consecutive per symbol."""
    rng = np.random.default_rng(seed)
    day_start = day_start_us(DAY)
    symbol_index = rng.integers(0, len(SYMBOLS), ticks).astype(np.int32)
    trade_time = day_start + np.sort(rng.integers(0, US_PER_DAY, ticks))
    trade_id = np.empty(ticks, dtype=np.int64)
    price = np.empty(ticks, dtype=np.float64)
    for i, start_price in enumerate(START_PRICES):
        rows = np.flatnonzero(symbol_index == i)
        trade_id[rows] = 1_000_000_000 * (i + 1) + np.arange(rows.size)
        # Geometric random walk, 1 bp steps.
        price[rows] = start_price * np.exp(np.cumsum(rng.normal(0.0, 1e-4, rows.size)))
    symbols = pa.DictionaryArray.from_arrays(pa.array(symbol_index), pa.array(SYMBOLS)).cast(pa.string())
    return pa.table(
        {
            "venue": pa.array(np.full(ticks, "binance", dtype=object), pa.string()),
            "symbol": symbols,
            "trade_id": trade_id,
            "price": price,
            "quantity": rng.exponential(0.05, ticks),
            "side": rng.choice(np.array([-1, 1], dtype=np.int8), ticks),
            "trade_time_us": trade_time,
            "event_time_us": trade_time + 1_000,
            "receive_time_us": trade_time + 1_000 + rng.integers(200, 5_000, ticks),
        },
        schema=TICK_SCHEMA,
    )


def run(name: str, store: TickStore, ticks: pa.Table, batch_rows: int) -> dict[str, float]:
    """Insert all batches (timed), then seal (timed separately) and check the row count."""
    batches = [ticks.slice(offset, batch_rows) for offset in range(0, ticks.num_rows, batch_rows)]
    started = time.perf_counter()
    for part in tqdm(batches, desc=f"{name} insert", unit="batch", file=sys.stderr):
        store.insert(part)
    insert_s = time.perf_counter() - started
    started = time.perf_counter()
    rows = store.seal(DAY)
    seal_s = time.perf_counter() - started
    if rows != ticks.num_rows:
        raise SystemExit(f"{name}: {rows} rows after seal, expected {ticks.num_rows}")
    return {"insert_s": insert_s, "seal_s": seal_s, "ticks_per_s": ticks.num_rows / insert_s}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ticks", type=int, default=5_000_000, help="ticks to insert (default 5,000,000)")
    parser.add_argument("--batch-rows", type=int, default=100_000, help="rows per insert (default 100,000)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    install_cleanup_handlers()

    started = time.perf_counter()
    ticks = generate(args.ticks)
    print(f"generated {ticks.num_rows:,} ticks in {time.perf_counter() - started:.1f} s (not timed)")

    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-store-") as work:
        with ClickHouseServer(Path(work) / "clickhouse") as server:
            with open_tick_store(
                TickStoreConfig(kind="clickhouse", clickhouse_url=server.url, database="bench")
            ) as clickhouse:
                results["clickhouse"] = run("clickhouse", clickhouse, ticks, args.batch_rows)
        with open_tick_store(TickStoreConfig(embedded_dir=Path(work) / "embedded")) as embedded:
            results["embedded"] = run("embedded", embedded, ticks, args.batch_rows)

    for name, figures in results.items():
        print(
            f"{name:>10}: insert {figures['insert_s']:6.2f} s = {figures['ticks_per_s']:>11,.0f} ticks/s;"
            f" seal {figures['seal_s']:5.2f} s; {args.ticks:,} rows after seal"
        )
    summary = {
        "ticks": args.ticks,
        "batch_rows": args.batch_rows,
        "clickhouse_ticks_per_s": round(results["clickhouse"]["ticks_per_s"]),
        "embedded_ticks_per_s": round(results["embedded"]["ticks_per_s"]),
        "clickhouse_insert_s": round(results["clickhouse"]["insert_s"], 3),
        "embedded_insert_s": round(results["embedded"]["insert_s"], 3),
        "clickhouse_seal_s": round(results["clickhouse"]["seal_s"], 3),
        "embedded_seal_s": round(results["embedded"]["seal_s"], 3),
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
