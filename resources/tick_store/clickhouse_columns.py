"""Tick columns between Arrow and clickhouse-driver's NumPy protocol."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

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
