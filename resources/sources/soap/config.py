"""Options of a ``soap`` source: the WSDL, the operation and its arguments, the cursor and typed columns."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from resources.sources.base import RecordSchema, SourceSpec
from resources.sources.columns import schema_of

ArgumentValue = str | int | float | bool | dt.datetime
"""A value of a configured operation argument (TOML strings, numbers, booleans and date-times)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SoapConfig:
    """One operation of a SOAP service, called repeatedly with a cursor argument, returning a list of items."""

    name: str
    """Source name (bus topic ``sources.<name>``, table ``src_<name>``)."""
    wsdl: str
    """URL (or path) of the service's WSDL."""
    operation: str
    """The operation to call, e.g. ``GetPrices``."""
    columns: dict[str, str]
    """Record columns and their types (``string``, ``int64``, ``float64``, ``bool``, ``time``: a
    ``dateTime``, ISO-8601 text or epoch number, stored as int64 microseconds UTC), in record order."""
    time_column: str
    """The ``time`` column that dates a record (its day is the record's partition)."""
    key: tuple[str, ...]
    """Columns that name one record version (a repeat is stored once)."""
    series: tuple[str, ...] = ()
    """Columns that name one series (e.g. area)."""
    version_column: str | None = None
    """``time`` column holding when a value was published, for re-issued values (part of the key)."""
    arguments: dict[str, ArgumentValue] = field(default_factory=dict)
    """Fixed arguments of every call (e.g. ``{area = "DE"}``)."""
    cursor_argument: str | None = None
    """Argument that receives the cursor (e.g. ``since``), the largest ``cursor_column`` value delivered so
    far; the service must treat it as inclusive (``>=``). None: every call fetches everything."""
    cursor_column: str | None = None
    """Column whose largest delivered value is the cursor (e.g. ``published``); needed with ``cursor_argument``."""
    cursor_start: ArgumentValue | None = None
    """Cursor argument of the very first call (None: the argument is left out until there is a cursor)."""
    result_path: tuple[str, ...] = ()
    """Attributes leading from the operation's result to the list of items (empty: the result is the list)."""
    fields: dict[str, str] = field(default_factory=dict)
    """Dotted path of each column's value in an item (default: the column's own name)."""
    page_size: int | None = None
    """The service's most items per call: a full page means more are waiting (fetch again at once)."""
    service: str | None = None
    """WSDL service name, when the WSDL has several (with ``port``)."""
    port: str | None = None
    """WSDL port name within ``service``."""
    timeout_s: float = 30.0
    """Timeout of loading the WSDL and of every call, in seconds."""
    periods_per_day: int | None = None
    """Delivery periods a complete day of one series has (e.g. 24), None: no such expectation."""

    def __post_init__(self) -> None:
        schema_of(self.columns)  # unknown types, named
        for role, column in (("time_column", self.time_column), ("version_column", self.version_column)):
            if column is not None and self.columns.get(column) not in ("time", "int64"):
                raise ValueError(f"{role} {column!r} must be a 'time' (or int64) column")
        if (self.cursor_argument is None) != (self.cursor_column is None):
            raise ValueError("cursor_argument and cursor_column go together: give both or neither")
        if self.cursor_column is not None and self.columns.get(self.cursor_column) not in ("time", "int64"):
            raise ValueError(f"cursor_column {self.cursor_column!r} must be a 'time' or int64 column")
        unknown = sorted(set(self.fields) - set(self.columns))
        if unknown:
            raise ValueError(f"fields names columns {unknown} that are not in columns")
        if self.timeout_s <= 0 or (self.page_size is not None and self.page_size <= 0):
            raise ValueError("timeout_s and page_size must be positive")
        self.spec()  # validates key, series and time columns early

    @property
    def cursor_is_time(self) -> bool:
        """Whether the cursor column is a time (passed to the service as a ``dateTime``)."""
        return self.cursor_column is not None and self.columns[self.cursor_column] == "time"

    def spec(self) -> SourceSpec:
        """What the source delivers."""
        records = RecordSchema(
            schema=schema_of(self.columns),
            time_column=self.time_column,
            key=self.key,
            series=self.series,
            version_column=self.version_column,
        )
        return SourceSpec(name=self.name, kind="soap", records=records, periods_per_day=self.periods_per_day)
