"""The bar table: one-minute OHLCV, VWAP, trade count and buy/sell volume per (venue, symbol, minute).

A "bar table" is a ``pyarrow.Table`` with :data:`BARS_SCHEMA`, one row per minute that had at least one
trade (minutes without trades have no row: nothing is invented). Computing bars lives in
``trading_assets.market.bars``; this module only defines the shape every store and asset shares.
"""

from __future__ import annotations

import pyarrow as pa

from trading_assets.core.schema import conform_to_schema

BARS_SCHEMA = pa.schema(
    [
        pa.field("venue", pa.string(), nullable=False),
        pa.field("symbol", pa.string(), nullable=False),
        pa.field("minute_us", pa.int64(), nullable=False),
        pa.field("open", pa.float64(), nullable=False),
        pa.field("high", pa.float64(), nullable=False),
        pa.field("low", pa.float64(), nullable=False),
        pa.field("close", pa.float64(), nullable=False),
        pa.field("volume", pa.float64(), nullable=False),
        pa.field("quote_volume", pa.float64(), nullable=False),
        pa.field("vwap", pa.float64(), nullable=False),
        pa.field("trades", pa.int64(), nullable=False),
        pa.field("buy_volume", pa.float64(), nullable=False),
        pa.field("sell_volume", pa.float64(), nullable=False),
    ]
)
"""Arrow schema of a bar table, one row per (venue, symbol, minute) with trades. Columns:

- ``venue``: venue of the ticks, as in the tick table.
- ``symbol``: symbol of the ticks, as in the tick table.
- ``minute_us``: start of the UTC minute (microseconds since epoch); the bar holds trades with
  ``minute_us <= trade_time_us < minute_us + 60_000_000``.
- ``open``: price of the minute's first trade in (trade_time_us, trade_id) order.
- ``high``: highest trade price of the minute.
- ``low``: lowest trade price of the minute.
- ``close``: price of the minute's last trade in (trade_time_us, trade_id) order.
- ``volume``: sum of trade quantities (base units).
- ``quote_volume``: sum of price * quantity (quote currency).
- ``vwap``: volume-weighted average price, ``quote_volume / volume``.
- ``trades``: number of trades.
- ``buy_volume``: sum of quantities of trades whose aggressor bought (side = 1).
- ``sell_volume``: sum of quantities of trades whose aggressor sold (side = -1); trades of unknown
  side (0) count in ``volume`` but in neither ``buy_volume`` nor ``sell_volume``.
"""

BAR_COLUMNS: tuple[str, ...] = tuple(BARS_SCHEMA.names)


def empty_bars_table() -> pa.Table:
    """A bar table with no rows."""
    return BARS_SCHEMA.empty_table()


def conform_bars(table: pa.Table) -> pa.Table:
    """Return ``table`` with exactly the bar columns, in order and with the canonical types.

    Raises ``ValueError`` naming missing columns, columns with nulls, or a column that cannot be cast.
    """
    return conform_to_schema(table, BARS_SCHEMA, "bar")
