"""The bar table: one-minute OHLCV, VWAP, trade count and buy/sell volume per (venue, symbol, minute).

A "bar table" is a ``pyarrow.Table`` with :data:`BARS_SCHEMA`, one row per minute that had at least one
trade (minutes without trades have no row: nothing is invented). This module defines the shape every
store and asset shares and :func:`compute_bars_1m`, which computes bars from ticks (the tick stores'
``minute_bars`` too); drawing them lives in ``trading_assets.market.bars``.
"""

from __future__ import annotations

import logging

import duckdb
import pyarrow as pa

from trading_assets.core.schema import conform_to_schema
from trading_assets.core.ticks import Side, conform
from trading_assets.core.time import US_PER_MINUTE

log = logging.getLogger(__name__)

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


# Open and close are the first and last trade by (trade_time_us, trade_id): packed into one HUGEINT
# (time in the high 64 bits, the id shifted to unsigned in the low 64), because DuckDB's arg_min over
# one integer is about 1.5x faster than over a (time, id) struct. In deduplicated ticks that key is
# unique per (venue, symbol), so open and close never depend on row order or threads.
_ORDER_KEY = "(trade_time_us::HUGEINT * 18446744073709551616 + (trade_id::HUGEINT + 9223372036854775808))"
# fsum (Kahan summation) keeps the float sums within an ulp or so of exact whatever the order in which
# DuckDB's threads add the rows.
_BARS_SQL = f"""
SELECT
    venue,
    symbol,
    minute_us,
    arg_min(price, {_ORDER_KEY}) AS open,
    max(price) AS high,
    min(price) AS low,
    arg_max(price, {_ORDER_KEY}) AS close,
    fsum(quantity) AS volume,
    fsum(price * quantity) AS quote_volume,
    fsum(price * quantity) / fsum(quantity) AS vwap,
    count(*) AS trades,
    fsum(CASE WHEN side = $buy THEN quantity ELSE 0.0 END) AS buy_volume,
    fsum(CASE WHEN side = $sell THEN quantity ELSE 0.0 END) AS sell_volume
FROM (
    -- Floor to the minute also for times before 1970 (integer % keeps the dividend's sign).
    SELECT *, trade_time_us - ((trade_time_us % $minute) + $minute) % $minute AS minute_us FROM ticks
)
GROUP BY venue, symbol, minute_us
ORDER BY venue, symbol, minute_us
"""


def compute_bars_1m(ticks: pa.Table) -> pa.Table:
    """One-minute bars of a tick table, ordered by (venue, symbol, minute_us); only minutes with trades.

    ``ticks`` must be deduplicated by (venue, symbol, trade_id), as the tick store's ``export`` and
    ``read`` return them: a trade present twice would count twice in volume and trades. Prices and
    quantities are assumed valid (positive, finite), as the streamer's validation guarantees.
    Any row order is accepted; the result does not depend on it (see :data:`BARS_SCHEMA` for how
    open and close are chosen).
    """
    table = conform(ticks)
    if table.num_rows == 0:
        return empty_bars_table()
    # An in-memory connection per call: no state shared between callers or threads.
    with duckdb.connect(":memory:") as db:
        db.register("ticks", table)
        params = {"minute": US_PER_MINUTE, "buy": int(Side.BUY), "sell": int(Side.SELL)}
        bars = db.sql(_BARS_SQL, params=params).to_arrow_table()
    log.debug("computed %d bars from %d ticks", bars.num_rows, table.num_rows)
    return conform_bars(bars)
