"""Every SQL statement of the ClickHouse tick store, rendered for given identifiers.

Kept apart from the client code so that ``tests/resources/tick_store/test_clickhouse_sql_modern.py`` can
run exactly these statements on a current ClickHouse (chdb) while the store runs them on 18.16.

Identifiers (database and table names) are validated by :func:`resources.clickhouse.sql.identifier` (which
module also has the statements on whole databases) and only then formatted into the text. Values are
never formatted in: statements carry clickhouse-driver placeholders (``%(name)s``) that the driver fills
with escaped literals.

The SQL is restricted to what ClickHouse 18.16 understands: no window functions, no DateTime64, no CODEC.
"""

from __future__ import annotations

from resources.clickhouse.sql import day_partition_expression
from resources.clickhouse.sql import qualified as _qualified

COLUMNS: tuple[str, ...] = (
    "venue",
    "symbol",
    "trade_id",
    "price",
    "quantity",
    "side",
    "trade_time_us",
    "event_time_us",
    "receive_time_us",
)
"""Table columns, in :data:`trading_assets.core.ticks.TICK_SCHEMA` order."""

_COLUMN_LIST = ", ".join(COLUMNS)

# The partition key: the YYYYMMDD number of the trade time's UTC day.
PARTITION_EXPRESSION = day_partition_expression("trade_time_us")


def create_table(database: str, table: str) -> str:
    """The tick table: ReplacingMergeTree keyed by (venue, symbol, trade_id), one partition per UTC day."""
    return (
        f"CREATE TABLE IF NOT EXISTS {_qualified(database, table)} (\n"
        "    venue String,\n"
        "    symbol String,\n"
        "    trade_id Int64,\n"
        "    price Float64,\n"
        "    quantity Float64,\n"
        "    side Int8,\n"
        "    trade_time_us Int64,\n"
        "    event_time_us Int64,\n"
        "    receive_time_us Int64\n"
        ")\n"
        "ENGINE = ReplacingMergeTree\n"
        f"PARTITION BY {PARTITION_EXPRESSION}\n"
        "ORDER BY (venue, symbol, trade_id)"
    )


def insert(database: str, table: str) -> str:
    """Insert statement; the driver sends the rows (columnar) after ``VALUES``."""
    return f"INSERT INTO {_qualified(database, table)} ({_COLUMN_LIST}) VALUES"


def symbol_venues(database: str, table: str) -> str:
    """The venues with ticks of ``%(symbol)s`` in ``[start_us, end_us)`` (one day), in byte order."""
    return (
        f"SELECT venue FROM {_qualified(database, table)}\n"
        "WHERE symbol = %(symbol)s AND trade_time_us >= %(start_us)s AND trade_time_us < %(end_us)s\n"
        "GROUP BY venue\n"
        "ORDER BY venue"
    )


NUMERIC_COLUMNS: tuple[str, ...] = COLUMNS[2:]
"""The columns after ``venue`` and ``symbol``: what a per-symbol export reads (see :func:`select_symbol_day`)."""


def day_symbols(database: str, table: str) -> str:
    """The (venue, symbol) pairs with ticks in ``[start_us, end_us)`` (one day), in export order.

    Rows are (venue, symbol), ordered by venue then symbol (byte order, as Python orders ``str``).
    """
    return (
        f"SELECT venue, symbol FROM {_qualified(database, table)}\n"
        "WHERE trade_time_us >= %(start_us)s AND trade_time_us < %(end_us)s\n"
        "GROUP BY venue, symbol\n"
        "ORDER BY venue, symbol"
    )


def select_symbol_day(database: str, table: str, *, final: bool = True) -> str:
    """The numeric columns (:data:`NUMERIC_COLUMNS`) of one venue's symbol in ``[start_us, end_us)``.

    Parameters: ``venue``, ``symbol``, ``start_us``, ``end_us``; in no particular order: the caller sorts.
    The range must lie within one day. ``final``: ``FINAL`` merges not-yet-merged duplicates at read time
    (duplicates share the sort key and the partition, so it removes every one of them); 18.16 applies
    ``FINAL`` across partitions, which would also merge equal keys of different days (never merged by
    ``OPTIMIZE``), so a one-day range prunes every other partition's parts first. Without ``final`` the
    rows come as stored: only for a day that holds each key once (one part written by a merge, see
    :func:`partition_parts`, or a day a seal found free of duplicates, see :func:`create_seal_marks`),
    and for the seal's own check of a day. ``FINAL`` is what makes a read slow on 18.16 (it
    merges in one thread): 2,000,000 ticks of a symbol's day took 10.2 s with it and 2.9 s without on 2
    busy cores (bench/scale.py).

    Reads (:meth:`ClickHouseTickStore.read`) and the export of a whole day run this once per venue or
    (venue, symbol) because that is several times faster on 18.16 than one query of all columns ordered on
    the server (a 2,000,000-tick export: about 2.5 s against 8.5-11 s; one symbol's day: 10.2 s against
    25.7 s): the (venue, symbol) condition reads only that symbol's granules of the primary key, no String
    column travels or is decoded row by row, and there is no server-side sort.
    """
    return (
        f"SELECT {', '.join(NUMERIC_COLUMNS)} FROM {_qualified(database, table)}{' FINAL' if final else ''}\n"
        "WHERE venue = %(venue)s AND symbol = %(symbol)s\n"
        "  AND trade_time_us >= %(start_us)s AND trade_time_us < %(end_us)s"
    )


