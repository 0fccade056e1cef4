"""The energy simulator's FTP drop: intraday trade files published the way an exchange uploads them.

A drop is one CSV file of the trades executed in one window of trade time (default 15 minutes), named
``intraday_trades_<area>_<YYYYMMDDTHHMMSSZ>.csv`` after the window's start (so drop the files of one
:func:`replay_drops` or :func:`day_drops` call per directory: two calls may cover the same window). Publishing follows the
completeness rule of the ``ftp`` source (:mod:`resources.sources.ftp`): the data is written as
``<name>.part``, renamed to ``<name>``, and only then is the sidecar ``<name>.sha256`` (as ``sha256sum``
writes it) put beside it, itself written under a temporary name and renamed, so a reader never sees a
half-written sidecar and a data file without a sidecar is always an incomplete upload.

:class:`FtpDropServer` (:mod:`.ftp_server`) serves the drop directory read-only over FTP or FTPS on
127.0.0.1; :func:`drop_files` and :class:`DropReplay` publish files over time, at a replay speed
(``speed=100``: 100x real time).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Self

import numpy as np
import pyarrow as pa

from trading_assets.core.time import US_PER_SECOND
from trading_assets.services.energy_sim.ftp_server import FtpDropServer
from trading_assets.services.energy_sim.intraday_trades import intraday_trades, trades_csv

log = logging.getLogger(__name__)

PART_SUFFIX = ".part"
SIDECAR_SUFFIX = ".sha256"

__all__ = [
    "DropFile",
    "DropReplay",
    "FtpDropServer",
    "day_drops",
    "drop_files",
    "publish_file",
    "replay_drops",
    "sha256_line",
    "trade_drops",
    "write_data_file",
    "write_sidecar",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class DropFile:
    """One file to publish: its name, bytes and the window of trade time it covers."""

    name: str
    """File name (no directory)."""
    data: bytes
    """The CSV bytes."""
    window_start_us: int
    """Start of the window of trade times in the file (microseconds UTC)."""
    window_end_us: int
    """End (exclusive) of that window."""
    rows: int
    """Trades in the file."""


def trade_drops(trades: pa.Table, *, area: str = "DE", window_s: int = 900) -> list[DropFile]:
    """``trades`` cut into one file per ``window_s`` of trade time, oldest first (windows without trades
    give no file)."""
    if window_s <= 0:
        raise ValueError(f"window_s must be positive, got {window_s}")
    if trades.num_rows == 0:
        return []
    window_us = window_s * US_PER_SECOND
    times = trades.column("trade_time").to_numpy()
    windows = times // window_us
    files: list[DropFile] = []
    boundaries = np.flatnonzero(np.diff(windows)) + 1
    for start, stop in zip([0, *boundaries.tolist()], [*boundaries.tolist(), trades.num_rows], strict=True):
        window_start = int(windows[start]) * window_us
        stamp = dt.datetime.fromtimestamp(window_start / US_PER_SECOND, dt.UTC).strftime("%Y%m%dT%H%M%SZ")
        chunk = trades.slice(start, stop - start)
        files.append(
            DropFile(
                name=f"intraday_trades_{area}_{stamp}.csv",
                data=trades_csv(chunk),
                window_start_us=window_start,
                window_end_us=window_start + window_us,
                rows=chunk.num_rows,
            )
        )
    return files


def day_drops(
    day: dt.date, *, seed: int, area: str = "DE", trades: int = 20_000, window_s: int = 900
) -> list[DropFile]:
    """The drop files of delivery ``day``'s intraday trades (:func:`intraday_trades`)."""
    return trade_drops(
        intraday_trades(day, seed=seed, area=area, trades=trades), area=area, window_s=window_s
    )


def replay_drops(
    first_day: dt.date,
    days: int,
    *,
    seed: int,
    area: str = "DE",
    trades_per_day: int = 100_000,
    window_s: int = 900,
) -> list[DropFile]:
    """The drop files of ``days`` delivery days from ``first_day``, as the exchange publishes them: each
    file holds every trade executed in its window, whichever day it delivers in (trading for a day starts
    the afternoon before, so consecutive days' trades share windows)."""
    if days <= 0:
        raise ValueError(f"days must be positive, got {days}")
    trades = pa.concat_tables(
        intraday_trades(first_day + dt.timedelta(days=offset), seed=seed, area=area, trades=trades_per_day)
        for offset in range(days)
    ).sort_by([("trade_time", "ascending"), ("trade_id", "ascending")])
    return trade_drops(trades, area=area, window_s=window_s)


