"""The ftp source: CSV files dropped in one FTP/FTPS directory, each loaded exactly once.

Completeness rule: a data file (a name matching the configured glob) is complete only when its sidecar
``<file>.sha256`` exists, holding the file's SHA-256 as ``sha256sum`` writes it (``<hex>  <name>``).
Uploaders write the data file first and the sidecar last, so a file without a sidecar is a partial upload
and is ignored until the sidecar appears. The downloaded bytes must match the sidecar's digest; when they
do not, nothing of the file is loaded, a :class:`Rejected` naming both digests goes to the dead letters,
and the file is read again on later polls (the upload may still be rewriting it) until it matches.

Exactly once across restarts: the cursor (:mod:`.ledger`) records every loaded file's name and digest,
so a restarted source skips them; a file uploaded again with another digest is a new file and loads
again (its records carry ``file_sha256`` in their key, so they do not collide with the old upload's).
Each fetch loads at most one file and says ``more`` when other complete files wait, so a crash between
fetch and cursor save repeats at most one file, whose records the loader then stores once by key
``(file, file_sha256, line)``.
"""

from __future__ import annotations

import fnmatch
import ftplib
import hashlib
import logging
import re
import time
from collections.abc import Callable

from resources.sources.base import Rejected, Source, SourceBatch, SourceError, empty_records
from resources.sources.ftp import client
from resources.sources.ftp.config import SIDECAR_SUFFIX, FtpConfig
from resources.sources.ftp.csvfile import parse_csv
from resources.sources.ftp.ledger import FileLedger, LoadedFile

log = logging.getLogger(__name__)

_DIGEST = re.compile(r"^\\?([0-9a-fA-F]{64})(?:\s+\*?(.*))?$")
_SIDECAR_MAX_BYTES = 4096
_US_PER_S = 1_000_000


