"""The ``rest`` source: polls a JSON listing with conditional GETs and follows its pages.

Cursor (JSON text, resumes exactly after a restart)::

    {"next": <URL of the next page or null>, "since": <last since value or null>,
     "etag": ..., "last_modified": ..., "validated_url": <the URL the validators belong to>}

A poll without a pending page asks ``url`` (with ``since_param`` = the last since value), sending the
saved ``ETag`` / ``Last-Modified`` when they belong to that same URL: 304 means nothing new. A page
naming a next page (``next_field`` or a ``Link: <...>; rel="next"`` header) returns ``more=True`` and
the cursor points at that page. Items that do not fit the columns are rejected with the field and value.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import pyarrow as pa

from resources.sources.base import Rejected, Source, SourceBatch, SourceError
from resources.sources.columns import BadValue, value_of
from resources.sources.http import HttpClient, HttpResponse, redact_url
from resources.sources.rest.config import RestConfig

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class RestCursor:
    """Where a ``rest`` source resumes."""

    next: str | None = None
    """The next page's URL while a listing is being paged through."""
    since: object = None
    """The since value to send on the next new listing (JSON value as the API gave it)."""
    etag: str | None = None
    """ETag of the last first page."""
    last_modified: str | None = None
    """Last-Modified of the last first page."""
    validated_url: str | None = None
    """The URL those validators came from (they are only sent to the same URL)."""

    def dumps(self) -> str:
        """The cursor as JSON text."""
        return json.dumps(
            {
                "next": self.next,
                "since": self.since,
                "etag": self.etag,
                "last_modified": self.last_modified,
                "validated_url": self.validated_url,
            },
            sort_keys=True,
        )

    @classmethod
    def loads(cls, text: str | None) -> RestCursor:
        """The cursor ``text`` stands for (None: a fresh start)."""
        if not text:
            return cls()
        try:
            raw = json.loads(text)
            return cls(
                next=raw.get("next"),
                since=raw.get("since"),
                etag=raw.get("etag"),
                last_modified=raw.get("last_modified"),
                validated_url=raw.get("validated_url"),
            )
        except (ValueError, AttributeError) as exc:
            raise SourceError(f"rest source: saved cursor is not a rest cursor: {text[:100]!r}") from exc


class BadItem(ValueError):
    """An item that does not fit the columns; the message names the field and value."""


