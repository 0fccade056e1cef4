"""Typed columns from loosely typed payloads (JSON messages, CSV lines, SOAP items), with clear rejects.

A kind whose records are configured rather than fixed (the websocket kind) declares its columns as
``{"name": "type"}`` with types ``string``, ``int64``, ``float64``, ``bool`` and ``time`` (an ISO-8601
text or an epoch number in s, ms, us or ns, told apart by magnitude, stored as int64 microseconds UTC).
:class:`RowBuilder` converts one payload at a time and says, for a bad one, which field and value.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping

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


class RowBuilder:
    """Collects converted rows column by column; :meth:`add` refuses a payload with the reason."""

    def __init__(self, columns: Mapping[str, str]) -> None:
        self.schema = schema_of(columns)
        self._columns = dict(columns)
        self._values: dict[str, list[object]] = {name: [] for name in columns}

    def add(self, fields: Mapping[str, object]) -> str | None:
        """Add one row from ``fields`` (column -> raw value); None when added, else why it was refused."""
        row: dict[str, object] = {}
        for name, kind in self._columns.items():
            if name not in fields or fields[name] is None:
                return f"field {name!r} is missing"
            raw = fields[name]
            try:
                row[name] = _CONVERT[kind](raw)
            except (TypeError, ValueError, OverflowError) as exc:
                return f"field {name!r}={raw!r} is not a valid {kind} ({exc})"
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