BAR_COLUMNS: tuple[str, ...] = (
    "venue",
    "minute_us",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "quote_volume",
    "vwap",
    "trades",
    "buy_volume",
    "sell_volume",
)
"""The columns of :func:`symbol_day_bars`: the bar columns (``trading_assets.core.bars``) but ``symbol``."""


def symbol_day_bars(database: str, table: str, *, final: bool = True) -> str:
    """One-minute bars of ``%(symbol)s`` in ``[start_us, end_us)`` (within one day), per venue, computed on
    the server: rows of :data:`BAR_COLUMNS` ordered by (venue, minute_us), only minutes with trades.

    Parameters: ``symbol``, ``start_us``, ``end_us``, ``minute`` (60,000,000), ``buy`` and ``sell`` (the
    side codes). The same bars as ``compute_bars_1m`` makes from the ticks: open and close are the first
    and last trade by (trade_time_us, trade_id), a unique key, so they do not depend on row order; the
    sums are Kahan-compensated (``sumKahan``, as DuckDB's ``fsum`` there), so they agree to the last bit or
    so whatever the order. ``final`` as for :func:`select_symbol_day`: duplicates of an unsealed day are
    merged before they are counted. Only the bars travel (1,440 rows a day and venue, not 2,000,000 ticks).
    """
    return (
        "SELECT venue, minute_us,\n"
        "       argMin(price, (trade_time_us, trade_id)) AS open, max(price) AS high, min(price) AS low,\n"
        "       argMax(price, (trade_time_us, trade_id)) AS close,\n"
        "       sumKahan(quantity) AS volume, sumKahan(price * quantity) AS quote_volume,\n"
        "       quote_volume / volume AS vwap, count() AS trades,\n"
        "       sumKahan(if(side = %(buy)s, quantity, 0.)) AS buy_volume,\n"
        "       sumKahan(if(side = %(sell)s, quantity, 0.)) AS sell_volume\n"
        "FROM (\n"
        "    SELECT venue, trade_id, price, quantity, side, trade_time_us,\n"
        "           trade_time_us - ((trade_time_us %% %(minute)s) + %(minute)s) %% %(minute)s AS minute_us\n"
        f"    FROM {_qualified(database, table)}{' FINAL' if final else ''}\n"
        "    WHERE symbol = %(symbol)s AND trade_time_us >= %(start_us)s AND trade_time_us < %(end_us)s\n"
        ")\n"
        "GROUP BY venue, minute_us\n"
        "ORDER BY venue, minute_us"
    )


def count_range(database: str, table: str) -> str:
    """Stored rows (duplicates included) with trade time in ``[start_us, end_us)``."""
    return (
        f"SELECT count() FROM {_qualified(database, table)}\n"
        "WHERE trade_time_us >= %(start_us)s AND trade_time_us < %(end_us)s"
    )


def partitions() -> str:
    """Active rows per partition id ('YYYYMMDD') of table ``%(table)s`` in database ``%(database)s``."""
    return (
        "SELECT partition_id, sum(rows) AS rows, count() AS parts FROM system.parts\n"
        "WHERE database = %(database)s AND table = %(table)s AND active\n"
        "GROUP BY partition_id\n"
        "ORDER BY partition_id"
    )


