"""Typed columns for sources whose records are text or loosely typed values (CSV files, SOAP items).

A source's options name its columns and their types (``{"price": "float64", "area": "string"}``) and
which of them are *times*. A time column is stored as int64 microseconds since the epoch (UTC) and is
given either as ISO-8601 text (``2026-01-05T10:15:00Z``; without an offset it is UTC), as a ``datetime``
(SOAP ``dateTime``) or as an epoch number in the configured unit. Every value that does not fit its
column raises :class:`ColumnValueError` naming the column and the value, so the caller can reject that
one datapoint with the reason and keep the rest.
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import pyarrow as pa

from trading_assets.core.time import US_PER_SECOND

ColumnType = Literal["string", "int64", "float64", "bool"]
"""The types a configured column may have."""
EpochUnit = Literal["s", "ms", "us", "ns"]
"""The unit of epoch numbers given for a time column."""

_ARROW_TYPES: dict[str, pa.DataType] = {
    "string": pa.string(),
    "int64": pa.int64(),
    "float64": pa.float64(),
    "bool": pa.bool_(),
}
_EPOCH_US: dict[str, tuple[int, int]] = {
    "s": (US_PER_SECOND, 1),
    "ms": (1000, 1),
    "us": (1, 1),
    "ns": (1, 1000),
}
_TRUE = frozenset({"true", "1", "yes", "y", "t"})
_FALSE = frozenset({"false", "0", "no", "n", "f"})
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


class ColumnValueError(ValueError):
    """A value does not fit its column; the message names the column and the value."""


def _describe(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


@dataclass(frozen=True, slots=True, kw_only=True)
class TypedColumns:
    """Columns by name and type, which of them are times, and how to read each value."""

    columns: Mapping[str, ColumnType]
    """Column name -> type, in record order."""
    time_columns: tuple[str, ...] = ()
    """Columns that hold times: int64 microseconds (UTC), given as ISO-8601, ``datetime`` or epoch numbers."""
    epoch_unit: EpochUnit = "s"
    """Unit of epoch numbers given for a time column."""

    def __post_init__(self) -> None:
        if not self.columns:
            raise ValueError("columns: name at least one column, e.g. {'price': 'float64'}")
        for name, kind in self.columns.items():
            if kind not in _ARROW_TYPES:
                raise ValueError(f"column {name!r}: type {kind!r} is not one of {sorted(_ARROW_TYPES)}")
        for name in self.time_columns:
            if self.columns.get(name) != "int64":
                raise ValueError(
                    f"time column {name!r} must be a column of type 'int64' (microseconds), "
                    f"got {self.columns.get(name)!r}"
                )

    def arrow_fields(self) -> list[pa.Field]:
        """The Arrow fields of the columns, never null."""
        return [pa.field(name, _ARROW_TYPES[kind], nullable=False) for name, kind in self.columns.items()]

    def convert(self, column: str, value: object) -> object:
        """``value`` as column ``column``'s Python value; :class:`ColumnValueError` when it does not fit."""
        if value is None or (isinstance(value, str) and value.strip() == ""):
            raise ColumnValueError(f"field {column!r} is empty")
        if column in self.time_columns:
            return self._time_us(column, value)
        kind = self.columns[column]
        try:
            if kind == "string":
                return value if isinstance(value, str) else str(value)
            if kind == "int64":
                return _int64(value)
            if kind == "float64":
                return _float64(value)
            return _boolean(value)
        except (ValueError, TypeError, ArithmeticError) as exc:
            raise ColumnValueError(
                f"field {column!r} value {_describe(value)} is not a valid {kind}"
            ) from exc

    def row(self, get: Mapping[str, object]) -> dict[str, object]:
        """One record of every configured column read from ``get``; the first bad field raises."""
        result: dict[str, object] = {}
        for column in self.columns:
            if column not in get:
                raise ColumnValueError(f"field {column!r} is missing")
            result[column] = self.convert(column, get[column])
        return result

    def _time_us(self, column: str, value: object) -> int:
        try:
            if isinstance(value, dt.datetime):
                return _datetime_us(value)
            if isinstance(value, dt.date):
                raise ValueError("a date without a time")
            if isinstance(value, str):
                text = value.strip()
                if _looks_numeric(text):
                    return self._epoch_us(decimal.Decimal(text))
                return _datetime_us(dt.datetime.fromisoformat(text))
            if isinstance(value, bool):
                raise ValueError("a bool is not a time")
            if isinstance(value, int | float | decimal.Decimal):
                return self._epoch_us(decimal.Decimal(value))
        except (ValueError, ArithmeticError, OverflowError) as exc:
            raise ColumnValueError(
                f"field {column!r} value {_describe(value)} is not a time "
                f"(ISO-8601 or epoch {self.epoch_unit}): {exc}"
            ) from exc
        raise ColumnValueError(f"field {column!r} value {_describe(value)} is not a time")

    def _epoch_us(self, number: decimal.Decimal) -> int:
        if not number.is_finite():
            raise ValueError("not a finite number")
        multiply, divide = _EPOCH_US[self.epoch_unit]
        micros = number * multiply / divide
        return _checked_int64(int(micros.to_integral_value(rounding=decimal.ROUND_FLOOR)))


def _looks_numeric(text: str) -> bool:
    body = text[1:] if text[:1] in "+-" else text
    return body.replace(".", "", 1).isdigit()


def _datetime_us(value: dt.datetime) -> int:
    # Naive times are UTC: CSV drops and SOAP services of this kind publish UTC.
    aware = value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
    delta = aware - _EPOCH
    return _checked_int64((delta.days * 86_400 + delta.seconds) * US_PER_SECOND + delta.microseconds)


def _checked_int64(number: int) -> int:
    if not -(2**63) <= number < 2**63:
        raise OverflowError(f"{number} does not fit int64")
    return number


def _int64(value: object) -> int:
    if isinstance(value, bool):
        raise TypeError("a bool is not an integer")
    if isinstance(value, int):
        return _checked_int64(value)
    if isinstance(value, float | decimal.Decimal):
        if value != int(value):
            raise ValueError("has a fraction")
        return _checked_int64(int(value))
    if isinstance(value, str):
        return _checked_int64(int(value.strip()))
    raise TypeError(f"{type(value).__name__} is not an integer")


def _float64(value: object) -> float:
    if isinstance(value, bool):
        raise TypeError("a bool is not a number")
    if isinstance(value, int | float | decimal.Decimal | str):
        number = float(value.strip() if isinstance(value, str) else value)
        if not math.isfinite(number):
            raise ValueError("not finite")
        return number
    raise TypeError(f"{type(value).__name__} is not a number")


def _boolean(value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    raise ValueError("not one of true/false/1/0/yes/no")


def records_table(schema: pa.Schema, rows: Sequence[Mapping[str, object]]) -> pa.Table:
    """``rows`` (dicts of Python values, one per record) as a table of ``schema``."""
    if not rows:
        return schema.empty_table()
    arrays = [pa.array([row[field.name] for row in rows], type=field.type) for field in schema]
    return pa.Table.from_arrays(arrays, schema=schema)
