"""The canonical tick: one trade printed by a venue, as every part of tradegraph sees it.

Time unit: every timestamp in tradegraph is an ``int`` of **microseconds since the Unix epoch, UTC**
(``*_us`` fields, Arrow ``timestamp[us, UTC]`` columns). Microseconds hold Binance's newer data files
exactly, millisecond venues convert losslessly, and an int64 of them spans well past year 2200.

A single trade is a :class:`Tick`; many trades travel as a ``pyarrow.Table`` with :data:`TICK_SCHEMA`
(a "tick table"), which is what buses, stores and assets exchange. Per-tick Python objects are only for
edges and tests: the hot paths stay columnar.
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from trading_assets.core.schema import conform_to_schema


class Side(enum.IntEnum):
    """Aggressor side of a trade: who crossed the spread."""

    SELL = -1
    UNKNOWN = 0
    BUY = 1


@dataclass(frozen=True, slots=True, kw_only=True)
class Tick:
    """One trade as printed by a venue."""

    venue: str
    """Lower-case venue name, e.g. ``binance``, ``finnhub``, ``sim``."""
    symbol: str
    """Upper-case instrument symbol as the venue names it, e.g. ``BTCUSDT`` or ``BINANCE:BTCUSDT``."""
    trade_id: int | None
    """The venue's trade id where it has one (consecutive per symbol on Binance); ``None`` otherwise."""
    price: float
    """Trade price, positive and finite."""
    quantity: float
    """Traded quantity in base units, positive and finite."""
    side: Side
    """Aggressor side; ``Side.UNKNOWN`` when the venue does not say."""
    trade_time_us: int
    """When the venue matched the trade (microseconds since epoch, UTC)."""
    event_time_us: int
    """When the venue published the event carrying it (microseconds since epoch, UTC)."""
    receive_time_us: int
    """When tradegraph received it (microseconds since epoch, UTC)."""


TICK_SCHEMA = pa.schema(
    [
        pa.field("venue", pa.string(), nullable=False),
        pa.field("symbol", pa.string(), nullable=False),
        # Venues without trade ids get a negative content key (see content_trade_ids) so that one
        # dedup key (venue, symbol, trade_id) serves every venue.
        pa.field("trade_id", pa.int64(), nullable=False),
        pa.field("price", pa.float64(), nullable=False),
        pa.field("quantity", pa.float64(), nullable=False),
        pa.field("side", pa.int8(), nullable=False),
        pa.field("trade_time_us", pa.int64(), nullable=False),
        pa.field("event_time_us", pa.int64(), nullable=False),
        pa.field("receive_time_us", pa.int64(), nullable=False),
    ]
)
"""Arrow schema of a tick table. Times are int64 microseconds since epoch, UTC."""

TICK_COLUMNS: tuple[str, ...] = tuple(TICK_SCHEMA.names)
DEDUP_KEY: tuple[str, ...] = ("venue", "symbol", "trade_id")


def content_trade_ids(
    symbols: Sequence[str],
    trade_time_us: np.ndarray,
    price: np.ndarray,
    quantity: np.ndarray,
    ranks: np.ndarray | None = None,
) -> np.ndarray:
    """Negative int64 keys derived from a trade's content, for venues that publish no trade id.

    Distinct trades can share symbol, time, price and quantity (one order filled against several equal
    resting orders: 2% of real BTCUSDT trades), so the key also holds the print's ``rank``: 0 for the
    first print of that content in its stream, 1 for the second, and so on (see the Finnhub parser for
    what a stream is). A print the venue sends again gets the same rank, hence the same key, so the
    store's dedup by (venue, symbol, trade_id) removes it while identical distinct trades stay apart.
    Rank 0 (the default) is the key of the content alone.
    """
    keys = np.empty(len(trade_time_us), dtype=np.int64)
    for i, symbol in enumerate(symbols):
        text = f"{symbol}|{int(trade_time_us[i])}|{float(price[i])!r}|{float(quantity[i])!r}"
        if ranks is not None and ranks[i]:
            text += f"|#{int(ranks[i])}"
        digest = hashlib.blake2b(text.encode(), digest_size=8).digest()
        # Clear the sign bit, then negate: keys lie in [-(2**63 - 1), -1], never colliding with real ids.
        keys[i] = -((int.from_bytes(digest, "big") & 0x7FFF_FFFF_FFFF_FFFF) or 1)
    return keys


def ticks_to_table(ticks: Iterable[Tick]) -> pa.Table:
    """Build a tick table from :class:`Tick` records (edges and tests; not a hot path)."""
    rows = list(ticks)
    ids = [t.trade_id for t in rows]
    missing = [i for i, trade_id in enumerate(ids) if trade_id is None]
    if missing:
        keys = content_trade_ids(
            [rows[i].symbol for i in missing],
            np.array([rows[i].trade_time_us for i in missing], dtype=np.int64),
            np.array([rows[i].price for i in missing], dtype=np.float64),
            np.array([rows[i].quantity for i in missing], dtype=np.float64),
        )
        for i, key in zip(missing, keys, strict=True):
            ids[i] = int(key)
    return pa.table(
        {
            "venue": pa.array([t.venue for t in rows], pa.string()),
            "symbol": pa.array([t.symbol for t in rows], pa.string()),
            "trade_id": pa.array(ids, pa.int64()),
            "price": pa.array([t.price for t in rows], pa.float64()),
            "quantity": pa.array([t.quantity for t in rows], pa.float64()),
            "side": pa.array([int(t.side) for t in rows], pa.int8()),
            "trade_time_us": pa.array([t.trade_time_us for t in rows], pa.int64()),
            "event_time_us": pa.array([t.event_time_us for t in rows], pa.int64()),
            "receive_time_us": pa.array([t.receive_time_us for t in rows], pa.int64()),
        },
        schema=TICK_SCHEMA,
    )


def table_to_ticks(table: pa.Table) -> list[Tick]:
    """Turn a tick table back into :class:`Tick` records; content keys become ``trade_id=None``."""
    columns = conform(table).to_pydict()
    return [
        Tick(
            venue=columns["venue"][i],
            symbol=columns["symbol"][i],
            trade_id=None if columns["trade_id"][i] < 0 else columns["trade_id"][i],
            price=columns["price"][i],
            quantity=columns["quantity"][i],
            side=Side(columns["side"][i]),
            trade_time_us=columns["trade_time_us"][i],
            event_time_us=columns["event_time_us"][i],
            receive_time_us=columns["receive_time_us"][i],
        )
        for i in range(table.num_rows)
    ]


def empty_tick_table() -> pa.Table:
    """A tick table with no rows."""
    return TICK_SCHEMA.empty_table()


def conform(table: pa.Table) -> pa.Table:
    """Return ``table`` with exactly the tick columns, in order and with the canonical types.

    Raises ``ValueError`` naming the missing columns, or the column whose values cannot be cast.
    """
    return conform_to_schema(table, TICK_SCHEMA, "tick")
