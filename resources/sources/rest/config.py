"""Options of a ``rest`` source (a generic JSON REST API polled for new items)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

import pyarrow as pa

from resources.sources.base import RecordSchema, SourceSpec
from resources.sources.columns import COLUMN_TYPES
from resources.sources.http import REDACTED, redact_url

ColumnType = Literal["string", "int64", "float64", "bool"]
"""The value types a field may have (stored as :data:`resources.sources.columns.COLUMN_TYPES` says)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RestConfig:
    """One JSON REST endpoint listing items, polled with conditional GETs and followed page by page."""

    name: str
    """Source name: bus topic ``sources.<name>``, table ``src_<name>``."""
    url: str
    """The listing's URL (``http://`` or ``https://``), without the ``since`` and page parameters."""
    columns: Mapping[str, ColumnType]
    """Record columns: item field -> type (``string``, ``int64``, ``float64``, ``bool``); the item's
    other fields are ignored."""
    time_column: str
    """int64 column with the microseconds (UTC) the value is for; an item may also give it as ISO-8601 text."""
    key: tuple[str, ...]
    """Columns naming one record version (an item delivered twice is stored once)."""
    series: tuple[str, ...] = ()
    """Columns naming one series (e.g. area), for completeness checks."""
    version_column: str | None = None
    """int64 column with the microseconds a value was published, for revised values (added to the key)."""
    periods_per_day: int | None = None
    """Values of the time column a series has in a complete day (24, 96), if the source has a fixed grid."""
    items_field: str = "items"
    """Field of the response object holding the list of items (a response that is a JSON list is the list)."""
    next_field: str = "next"
    """Field of the response object naming the next page: a URL (absolute or relative) or a page cursor."""
    next_param: str | None = None
    """Query parameter that carries a page cursor from ``next_field``; None: the field's name."""
    since_param: str | None = None
    """Query parameter carrying the last value seen (e.g. the last time), so a poll asks only newer items."""
    since_field: str | None = None
    """Item field whose value ``since_param`` sends; None: the time column."""
    timeout_s: float = 10.0
    """Connect and read timeout of each request, seconds."""
    headers: Mapping[str, str] = field(default_factory=dict)
    """Extra request headers (e.g. an API key; give secrets as ``env:VAR`` in the sources file)."""

    def __post_init__(self) -> None:
        if not self.url.startswith(("http://", "https://")):
            raise ValueError(f"rest source {self.name}: url must start with http:// or https://")
        if self.timeout_s <= 0:
            raise ValueError(f"rest source {self.name}: timeout_s must be positive, got {self.timeout_s}")
        for column in (self.time_column, self.version_column):
            if column is not None and self.columns.get(column) != "int64":
                raise ValueError(f"rest source {self.name}: column {column!r} must be listed as int64")

    def __repr__(self) -> str:
        # Header values and URL query secrets are API keys: configs end up in logs and messages.
        headers = {name: REDACTED for name in self.headers}
        return f"RestConfig(name={self.name!r}, url={redact_url(self.url)!r}, headers={headers!r})"

    def spec(self) -> SourceSpec:
        """What this source delivers."""
        key = self.key
        if self.version_column is not None and self.version_column not in key:
            key = (*key, self.version_column)
        schema = pa.schema([pa.field(n, COLUMN_TYPES[t], nullable=False) for n, t in self.columns.items()])
        records = RecordSchema(
            schema=schema,
            time_column=self.time_column,
            key=key,
            series=self.series,
            version_column=self.version_column,
        )
        return SourceSpec(name=self.name, kind="rest", records=records, periods_per_day=self.periods_per_day)
