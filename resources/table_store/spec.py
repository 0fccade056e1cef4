"""What the table store needs to know of a table: :class:`TableSpec`, and how a day's rows are checked.

A table spec names the table, gives its Arrow schema, the int64 microsecond column whose UTC day decides
the partition of a row, and the key columns that order the rows (in storage and in reads). Specs are
plain values: the domain declares one per table (bars now; features, signals, orders, fills, positions
and equity next) and every store implementation builds its storage from it.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from trading_assets.core.time import day_bounds_us

NAME_PATTERN = r"^[a-z_][a-z0-9_]*$"
"""Table and column names: lower-case identifiers, safe as SQL identifiers and as folder names."""
_NAME_RE = re.compile(NAME_PATTERN)

SUPPORTED_TYPES: tuple[pa.DataType, ...] = (
    pa.string(),
    pa.int8(),
    pa.int16(),
    pa.int32(),
    pa.int64(),
    pa.float32(),
    pa.float64(),
    pa.bool_(),
)
"""Column types every implementation stores losslessly (columns are never null)."""


class TableSchemaError(ValueError):
    """A table handed to the store does not fit its spec (missing, extra, null or uncastable columns)."""


class PartitionDayError(ValueError):
    """Rows handed in for one day's partition have times outside that UTC day."""


@dataclass(frozen=True, slots=True, kw_only=True)
class TableSpec:
    """A day-partitioned table: name, schema, the time column that decides the day, and its key."""

    name: str
    """Table name (matches :data:`NAME_PATTERN`); the ClickHouse table and the embedded folder."""
    schema: pa.Schema
    """Arrow schema of the rows; every column of a :data:`SUPPORTED_TYPES` type, never null."""
    time_column: str
    """int64 column of microseconds since epoch (UTC); its day decides a row's partition."""
    key: tuple[str, ...]
    """Columns that order the rows, most significant first: the storage sort key and the read order."""

    def __post_init__(self) -> None:
        if not _NAME_RE.match(self.name):
            raise ValueError(f"table name {self.name!r} must match {NAME_PATTERN}")
        for field in self.schema:
            if not _NAME_RE.match(field.name):
                raise ValueError(f"table {self.name}: column name {field.name!r} must match {NAME_PATTERN}")
            if field.type not in SUPPORTED_TYPES:
                raise ValueError(
                    f"table {self.name}: column {field.name!r} has type {field.type}, not one of "
                    f"{[str(t) for t in SUPPORTED_TYPES]}"
                )
        if len(set(self.schema.names)) != len(self.schema.names):
            raise ValueError(f"table {self.name}: duplicate column names in {self.schema.names}")
        if self.time_column not in self.schema.names:
            raise ValueError(f"table {self.name}: time column {self.time_column!r} is not in the schema")
        if self.schema.field(self.time_column).type != pa.int64():
            raise ValueError(
                f"table {self.name}: time column {self.time_column!r} must be int64 microseconds"
            )
        if not self.key:
            raise ValueError(f"table {self.name}: the key needs at least one column")
        unknown = [column for column in self.key if column not in self.schema.names]
        if unknown:
            raise ValueError(f"table {self.name}: key columns {unknown} are not in the schema")

    @property
    def columns(self) -> tuple[str, ...]:
        """Column names in schema order."""
        return tuple(self.schema.names)

    def conform(self, table: pa.Table) -> pa.Table:
        """``table`` with exactly this spec's columns, in order, with the spec's types.

        Raises :class:`TableSchemaError` naming the table and the offending columns when columns are
        missing or extra, hold nulls, or cannot be cast losslessly.
        """
        names = table.column_names
        missing = [name for name in self.columns if name not in names]
        extra = [name for name in names if name not in self.columns]
        if missing or extra:
            raise TableSchemaError(
                f"table {self.name}: missing columns {missing}, unexpected columns {extra}; "
                f"expected exactly {list(self.columns)}"
            )
        if table.schema.equals(self.schema):
            return table
        arrays = []
        for field in self.schema:
            column = table.column(field.name)
            if column.null_count:
                raise TableSchemaError(
                    f"table {self.name}: column {field.name!r} has {column.null_count} null values"
                )
            try:
                arrays.append(column.cast(field.type))  # safe cast: overflow or truncation raises
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                raise TableSchemaError(
                    f"table {self.name}: column {field.name!r} of type {column.type} cannot be cast to "
                    f"{field.type}: {exc}"
                ) from exc
        return pa.Table.from_arrays(arrays, schema=self.schema)

    def day_partition(self, day: dt.date, table: pa.Table) -> pa.Table:
        """``table`` conformed and sorted by the key, checked to lie wholly within ``day``.

        Raises :class:`PartitionDayError` naming the table, the day and the first stray time: a stray
        row would land in another day's partition, out of reach of that day's next replace.
        """
        conformed = self.conform(table)
        if conformed.num_rows == 0:
            return conformed
        start, end = day_bounds_us(day)
        bounds = pc.min_max(conformed.column(self.time_column))
        low, high = bounds["min"].as_py(), bounds["max"].as_py()
        if low < start or high >= end:
            stray = low if low < start else high
            raise PartitionDayError(
                f"table {self.name}: rows for the partition of {day} include {self.time_column}={stray}, "
                f"outside that UTC day [{start}, {end}); nothing was written"
            )
        return self.sort(conformed)

    def sort(self, table: pa.Table) -> pa.Table:
        """``table`` in key order (a table of one row as is: sorting copies every value)."""
        if table.num_rows <= 1:
            return table
        return table.sort_by([(column, "ascending") for column in self.key])
