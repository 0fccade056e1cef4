"""The soap source's cursor: the largest cursor-column value delivered and the keys delivered at it."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import pyarrow as pa

from resources.sources.base import SourceError

CURSOR_VERSION = 1


@dataclass(frozen=True, slots=True)
class SoapCursor:
    """Where a soap source resumes."""

    since: int | None
    """Largest cursor-column value delivered (None: nothing yet)."""
    seen: frozenset[str]
    """Keys (JSON) of the records delivered whose cursor value is ``since``."""

    @classmethod
    def parse(cls, cursor: str | None, *, source: str) -> SoapCursor:
        """The cursor in ``cursor``; :class:`SourceError` when it is not one."""
        if cursor is None:
            return cls(None, frozenset())
        try:
            document = json.loads(cursor)
            if document.get("version") != CURSOR_VERSION:
                raise ValueError(f"version {document.get('version')!r} is not {CURSOR_VERSION}")
            since = document["since"]
            return cls(None if since is None else int(since), frozenset(str(key) for key in document["seen"]))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise SourceError(f"soap source {source}: bad cursor ({exc}): {cursor[:200]!r}") from exc

    def dump(self) -> str:
        """The cursor string."""
        return json.dumps({"version": CURSOR_VERSION, "since": self.since, "seen": sorted(self.seen)})

    def advance(
        self, records: pa.Table, *, cursor_column: str | None, key: Sequence[str]
    ) -> tuple[pa.Table, SoapCursor]:
        """``records`` without those already delivered at ``since``, and the cursor after them."""
        if cursor_column is None or records.num_rows == 0:
            return records, self
        values = records.column(cursor_column).to_pylist()
        identities = [
            json.dumps(list(row)) for row in zip(*(records.column(c).to_pylist() for c in key), strict=True)
        ]
        keep: list[bool] = []
        since, seen = self.since, set(self.seen)
        for value, identity in zip(values, identities, strict=True):
            repeat = self.since is not None and value == self.since and identity in self.seen
            keep.append(not repeat)  # a repeat was delivered by the previous call (inclusive cursor)
            if repeat:
                continue
            if since is None or value > since:
                since, seen = value, {identity}
            elif value == since:
                seen.add(identity)
        return records.filter(pa.array(keep)), SoapCursor(since, frozenset(seen))
