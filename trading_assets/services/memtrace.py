"""Memory diagnostics for long runs: where a service's Python heap grows, from inside the process.

``TRADEGRAPH_MEMTRACE=DIR`` (or ``DIR,SECONDS``) makes any ``tradegraph`` command start :mod:`tracemalloc`
SECONDS (60) after it started (the imports and the start-up are not traced: tracing them is slow, and
start-up is not what grows), take a baseline, and then write, every SECONDS, ``DIR/<command>-<pid>-<n>.txt``:
the traced total and the 25 allocation sites (with their callers) that grew most since the baseline, with
their size and count. Memory held by pyarrow's own allocator is not traced (numpy's is). The variable is
read once, by the command line at start; unset, nothing is traced (tracing slows Python down and costs
memory itself). ``bench/soak.py --service-env`` passes it to the services.
"""

from __future__ import annotations

import linecache
import logging
import os
import threading
import tracemalloc
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

TOP = 25
FRAMES = 6
# The reports' own allocations (linecache holds the source lines they quote) are not the service's.
_IGNORED = (
    tracemalloc.__file__,
    linecache.__file__,
    "<frozen importlib._bootstrap>",
    "<frozen importlib._bootstrap_external>",
)


@dataclass(frozen=True, slots=True, kw_only=True)
class MemtraceConfig:
    """Where and how often the heap reports are written."""

    folder: Path
    """Folder of the reports (created if missing)."""
    every_s: float = 60.0
    """Seconds between reports."""

    @classmethod
    def parse(cls, value: str) -> MemtraceConfig:
        """``DIR`` or ``DIR,SECONDS`` (the variable's value)."""
        folder, _, seconds = value.partition(",")
        every = float(seconds) if seconds else 60.0
        if not folder or every <= 0:
            raise ValueError(
                f"TRADEGRAPH_MEMTRACE must be DIR or DIR,SECONDS with SECONDS > 0, got {value!r}"
            )
        return cls(folder=Path(folder), every_s=every)


def report(baseline: tracemalloc.Snapshot, now: tracemalloc.Snapshot, top: int = TOP) -> str:
    """The traced total and the ``top`` source lines (with their callers) that grew most since ``baseline``."""
    filters = [tracemalloc.Filter(False, name) for name in _IGNORED]
    base, current = baseline.filter_traces(filters), now.filter_traces(filters)
    total = sum(stat.size for stat in current.statistics("filename"))
    lines = [f"traced {total / 1024**2:.1f} MB; {outside_python()}"]
    for diff in current.compare_to(base, "traceback")[:top]:
        lines.append(
            f"{diff.size_diff / 1024**2:+9.2f} MB ({diff.count_diff:+,} blocks) now {diff.size / 1024**2:.2f} MB"
        )
        lines.extend(
            f"      {line.strip()}" for line in diff.traceback.format(limit=FRAMES, most_recent_first=True)
        )
    return "\n".join(lines) + "\n"


def rss_mb() -> float:
    """This process's resident set size in MB (Linux ``/proc``); NaN elsewhere."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def outside_python() -> str:
    """RSS and pyarrow's memory pool, which tracemalloc does not see (so a report can say where RSS went)."""
    import pyarrow as pa  # the services have it loaded already

    pool = pa.default_memory_pool()
    return (
        f"RSS {rss_mb():.1f} MB; pyarrow {pool.backend_name} pool {pool.bytes_allocated() / 1024**2:.1f} MB "
        f"allocated, {pool.max_memory() / 1024**2:.1f} MB at most"
    )


class Memtrace(threading.Thread):
    """A daemon thread writing one heap report every ``config.every_s`` seconds until :meth:`stop`."""

    def __init__(self, config: MemtraceConfig, command: str) -> None:
        super().__init__(name="memtrace", daemon=True)
        self.config = config
        self.command = command
        self._stopping = threading.Event()
        self.reports = 0

    def run(self) -> None:
        self.config.folder.mkdir(parents=True, exist_ok=True)
        if self._stopping.wait(self.config.every_s):
            return
        tracemalloc.start(FRAMES)
        baseline = tracemalloc.take_snapshot()
        while not self._stopping.wait(self.config.every_s):
            self.write(baseline)

    def write(self, baseline: tracemalloc.Snapshot) -> Path:
        """Write one report against ``baseline``; its path."""
        path = self.config.folder / f"{self.command}-{os.getpid()}-{self.reports + 1:03d}.txt"
        path.write_text(report(baseline, tracemalloc.take_snapshot()))
        self.reports += 1
        return path

    def stop(self) -> None:
        """End the thread after the report it is writing, if any."""
        self._stopping.set()


def start_from_env(environ: Mapping[str, str], command: str) -> Memtrace | None:
    """Start tracing and the report thread if ``TRADEGRAPH_MEMTRACE`` is set in ``environ``; else None."""
    value = environ.get("TRADEGRAPH_MEMTRACE")
    if not value:
        return None
    config = MemtraceConfig.parse(value)
    tracer = Memtrace(config, command)
    tracer.start()
    log.warning(
        "tracemalloc in %g s: heap reports every %g s in %s", config.every_s, config.every_s, config.folder
    )
    return tracer
