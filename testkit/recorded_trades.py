"""Recorded trades files as tick tables: data.binance.vision trades CSVs and Tardis.dev trades CSVs, for
replaying real trades through the executor and the backtest (``bench/replay_parity.py``, the parity
tests)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from trading_assets.core.ticks import conform
from trading_assets.services.exchange_sim.replay import read_trades_csv

TARDIS_COLUMNS = ("exchange", "symbol", "timestamp", "local_timestamp", "id", "side", "price", "amount")


def read_binance(path: Path, symbol: str) -> pa.Table:
    """A data.binance.vision trades CSV as ticks in file order (``isBuyerMaker``: the seller crossed)."""
    trades = read_trades_csv(path)
    n = len(trades.trade_id)
    return conform(
        pa.table(
            {
                "venue": pa.array(["binance"] * n),
                "symbol": pa.array([symbol] * n),
                "trade_id": trades.trade_id,
                "price": trades.price,
                "quantity": trades.qty,
                "side": np.where(trades.buyer_maker, -1, 1).astype(np.int8),
                "trade_time_us": trades.time_us,
                "event_time_us": trades.time_us,
                "receive_time_us": trades.time_us,
            }
        )
    )


def read_tardis(path: Path) -> pa.Table:
    """A Tardis.dev trades CSV as ticks in recorded arrival (``local_timestamp``) order."""
    raw = pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(include_columns=list(TARDIS_COLUMNS)))
    missing = [c for c in TARDIS_COLUMNS if c not in raw.column_names]
    if missing:
        raise ValueError(f"{path}: not a Tardis trades CSV, no column(s) {missing}")
    side = pc.if_else(pc.equal(raw["side"], "buy"), pa.scalar(1, pa.int8()), pa.scalar(-1, pa.int8()))
    ticks = conform(
        pa.table(
            {
                "venue": raw["exchange"],
                "symbol": raw["symbol"],
                "trade_id": raw["id"],
                "price": raw["price"],
                "quantity": raw["amount"],
                "side": side,
                "trade_time_us": raw["timestamp"],
                "event_time_us": raw["timestamp"],
                "receive_time_us": raw["local_timestamp"],
            }
        )
    )
    order = np.argsort(ticks["receive_time_us"].to_numpy(), kind="stable")
    return ticks.take(pa.array(order))


def detect_format(path: Path) -> str:
    """``tardis`` when the header names Tardis' columns, else ``binance``."""
    with open(path, "rb") as handle:
        first = handle.readline().decode(errors="replace")
    return "tardis" if "local_timestamp" in first else "binance"