class RestSource(Source):
    """A generic JSON REST listing polled for new items."""

    def __init__(self, config: RestConfig, *, client: HttpClient | None = None) -> None:
        self.config = config
        self.spec = config.spec()
        self._client = client if client is not None else HttpClient(headers=config.headers)
        self._time_fields = {config.time_column} | (
            {config.version_column} if config.version_column is not None else set()
        )

    def fetch(self, cursor: str | None, *, timeout_s: float) -> SourceBatch:
        """The items of the next page or new listing after ``cursor``."""
        state = RestCursor.loads(cursor)
        timeout = min(self.config.timeout_s, timeout_s) if timeout_s > 0 else self.config.timeout_s
        url_asked: str | None = None  # the listing's first page (its validators are kept)
        if state.next is not None:
            response = self._client.get(state.next, timeout_s=timeout)
        else:
            url = url_asked = self.config.url
            if self.config.since_param is not None and state.since is not None:
                url = url_asked = _with_param(url, self.config.since_param, str(state.since))
            # Validators belong to one URL: send them only when asking the same listing again.
            same = url == state.validated_url
            response = self._client.get(
                url,
                timeout_s=timeout,
                etag=state.etag if same else None,
                last_modified=state.last_modified if same else None,
            )
        return self._batch(state, response, url_asked)

    def _batch(self, state: RestCursor, response: HttpResponse, url_asked: str | None) -> SourceBatch:
        if response.not_modified:
            return SourceBatch(records=self.spec.records.schema.empty_table(), cursor=None)
        items, next_ref = self._page(response)
        rows: dict[str, list[object]] = {name: [] for name in self.config.columns}
        rejected: list[Rejected] = []
        since = state.since
        since_field = self.config.since_field or self.config.time_column
        best_time: int | None = None
        for item in items:
            try:
                values = self._row(item)
            except BadItem as exc:
                rejected.append(Rejected(payload=_dump(item), reason=str(exc)))
                continue
            for name, value in values.items():
                rows[name].append(value)
            if self.config.since_param is not None and isinstance(item, dict):
                raw = item.get(since_field)
                moment = values.get(since_field)
                if since_field == self.config.time_column and isinstance(moment, int):
                    if best_time is None or moment > best_time:
                        best_time, since = moment, raw
                elif raw is not None:
                    since = raw
        records = pa.table(rows, schema=self.spec.records.schema)
        first_page = state.next is None
        new = replace(state, since=since, next=next_ref)
        if first_page:
            new = replace(
                new, etag=response.etag, last_modified=response.last_modified, validated_url=url_asked
            )
        if rejected:
            log.warning(
                "rest source %s: %d items rejected, first: %s",
                self.spec.name,
                len(rejected),
                rejected[0].reason,
            )
        return SourceBatch(
            records=records, cursor=new.dumps(), rejected=tuple(rejected), more=next_ref is not None
        )

    def _page(self, response: HttpResponse) -> tuple[list[object], str | None]:
        """The page's items and the next page's URL (None on the last page)."""
        shown = redact_url(response.url)
        try:
            document = json.loads(response.body)
        except ValueError as exc:
            raise SourceError(f"rest source {self.spec.name}: GET {shown}: body is not JSON: {exc}") from None
        next_ref: object = None
        items: list[object]
        if isinstance(document, list):
            items = document
        elif isinstance(document, dict):
            found = document.get(self.config.items_field)
            next_ref = document.get(self.config.next_field)
            if isinstance(found, list):
                items = found
            else:
                raise SourceError(
                    f"rest source {self.spec.name}: GET {shown}: field {self.config.items_field!r} "
                    f"is not a list of items (keys: {sorted(document)[:10]})"
                )
        else:
            raise SourceError(
                f"rest source {self.spec.name}: GET {shown}: body is neither an object nor a list"
            )
        if next_ref in (None, "") and "next" in response.links:
            next_ref = response.links["next"]
        return items, self._next_url(response.url, next_ref)

    def _next_url(self, current: str, next_ref: object) -> str | None:
        if next_ref is None or next_ref == "" or next_ref is False:
            return None
        text = str(next_ref)
        if text.startswith(("http://", "https://", "/", "?")):
            return urljoin(current, text)
        # A page cursor: the listing's URL with the cursor as a query parameter.
        param = self.config.next_param or self.config.next_field
        return _with_param(current, param, text)

    def _row(self, item: object) -> Mapping[str, object]:
        if not isinstance(item, dict):
            raise BadItem(f"item {item!r} is not an object")
        # Strict (JSON is typed); a time column is int64 microseconds or ISO-8601 text with a zone.
        try:
            return {
                name: value_of(
                    "time" if name in self._time_fields else kind,
                    item.get(name),
                    field=name,
                    strict=True,
                    epoch_unit="us",
                )
                for name, kind in self.config.columns.items()
            }
        except BadValue as exc:
            raise BadItem(str(exc)) from None

    def close(self) -> None:
        """Close the HTTP connections."""
        self._client.close()


def _with_param(url: str, name: str, value: str) -> str:
    """``url`` with query parameter ``name`` set to ``value`` (replacing it if present)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != name]
    query.append((name, value))
    return urlunsplit(parts._replace(query=urlencode(query)))


def _dump(item: object) -> bytes:
    try:
        return json.dumps(item, sort_keys=True).encode()
    except (TypeError, ValueError):
        return repr(item).encode()
