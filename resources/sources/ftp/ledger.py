"""The ftp source's cursor: which files were loaded (name, SHA-256, when, and how the listing showed them).

Serialized as JSON. A listed file whose name, size and modification times match its entry was loaded and
is skipped without reading it; one whose sidecar names another digest is a new upload and is loaded
again. Entries are dropped ``retention`` after loading once the server no longer lists the file, so the
cursor stays bounded by what the directory holds.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace

from resources.sources.base import SourceError

CURSOR_VERSION = 1


@dataclass(frozen=True, slots=True, kw_only=True)
class LoadedFile:
    """One loaded file."""

    sha256: str
    """Hex digest of the loaded bytes."""
    loaded_us: int
    """When it was loaded (microseconds since epoch)."""
    listing: str | None
    """Size and modification times the listing showed for it and its sidecar (None: not known)."""


@dataclass(frozen=True, slots=True)
class FileLedger:
    """Loaded files by name."""

    files: Mapping[str, LoadedFile]

    @classmethod
    def parse(cls, cursor: str | None) -> FileLedger:
        """The ledger in ``cursor`` (None: nothing loaded yet); :class:`SourceError` when it is not one."""
        if cursor is None:
            return cls({})
        try:
            document = json.loads(cursor)
            if document.get("version") != CURSOR_VERSION:
                raise ValueError(f"cursor version {document.get('version')!r} is not {CURSOR_VERSION}")
            files = {
                str(name): LoadedFile(
                    sha256=str(entry["sha256"]),
                    loaded_us=int(entry["loaded_us"]),
                    listing=None if entry.get("listing") is None else str(entry["listing"]),
                )
                for name, entry in document["files"].items()
            }
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise SourceError(f"ftp cursor is not a file ledger ({exc}): {cursor[:200]!r}") from exc
        return cls(files)

    def dump(self) -> str:
        """The ledger as a cursor string."""
        files = {
            name: {"sha256": entry.sha256, "loaded_us": entry.loaded_us, "listing": entry.listing}
            for name, entry in sorted(self.files.items())
        }
        return json.dumps({"version": CURSOR_VERSION, "files": files}, separators=(",", ":"))

    def get(self, name: str) -> LoadedFile | None:
        """The entry of ``name``, None when it was never loaded."""
        return self.files.get(name)

    def with_file(self, name: str, entry: LoadedFile) -> FileLedger:
        """This ledger with ``name`` loaded as ``entry`` (replacing an older upload of that name)."""
        return FileLedger({**self.files, name: entry})

    def with_listing(self, name: str, listing: str | None) -> FileLedger:
        """This ledger with the listing of loaded file ``name`` updated (same content, touched on the server)."""
        return FileLedger({**self.files, name: replace(self.files[name], listing=listing)})

    def pruned(self, listed: Collection[str], *, now_us: int, retention_us: int) -> FileLedger:
        """Without the entries loaded more than ``retention_us`` ago whose file is no longer ``listed``."""
        kept = {
            name: entry
            for name, entry in self.files.items()
            if name in listed or now_us - entry.loaded_us <= retention_us
        }
        return self if len(kept) == len(self.files) else FileLedger(kept)
