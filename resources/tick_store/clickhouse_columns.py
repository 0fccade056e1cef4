"""Tick columns between Arrow and clickhouse-driver's NumPy protocol."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from resources.tick_store.clickhouse_sql import BAR_COLUMNS
from trading_assets.core.bars import BARS_SCHEMA

_STRING_COLUMNS = frozenset({"venue", "symbol"})


def numpy_columns(table: pa.Table, names: Sequence[str]) -> list[np.ndarray]:
    """Columns as NumPy arrays for a clickhouse-driver numpy insert (strings as object arrays)."""
    columns = []
    for name in names:
        column = table.column(name)
        if name in _STRING_COLUMNS:
            # Few distinct venues and symbols: decode each once and index, instead of one str per row.
            encoded = pc.dictionary_encode(column).combine_chunks()
            names_array = encoded.dictionary.to_numpy(zero_copy_only=False)
            columns.append(names_array[encoded.indices.to_numpy(zero_copy_only=False)])
        else:
            columns.append(column.to_numpy())
    return columns


def columns_to_table(columns: Sequence[Any], schema: pa.Schema) -> pa.Table:
    """A table of ``schema`` from a columnar query result (empty when the result has no columns)."""
    if not columns:
        return schema.empty_table()
    arrays = [pa.array(values, type=field.type) for values, field in zip(columns, schema, strict=True)]
    return pa.Table.from_arrays(arrays, schema=schema)


def _in_trade_order(time_us: np.ndarray, trade_id: np.ndarray) -> bool:
    """Whether rows are ordered by (trade_time_us, trade_id)."""
    step_time, step_id = np.diff(time_us), np.diff(trade_id)
    return bool(np.all((step_time > 0) | ((step_time == 0) & (step_id >= 0))))


def symbol_table(venue: str, symbol: str, numeric: Sequence[Any], schema: pa.Schema) -> pa.Table:
    """A table of ``schema`` for one venue's symbol from its numeric columns (``schema``'s fields after
    venue and symbol, as NumPy arrays), ordered by (trade_time_us, trade_id).

    The venue and symbol columns are built in Arrow (one string taken n times), never as n Python
    objects. Rows already in that order (the usual case for one merged part: trade ids follow trade time)
    are not moved.
    """
    rows = len(numeric[0]) if numeric else 0
    names = schema.names[2:]
    arrays = {name: np.asarray(values) for name, values in zip(names, numeric, strict=True)}
    time_us, trade_id = arrays["trade_time_us"], arrays["trade_id"]
    if not _in_trade_order(time_us, trade_id):
        # Rows of several parts come as sorted runs of ids, one per part: a stable sort by id merges the
        # runs (timsort) several times faster than a two-key sort, and is the order wanted whenever ids
        # follow trade time, as exchange ids do. Otherwise (content keys, a late trade) sort by both.
        order = np.argsort(trade_id, kind="stable")
        if not _in_trade_order(time_us[order], trade_id[order]):
            order = np.lexsort((trade_id, time_us))
        arrays = {name: values[order] for name, values in arrays.items()}
    zeros = pa.array(np.zeros(rows, np.int32))
    columns = [
        pa.array([venue], schema.field("venue").type).take(zeros),
        pa.array([symbol], schema.field("symbol").type).take(zeros),
    ] + [pa.array(arrays[name], type=schema.field(name).type) for name in names]
    return pa.Table.from_arrays(columns, schema=schema)


def bars_table(symbol: str, columns: Sequence[Any]) -> pa.Table:
    """A bar table (``BARS_SCHEMA``) of one symbol from the columns of
    :func:`resources.tick_store.clickhouse_sql.symbol_day_bars` (venue, minute_us, open, ...)."""
    named = dict(zip(BAR_COLUMNS, columns, strict=True))
    arrays = {"symbol": pa.array([symbol], pa.string()).take(pa.array(np.zeros(len(columns[0]), np.int32)))}
    for field in BARS_SCHEMA:
        if field.name != "symbol":
            arrays[field.name] = pa.array(named[field.name], type=field.type)
    return pa.Table.from_arrays([arrays[name] for name in BARS_SCHEMA.names], schema=BARS_SCHEMA)
