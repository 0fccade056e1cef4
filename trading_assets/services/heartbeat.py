"""Service heartbeats: a small JSON file per service that the stream-health sensor reads.

A heartbeat says the service is alive and how far ingestion has come. It is written atomically (temp file
+ rename), so a reader never sees half a file.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path


@dataclass(frozen=True, slots=True, kw_only=True)
class Heartbeat:
    """One beat of a service."""

    service: str
    """Service name: ``streamer``, ``loader``, ``executor``."""
    pid: int
    """Process id of the service."""
    wall_time_us: int
    """When the beat was written (microseconds since epoch, UTC)."""
    ticks: int
    """Ticks the service has handled since it started."""
    last_trade_time_us: int | None
    """Exchange time of the newest trade handled, if any."""
    detail: dict[str, float] = field(default_factory=dict)
    """Service-specific figures (reconnects, gaps, lag...)."""


def heartbeat_path(home: Path, service: str) -> Path:
    """Where ``service`` writes its heartbeat under ``home``."""
    return home / "heartbeats" / f"{service}.json"


def write_heartbeat(home: Path, beat: Heartbeat) -> Path:
    """Write ``beat`` atomically; return its path."""
    path = heartbeat_path(home, beat.service)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(asdict(beat)))
    os.replace(tmp, path)
    return path


def read_heartbeat(home: Path, service: str) -> Heartbeat | None:
    """The last heartbeat of ``service``, or None if it never wrote one."""
    path = heartbeat_path(home, service)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    return Heartbeat(**data)


def now_us() -> int:
    """Current wall time in microseconds since epoch."""
    return time.time_ns() // 1_000
