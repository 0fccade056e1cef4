"""Tick tables for tick store tests: small, explicit, and built through the public tick helpers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import pyarrow as pa

from trading_assets.core.ticks import Side, Tick, ticks_to_table
from trading_assets.core.time import day_start_us

DAY1 = dt.date(2024, 3, 1)
DAY2 = dt.date(2024, 3, 2)
DAY3 = dt.date(2024, 3, 3)


def tick(
    trade_id: int | None,
    *,
    day: dt.date = DAY1,
    offset_s: float | None = None,
    symbol: str = "BTCUSDT",
    venue: str = "binance",
    price: float = 100.0,
    quantity: float = 0.5,
) -> Tick:
    """One tick; by default trade ``n`` happens ``n`` seconds after midnight of ``day``."""
    seconds = offset_s if offset_s is not None else float(trade_id or 0)
    trade_time = day_start_us(day) + int(seconds * 1_000_000)
    return Tick(
        venue=venue,
        symbol=symbol,
        trade_id=trade_id,
        price=price,
        quantity=quantity,
        side=Side.BUY,
        trade_time_us=trade_time,
        event_time_us=trade_time + 1_000,
        receive_time_us=trade_time + 5_000,
    )


def table(ticks: Iterable[Tick]) -> pa.Table:
    """A tick table of ``ticks``."""
    return ticks_to_table(ticks)


def ids(day_table: pa.Table) -> list[int]:
    """The trade ids of a tick table, in its row order."""
    return day_table.column("trade_id").to_pylist()


def keys(day_table: pa.Table) -> list[tuple[str, str, int]]:
    """The dedup keys (venue, symbol, trade_id) of a tick table, in row order."""
    columns = day_table.select(["venue", "symbol", "trade_id"]).to_pydict()
    return list(zip(columns["venue"], columns["symbol"], columns["trade_id"], strict=True))
