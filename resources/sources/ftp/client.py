"""The FTP/FTPS side of the ftp source: connecting, listing a directory and reading a file, with timeouts.

Every failure comes out as :class:`SourceUnavailableError` (connection refused, timeouts, dropped
connections, 4xx replies: retry later) or :class:`SourceError` (5xx replies such as a wrong password or a
missing directory, an untrusted certificate: retrying the same will not help).
"""

from __future__ import annotations

import contextlib
import ftplib
import io
import ssl
from collections.abc import Iterator
from dataclasses import dataclass

from resources.sources.base import SourceError, SourceUnavailableError
from resources.sources.ftp.config import FtpConfig


@dataclass(frozen=True, slots=True)
class Listed:
    """A directory entry: its name and, when the server supports MLSD, its size and modification time."""

    name: str
    size: int | None
    modify: str | None


class FileTooLargeError(SourceError):
    """A file is larger than the configured ``max_file_bytes``."""


@contextlib.contextmanager
def ftp_errors(config: FtpConfig, what: str) -> Iterator[None]:
    """Translate ftplib, socket and TLS errors raised while doing ``what`` into source errors."""
    where = f"ftp source {config.name} ({config.host}:{config.port}): {what}"
    try:
        yield
    except ssl.SSLCertVerificationError as exc:
        raise SourceError(f"{where}: the server's certificate is not trusted: {exc}") from exc
    except ftplib.error_perm as exc:
        raise SourceError(f"{where}: the server refused: {exc}") from exc
    except ftplib.error_temp as exc:
        raise SourceUnavailableError(f"{where}: temporary failure: {exc}") from exc
    except (ftplib.error_reply, ftplib.error_proto) as exc:
        raise SourceUnavailableError(f"{where}: unexpected reply: {exc}") from exc
    except TimeoutError as exc:
        raise SourceUnavailableError(f"{where}: timed out after {config.timeout_s}s") from exc
    except (OSError, EOFError) as exc:
        raise SourceUnavailableError(f"{where}: connection failed: {exc!r}") from exc


def connect(config: FtpConfig) -> ftplib.FTP:
    """A logged-in connection (TLS on control and data connections when ``config.tls``), in the directory."""
    ftp: ftplib.FTP
    if config.tls:
        context = ssl.create_default_context(cafile=config.ca_file)
        ftp = ftplib.FTP_TLS(context=context, timeout=config.timeout_s)
    else:
        ftp = ftplib.FTP(timeout=config.timeout_s)
    try:
        with ftp_errors(config, "connect"):
            ftp.connect(config.host, config.port, timeout=config.timeout_s)
        with ftp_errors(config, f"login as {config.user!r}"):
            if isinstance(ftp, ftplib.FTP_TLS):
                ftp.auth()
            ftp.login(config.user, config.password)
            if isinstance(ftp, ftplib.FTP_TLS):
                ftp.prot_p()
            ftp.set_pasv(config.passive)
        with ftp_errors(config, f"change to directory {config.directory!r}"):
            ftp.cwd(config.directory)
    except SourceError:
        close_quietly(ftp)
        raise
    return ftp


def close_quietly(ftp: ftplib.FTP) -> None:
    """Close ``ftp`` without a QUIT round trip (used after a failure, when the connection may be broken)."""
    with contextlib.suppress(OSError):
        ftp.close()


def list_directory(config: FtpConfig, ftp: ftplib.FTP) -> list[Listed]:
    """The files in the current directory; MLSD (with sizes and times) when the server has it, else NLST."""
    with ftp_errors(config, f"list {config.directory!r}"):
        try:
            return [
                Listed(name, _int_or_none(facts.get("size")), facts.get("modify"))
                for name, facts in ftp.mlsd(facts=["type", "size", "modify"])
                if facts.get("type", "file") == "file"
            ]
        except ftplib.error_perm as exc:
            if not str(exc).startswith(("500", "501", "502", "504")):
                raise
        # No MLSD: names only, so every sidecar is read on each poll.
        return [Listed(name.rsplit("/", 1)[-1], None, None) for name in ftp.nlst()]


def read_file(config: FtpConfig, ftp: ftplib.FTP, name: str, *, max_bytes: int) -> bytes:
    """The bytes of file ``name`` (binary transfer); :class:`FileTooLargeError` past ``max_bytes``."""
    buffer = io.BytesIO()

    def take(chunk: bytes) -> None:
        if buffer.tell() + len(chunk) > max_bytes:
            raise FileTooLargeError(f"ftp source {config.name}: {name!r} is larger than {max_bytes} bytes")
        buffer.write(chunk)

    with ftp_errors(config, f"read {name!r}"):
        ftp.retrbinary(f"RETR {name}", take)
    return buffer.getvalue()


def _int_or_none(text: str | None) -> int | None:
    try:
        return None if text is None else int(text)
    except ValueError:
        return None