def partition_parts() -> str:
    """Active parts of one partition (``%(partition_id)s``, a 'YYYYMMDD' string): (count, lowest merge
    level, the names sorted and joined by commas: a String, which clickhouse-driver's NumPy mode reads
    natively, unlike an array; the highest insert block number; the rows).

    A partition that is one part of level above 0 was written by a merge, which kept each key once (a
    ReplacingMergeTree merge removes duplicates within and across its parts): a sealed day that has not
    been inserted into since. Inserted parts (level 0) may hold duplicates of one insert block.

    Every insert gets a block number higher than any before it in the table, and a merge keeps the
    highest of its parts': so the same highest block and the same rows mean nothing was inserted since
    (merges of parts without duplicates keep every row), whatever merges ran.
    """
    return (
        "SELECT count(), min(level), arrayStringConcat(arraySort(groupArray(name)), ','),"
        " max(max_block_number), sum(rows) FROM system.parts\n"
        "WHERE database = %(database)s AND table = %(table)s AND active"
        " AND partition_id = %(partition_id)s"
    )


def trade_id_gaps(database: str, table: str) -> str:
    """Runs of missing ids per (venue, symbol) in ``[start_us, end_us)``.

    Rows are (venue, symbol, prev_id, next_id).

    ``prev_id`` and ``next_id`` are the present ids around the hole, so the missing run is
    ``prev_id + 1 .. next_id - 1``. Written with arrays because 18.16 has no window functions; negative
    (content-key) ids are not exchange ids and are left out.

    The lambdas take the neighbouring ids as arguments (``prevs`` and ``nexts``, the sorted ids without
    their last and first element) and capture no column: a lambda that captures an array column, like
    ``i -> ids[i + 1] - ids[i]``, makes 18.16 copy that array once per element, quadratic memory that
    fails beyond some 50,000 trades of a symbol in a day. Duplicates stay in ``ids`` (``groupArray`` is
    about 3x faster than ``groupUniqArray`` on 10M ticks): they are neighbours 0 apart, never a hole.
    """
    return (
        "SELECT venue, symbol, prev_id, next_id\n"
        "FROM (\n"
        "    SELECT venue, symbol, arraySort(groupArray(trade_id)) AS ids,\n"
        "           arrayPopBack(ids) AS prevs, arrayPopFront(ids) AS nexts\n"
        f"    FROM {_qualified(database, table)}\n"
        "    WHERE trade_time_us >= %(start_us)s AND trade_time_us < %(end_us)s AND trade_id >= 0\n"
        "    GROUP BY venue, symbol\n"
        ")\n"
        "ARRAY JOIN arrayFilter((p, n) -> n - p > 1, prevs, nexts) AS prev_id,\n"
        "           arrayFilter((n, p) -> n - p > 1, nexts, prevs) AS next_id\n"
        "ORDER BY venue, symbol, prev_id"
    )


def optimize_partition(database: str, table: str) -> str:
    """Merge partition ``%(partition)s`` (an integer YYYYMMDD) into one part, dropping duplicates."""
    return f"OPTIMIZE TABLE {_qualified(database, table)} PARTITION %(partition)s FINAL"


def drop_partition(database: str, table: str) -> str:
    """Delete partition ``%(partition)s`` (an integer YYYYMMDD); a missing partition is no error."""
    return f"ALTER TABLE {_qualified(database, table)} DROP PARTITION %(partition)s"


def create_seal_marks(database: str, table: str) -> str:
    """The seal marks of a tick table: one row per seal that found a day free of duplicates without
    merging it, naming the day's partition (``day``, the YYYYMMDD number), its highest insert block and
    its rows then (see :func:`partition_parts`). While a partition still has that highest block and
    those rows, it holds each key once and is read without ``FINAL``. Partitioned like the tick table,
    so dropping a day drops its marks (which must go first: after a drop, a restarted server may hand
    out block numbers again)."""
    return (
        f"CREATE TABLE IF NOT EXISTS {_qualified(database, table)} (\n"
        "    day UInt32,\n"
        "    max_block Int64,\n"
        "    rows UInt64,\n"
        "    sealed_at DateTime DEFAULT now()\n"
        ")\n"
        "ENGINE = MergeTree\n"
        "PARTITION BY day\n"
        "ORDER BY max_block"
    )


def insert_seal_mark(database: str, table: str) -> str:
    """Insert statement of a seal mark; the driver sends (day, max_block, rows) after ``VALUES``."""
    return f"INSERT INTO {_qualified(database, table)} (day, max_block, rows) VALUES"


def seal_mark(database: str, table: str) -> str:
    """The latest seal mark of day ``%(partition)s`` (YYYYMMDD number): (marks, highest block, its rows);
    ``marks`` is 0 when the day has none (the other two are then 0). Block numbers only grow while the
    day's parts exist, so the latest mark has the highest block."""
    return (
        "SELECT count(), max(max_block), argMax(rows, max_block)\n"
        f"FROM {_qualified(database, table)}\n"
        "WHERE day = %(partition)s"
    )