def sha256_line(name: str, data: bytes) -> bytes:
    """The sidecar's content for ``data``, as ``sha256sum`` writes it: ``<hex>  <name>\\n``."""
    return f"{hashlib.sha256(data).hexdigest()}  {name}\n".encode()


def write_data_file(root: Path, name: str, data: bytes) -> Path:
    """Upload step 1: ``data`` written as ``<name>.part``, then renamed to ``<name>`` (no sidecar yet)."""
    final = root / name
    part = root / (name + PART_SUFFIX)
    with part.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(part, final)
    return final


def write_sidecar(root: Path, name: str, content: bytes) -> Path:
    """Upload step 2: the sidecar ``<name>.sha256`` with ``content``, written aside and renamed into place."""
    final = root / (name + SIDECAR_SUFFIX)
    part = root / (name + SIDECAR_SUFFIX + PART_SUFFIX)
    part.write_bytes(content)
    os.replace(part, final)
    return final


def publish_file(
    root: Path, drop: DropFile, *, sidecar_delay_s: float = 0.0, sleep: Callable[[float], None] = time.sleep
) -> Path:
    """``drop`` uploaded into ``root``: the data file, then (``sidecar_delay_s`` later) its sidecar last."""
    path = write_data_file(root, drop.name, drop.data)
    if sidecar_delay_s > 0:
        sleep(sidecar_delay_s)  # the window in which readers see an incomplete upload
    write_sidecar(root, drop.name, sha256_line(drop.name, drop.data))
    return path


def drop_files(
    root: Path,
    files: Sequence[DropFile],
    *,
    speed: float = 1.0,
    interval_s: float | None = None,
    stop: threading.Event | None = None,
    sleep: Callable[[float], None] = time.sleep,
    sidecar_delay_s: float = 0.0,
    on_published: Callable[[DropFile], None] | None = None,
) -> int:
    """Publish ``files`` into ``root`` one by one, as time passes; the number published.

    Each file is published when its window has ended in replayed time: the wait between two files is
    the time between their window ends divided by ``speed`` (``interval_s`` instead: a fixed wait). The
    first file is published at once. ``stop`` ends the drop early. ``sidecar_delay_s`` keeps each data
    file without its sidecar that long (a slow upload); ``on_published`` is called after each file.
    """
    if speed <= 0:
        raise ValueError(f"speed must be positive, got {speed}")
    root.mkdir(parents=True, exist_ok=True)
    published = 0
    previous_end: int | None = None
    for drop in files:
        if previous_end is not None:
            wait = (
                interval_s
                if interval_s is not None
                else max(0.0, (drop.window_end_us - previous_end) / US_PER_SECOND / speed)
            )
            if stop is not None:
                if stop.wait(wait):
                    break
            else:
                sleep(wait)
        if stop is not None and stop.is_set():
            break
        publish_file(root, drop, sidecar_delay_s=sidecar_delay_s, sleep=sleep)
        published += 1
        if on_published is not None:
            on_published(drop)
        previous_end = drop.window_end_us
        log.debug("ftp drop: published %s (%d trades)", drop.name, drop.rows)
    return published


class DropReplay:
    """:func:`drop_files` in a background thread (a context manager): a live drop for tests and benchmarks.

    ``published`` counts the files published so far and ``rows`` their trades; ``done`` says all are.
    """

    def __init__(
        self,
        root: Path,
        files: Sequence[DropFile],
        *,
        speed: float = 100.0,
        interval_s: float | None = None,
        sidecar_delay_s: float = 0.0,
    ) -> None:
        self.root = root
        self.files = list(files)
        self.published = 0
        self.rows = 0
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(
            target=drop_files,
            args=(root, self.files),
            kwargs={
                "speed": speed,
                "interval_s": interval_s,
                "stop": self._stop,
                "sidecar_delay_s": sidecar_delay_s,
                "on_published": self._count,
            },
            name="ftp-drop-replay",
            daemon=True,
        )

    def _count(self, drop: DropFile) -> None:
        with self._lock:
            self.published += 1
            self.rows += drop.rows

    @property
    def done(self) -> bool:
        """Whether every file is published (or the replay was stopped)."""
        return not self._thread.is_alive()

    def start(self) -> Self:
        """Start publishing."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop publishing (the file being published is finished first)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
