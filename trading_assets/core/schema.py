"""Bringing an Arrow table to a canonical schema: the one check behind ``conform`` and ``conform_bars``."""

from __future__ import annotations

import pyarrow as pa


def conform_to_schema(table: pa.Table, schema: pa.Schema, what: str) -> pa.Table:
    """Return ``table`` with exactly the columns of ``schema``, in order and with its types.

    ``what`` names the table in errors (``tick``, ``bar``). Raises ``ValueError`` naming missing columns,
    columns with nulls, or a column that cannot be cast.
    """
    names = schema.names
    present = set(table.column_names)  # a property that builds a list each time it is read
    missing = [name for name in names if name not in present]
    if missing:
        raise ValueError(f"{what} table is missing columns {missing}; expected columns {list(names)}")
    if table.schema.equals(schema):
        return table
    columns = []
    for field in schema:
        column = table.column(field.name)
        if column.null_count:
            raise ValueError(f"{what} column {field.name!r} has {column.null_count} null values")
        try:
            columns.append(column.cast(field.type))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise ValueError(
                f"{what} column {field.name!r} of type {column.type} cannot be cast to {field.type}: {exc}"
            ) from exc
    return pa.Table.from_arrays(columns, schema=schema)
