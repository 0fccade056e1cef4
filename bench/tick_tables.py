"""Synthetic tick tables for the bus benchmarks (``bus_throughput``, ``bus_catchup``, ``embedded_bus_memory``).

Light on purpose (numpy, pyarrow and the tick schema only): the memory benchmark imports it, and what it
imports counts in the resident memory it measures.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from trading_assets.core.ticks import TICK_SCHEMA

VENUE = "bench"


def make_tables(n_ticks: int, table_size: int, n_symbols: int) -> list[pa.Table]:
    """Tick tables of ``table_size`` rows, symbols interleaved, generated with numpy."""
    rng = np.random.default_rng(7)
    symbols = np.array([f"SYM{i}USDT" for i in range(n_symbols)], dtype=object)
    tables = []
    for start in range(0, n_ticks, table_size):
        ids = np.arange(start + 1, min(start + table_size, n_ticks) + 1, dtype=np.int64)
        n = len(ids)
        t = 1_735_689_600_000_000 + ids * 1_000
        tables.append(
            pa.table(
                {
                    "venue": pa.array(np.full(n, VENUE, dtype=object), pa.string()),
                    "symbol": pa.array(symbols[ids % n_symbols], pa.string()),
                    "trade_id": ids,
                    "price": 100.0 + np.cumsum(rng.normal(0, 0.01, n)),
                    "quantity": rng.exponential(0.5, n) + 1e-6,
                    "side": rng.choice(np.array([-1, 1], dtype=np.int8), n),
                    "trade_time_us": t,
                    "event_time_us": t + 30,
                    "receive_time_us": t + 1_500,
                },
                schema=TICK_SCHEMA,
            )
        )
    return tables