class FtpSource(Source):
    """CSV file drops in one FTP/FTPS directory (see the module docstring for the rules)."""

    def __init__(self, config: FtpConfig, *, clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self.spec = config.spec()
        self._clock = clock
        self._ftp: ftplib.FTP | None = None
        # Mismatches already reported (name -> (actual, expected)): a file still mismatching on the next
        # poll is read again but not rejected again, so one bad upload is one dead letter.
        self._reported: dict[str, tuple[str, str]] = {}

    def fetch(self, cursor: str | None, *, timeout_s: float) -> SourceBatch:
        """The records of the next complete, not yet loaded file (at most one) and the cursor after it."""
        ledger = FileLedger.parse(cursor)
        ftp = self._connection()
        try:
            return self._fetch(ftp, ledger)
        except SourceError:
            # The connection may be mid-transfer or broken: start afresh next time.
            self._drop_connection()
            raise

    def _fetch(self, ftp: ftplib.FTP, ledger: FileLedger) -> SourceBatch:
        config = self.config
        now_us = int(self._clock() * _US_PER_S)
        listed = {entry.name: entry for entry in client.list_directory(config, ftp)}
        ledger = ledger.pruned(listed, now_us=now_us, retention_us=int(config.retention_s * _US_PER_S))
        complete = sorted(
            (
                entry
                for name, entry in listed.items()
                if fnmatch.fnmatchcase(name, config.pattern) and name + SIDECAR_SUFFIX in listed
            ),
            key=lambda entry: (entry.modify or "", entry.name),
        )
        # Forget reported mismatches of files that are gone, so the memo stays as small as the directory.
        self._reported = {name: seen for name, seen in self._reported.items() if name in listed}
        rejected: list[Rejected] = []
        for position, entry in enumerate(complete):
            sidecar = listed[entry.name + SIDECAR_SUFFIX]
            if _untouched(ledger, entry, sidecar):
                continue  # loaded, and untouched since
            listing = _listing(entry, sidecar)
            loaded = ledger.get(entry.name)
            expected, bad_sidecar = self._sidecar_digest(ftp, entry.name)
            if expected is None:
                if bad_sidecar is not None:
                    rejected.append(bad_sidecar)
                continue
            if loaded is not None and loaded.sha256 == expected:
                ledger = ledger.with_listing(entry.name, listing)  # touched, same content
                continue
            if entry.size is not None and entry.size > config.max_file_bytes:
                reason = f"{entry.name}: {entry.size} bytes is more than max_file_bytes {config.max_file_bytes}; not loaded"
                rejected.append(Rejected(payload=entry.name.encode(), reason=reason))
                ledger = ledger.with_file(
                    entry.name, LoadedFile(sha256=expected, loaded_us=now_us, listing=listing)
                )
                continue
            try:
                data = client.read_file(config, ftp, entry.name, max_bytes=config.max_file_bytes)
            except client.FileTooLargeError as exc:
                self._drop_connection()  # the transfer was cut off mid-way
                rejected.append(Rejected(payload=entry.name.encode(), reason=f"{exc}; not loaded"))
                ledger = ledger.with_file(
                    entry.name, LoadedFile(sha256=expected, loaded_us=now_us, listing=listing)
                )
                break
            actual = hashlib.sha256(data).hexdigest()
            if actual != expected:
                if self._reported.get(entry.name) != (actual, expected):
                    self._reported[entry.name] = (actual, expected)
                    reason = (
                        f"{entry.name}: SHA-256 of the {len(data)} downloaded bytes is {actual}, its sidecar "
                        f"says {expected}; not loaded, read again on a later poll"
                    )
                    rejected.append(Rejected(payload=data[:1024], reason=reason))
                log.warning("ftp source %s: %s does not match its sidecar yet", config.name, entry.name)
                continue
            self._reported.pop(entry.name, None)
            parsed = parse_csv(
                data,
                name=entry.name,
                sha256=actual,
                columns=config.columns,
                delimiter=config.delimiter,
                encoding=config.encoding,
            )
            ledger = ledger.with_file(
                entry.name, LoadedFile(sha256=actual, loaded_us=now_us, listing=listing)
            )
            log.info(
                "ftp source %s: loaded %s (%d records, %d rejected lines)",
                config.name,
                entry.name,
                parsed.records.num_rows,
                len(parsed.rejected),
            )
            waiting = any(
                not _untouched(ledger, other, listed[other.name + SIDECAR_SUFFIX])
                for other in complete[position + 1 :]
            )
            return SourceBatch(
                records=parsed.records,
                cursor=ledger.dump(),
                rejected=(*rejected, *parsed.rejected),
                more=waiting,
            )
        return SourceBatch(
            records=empty_records(self.spec.records), cursor=ledger.dump(), rejected=tuple(rejected)
        )

    def _sidecar_digest(self, ftp: ftplib.FTP, name: str) -> tuple[str | None, Rejected | None]:
        """The digest in ``name``'s sidecar, or None and (once per content) why it is unusable."""
        sidecar = name + SIDECAR_SUFFIX
        text = client.read_file(self.config, ftp, sidecar, max_bytes=_SIDECAR_MAX_BYTES)
        first = text.decode("utf-8", errors="replace").strip().splitlines()[:1]
        match = _DIGEST.match(first[0].strip()) if first else None
        if match is not None:
            self._reported.pop(sidecar, None)
            return match.group(1).lower(), None
        # Maybe still being written: read again next poll, report once per content.
        seen = (hashlib.sha256(text).hexdigest(), "")
        if self._reported.get(sidecar) == seen:
            return None, None
        self._reported[sidecar] = seen
        reason = f"{sidecar}: not a SHA-256 line as sha256sum writes it (<64 hex digits>  <name>); {name} not loaded yet"
        return None, Rejected(payload=text, reason=reason)

    def _connection(self) -> ftplib.FTP:
        if self._ftp is not None:
            try:
                with client.ftp_errors(self.config, "NOOP"):
                    self._ftp.voidcmd("NOOP")
                return self._ftp
            except SourceError:
                # An idle connection the server closed: reconnect once, below.
                self._drop_connection()
        self._ftp = client.connect(self.config)
        return self._ftp

    def _drop_connection(self) -> None:
        if self._ftp is not None:
            client.close_quietly(self._ftp)
            self._ftp = None

    def close(self) -> None:
        """Log out and close the connection."""
        if self._ftp is not None:
            try:
                with client.ftp_errors(self.config, "QUIT"):
                    self._ftp.quit()
            except SourceError as exc:
                log.debug("ftp source %s: QUIT failed: %s", self.config.name, exc)
            finally:
                self._drop_connection()


def _untouched(ledger: FileLedger, data: client.Listed, sidecar: client.Listed) -> bool:
    """Whether the ledger has ``data`` loaded and the listing shows it unchanged since."""
    loaded = ledger.get(data.name)
    listing = _listing(data, sidecar)
    return loaded is not None and listing is not None and loaded.listing == listing


def _listing(data: client.Listed, sidecar: client.Listed) -> str | None:
    """What the listing shows of a file and its sidecar; None when it shows no sizes or times (NLST)."""
    if data.size is None or data.modify is None or sidecar.modify is None:
        return None
    return f"{data.size}|{data.modify}|{sidecar.size}|{sidecar.modify}"
