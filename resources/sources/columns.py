"""Typed columns from payloads (JSON messages, CSV lines, SOAP items), with clear rejects: the one
place where a source's raw values become column values.

A kind whose records are configured rather than fixed declares its columns as ``{"name": "type"}`` with
types ``string``, ``int64``, ``float64``, ``bool`` and ``time`` (stored as int64 microseconds UTC).
:func:`value_of` converts one value, in one of two modes:

- **strict**, for typed payloads (JSON: the ``sns`` and ``rest`` kinds): the value must already have the
  type, so a publisher's mistake is caught: ``"12"`` is not an int64, ``1`` is not a bool, a float must
  be finite; a time is ISO-8601 text *with* a zone, or an epoch number in the source's ``epoch_unit``;
- **lenient**, for text payloads (CSV, XML, and the websocket kind's mapped fields): text is parsed:
  ``"12"`` is an int64, ``"yes"`` a bool, anything a string; a time is ISO-8601 text (a naive one is UTC)
  or an epoch number in s, ms, us or ns, told apart by magnitude.

Either way a bad value raises :class:`BadValue` naming the field and the value. :class:`RowBuilder`
converts one payload at a time (lenient) and says, for a bad one, why.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping
from typing import Literal

import pyarrow as pa

from trading_assets.core.time import datetime_us
from trading_assets.core.validation import to_microseconds

COLUMN_TYPES: dict[str, pa.DataType] = {
    "string": pa.string(),
    "int64": pa.int64(),
    "float64": pa.float64(),
    "bool": pa.bool_(),
    "time": pa.int64(),
}
"""Column type names a config may use, and how each is stored."""


def schema_of(columns: Mapping[str, str]) -> pa.Schema:
    """The Arrow schema of ``columns``; ``ValueError`` naming an unknown type and the known ones."""
    fields = []
    for name, kind in columns.items():
        if kind not in COLUMN_TYPES:
            raise ValueError(f"column {name!r} has type {kind!r}; use one of {', '.join(COLUMN_TYPES)}")
        fields.append(pa.field(name, COLUMN_TYPES[kind], nullable=False))
    return pa.schema(fields)


EpochUnit = Literal["s", "ms", "us"]
"""Unit of epoch numbers a strict time column takes."""
_US_PER_UNIT = {"s": 1_000_000, "ms": 1_000, "us": 1}


class BadValue(ValueError):
    """A value that does not fit its column; the text names the field and the value."""


def _a(kind: str) -> str:
    return f"an {kind}" if kind[0] in "aeiou" else f"a {kind}"


def _to_bool(raw: object) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in ("true", "1", "yes"):
        return True
    if text in ("false", "0", "no"):
        return False
    raise ValueError("not a boolean")


def _to_float(raw: object) -> float:
    if isinstance(raw, bool):
        raise ValueError("a boolean is not a number")
    value = float(raw)  # type: ignore[arg-type]
    if not math.isfinite(value):
        raise ValueError("not a finite number")
    return value


def _to_int(raw: object) -> int:
    if isinstance(raw, bool):
        raise ValueError("a boolean is not a number")
    if isinstance(raw, float) and not raw.is_integer():
        raise ValueError("not a whole number")
    return int(raw)  # type: ignore[call-overload]


def to_time_us(raw: object) -> int:
    """An ISO-8601 text (a naive one is UTC) or an epoch number in s/ms/us/ns, as microseconds UTC."""
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        return to_microseconds(int(raw))
    text = str(raw).strip()
    if text.lstrip("-").isdigit():
        return to_microseconds(int(text))
    moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return datetime_us(moment)


_CONVERT: dict[str, Callable[[object], object]] = {
    "string": str,
    "int64": _to_int,
    "float64": _to_float,
    "bool": _to_bool,
    "time": to_time_us,
}


def strict_time_us(value: object, *, field: str, epoch_unit: EpochUnit) -> int:
    """``value`` (ISO-8601 text with a zone, or an epoch number in ``epoch_unit``) as int64 microseconds."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value * _US_PER_UNIT[epoch_unit]
    if isinstance(value, float) and math.isfinite(value):
        return round(value * _US_PER_UNIT[epoch_unit])
    if isinstance(value, str):
        try:
            parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise BadValue(f"field {field!r}: {value!r} is not an ISO-8601 time") from None
        if parsed.tzinfo is None:
            raise BadValue(f"field {field!r}: {value!r} has no time zone (add Z or +00:00)")
        return datetime_us(parsed)
    raise BadValue(f"field {field!r}: {value!r} is not a time")


def _strict(kind: str, value: object, field: str) -> object:
    if kind == "string" and isinstance(value, str):
        return value
    if kind == "bool" and isinstance(value, bool):
        return value
    if kind == "int64" and type(value) is int and -(2**63) <= value < 2**63:
        return value
    if kind == "float64" and isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value)
        if math.isfinite(number):
            return number
    raise BadValue(f"field {field!r}: {value!r} is not {_a(kind)}")


def value_of(
    kind: str, raw: object, *, field: str, strict: bool, epoch_unit: EpochUnit | None = None
) -> object:
    """``raw`` as a value of column type ``kind`` (see the module docstring for ``strict``).

    ``epoch_unit`` is the unit of epoch numbers in a strict ``time`` (required there); lenient times tell
    it by magnitude. Raises :class:`BadValue` naming ``field`` and the value, also when it is missing
    (None).
    """
    if raw is None:
        raise BadValue(f"field {field!r} is missing")
    if kind not in _CONVERT:
        raise ValueError(f"column {field!r} has type {kind!r}; use one of {', '.join(COLUMN_TYPES)}")
    if strict:
        if kind == "time":
            if epoch_unit is None:
                raise ValueError(f"column {field!r}: a strict time needs its epoch_unit")
            return strict_time_us(raw, field=field, epoch_unit=epoch_unit)
        return _strict(kind, raw, field)
    try:
        return _CONVERT[kind](raw)
    except (TypeError, ValueError, OverflowError) as exc:
        raise BadValue(f"field {field!r}: {raw!r} is not {_a(kind)} ({exc})") from None


class RowBuilder:
    """Collects converted (lenient) rows column by column; :meth:`add` refuses a payload with the reason."""

    def __init__(self, columns: Mapping[str, str]) -> None:
        self.schema = schema_of(columns)
        self._columns = dict(columns)
        self._values: dict[str, list[object]] = {name: [] for name in columns}

    def add(self, fields: Mapping[str, object]) -> str | None:
        """Add one row from ``fields`` (column -> raw value); None when added, else why it was refused."""
        row: dict[str, object] = {}
        for name, kind in self._columns.items():
            try:
                row[name] = value_of(kind, fields.get(name), field=name, strict=False)
            except BadValue as exc:
                return str(exc)
        for name, value in row.items():
            self._values[name].append(value)
        return None

    def __len__(self) -> int:
        return len(next(iter(self._values.values()), []))

    def table(self) -> pa.Table:
        """The rows added so far, and start over."""
        table = pa.table(self._values, schema=self.schema)
        self._values = {name: [] for name in self._columns}
        return table
