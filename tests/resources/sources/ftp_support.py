"""Support for the ftp source tests: FTP and FTPS drop servers on 127.0.0.1 and sources pointed at them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from resources.sources.base import Source, SourceBatch
from resources.sources.ftp import FtpSource
from resources.sources.registry import build_source
from trading_assets.services.energy_sim.ftp_drop import FtpDropServer

USER = "loader"
PASSWORD = "drop-secret"

COLUMNS = {"id": "int64", "ts": "time", "area": "string", "price": "float64", "firm": "bool"}
"""A small typed CSV: an id, a time, a string, a float and a bool."""


def ftp_source(server: FtpDropServer, ca_file: Path | None = None, **options: Any) -> FtpSource:
    """An ftp source on ``server`` built through the registry (so the kind's options are validated)."""
    settings: dict[str, Any] = {
        "name": "drops",
        "host": "127.0.0.1",
        "port": server.port,
        "user": USER,
        "password": PASSWORD,
        "tls": server.tls,
        "ca_file": None if ca_file is None else str(ca_file),
        "columns": COLUMNS,
        "time_column": "ts",
        "timeout_s": 5.0,
    }
    settings.update(options)
    source = build_source("ftp", settings)
    assert isinstance(source, FtpSource)
    return source


def drain(source: Source, cursor: str | None, *, limit: int = 50) -> tuple[list[SourceBatch], str | None]:
    """Fetch until the source has nothing more ready; the batches and the last cursor."""
    batches: list[SourceBatch] = []
    for _ in range(limit):
        batch = source.fetch(cursor, timeout_s=1.0)
        batches.append(batch)
        cursor = batch.cursor if batch.cursor is not None else cursor
        if not batch.more:
            return batches, cursor
    raise AssertionError(f"source still had more after {limit} fetches")


def csv_bytes(*lines: str) -> bytes:
    """A CSV file of ``lines`` (the first is the header)."""
    return ("\n".join(lines) + "\n").encode()


class Clock:
    """A settable clock for the source's retention (seconds since the epoch)."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


ClockFn = Callable[[], float]
