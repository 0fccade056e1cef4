"""Giving freed memory back to the system in the long-running commands: glibc's ``malloc_trim``.

glibc's malloc keeps memory the program freed inside its arenas (one per thread that allocates, up to
eight per core) and returns only the free top of each heap by itself. A service that frees large
short-lived buffers from several threads (decoded polls, the executor's checkpoint, numpy copies)
therefore holds hundreds of MB it no longer uses: in ``tradegraph run`` at 20,000 ticks/s, 150-390 MB
(docs/BENCHMARKS.md, "What the swings of `tradegraph run` are"). ``malloc_trim(0)`` hands the free pages
of every arena back (``madvise``); called every 10 s there it lowered the median RSS by about 300 MB.

The long-running commands (:data:`LONG_RUNNING`) start :class:`MallocTrimmer` from the command line
(:func:`start`); the setting ``malloc_trim_s`` (``TRADEGRAPH_MALLOC_TRIM_S``) sets its period in seconds
(10), 0 turns it off. On a C library without ``malloc_trim`` (musl, macOS) nothing is started.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)

LONG_RUNNING = frozenset({"run", "stream", "load", "execute", "exchange-sim", "sources"})
"""Commands that run until stopped, where freed memory would otherwise stay with the process."""
DEFAULT_EVERY_S = 10.0


def glibc_trim() -> Callable[[], int] | None:
    """``malloc_trim(0)`` of this process's C library (returns 1 when memory was released); None without it."""
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        libc = ctypes.CDLL(name)
        trim = libc.malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return lambda: int(trim(0))


class MallocTrimmer(threading.Thread):
    """A daemon thread calling ``trim`` every ``every_s`` seconds until :meth:`stop`."""

    def __init__(self, trim: Callable[[], int], every_s: float) -> None:
        if every_s <= 0:
            raise ValueError(f"every_s must be above 0, got {every_s}")
        super().__init__(name="malloc-trim", daemon=True)
        self.trim = trim
        self.every_s = every_s
        self.calls = 0
        """Trims done so far."""
        self._stopping = threading.Event()

    def run(self) -> None:
        while not self._stopping.wait(self.every_s):
            self.trim()
            self.calls += 1

    def stop(self) -> None:
        """End the thread (after the trim it is doing, if any)."""
        self._stopping.set()


def start(command: str, every_s: float) -> MallocTrimmer | None:
    """Start trimming every ``every_s`` seconds for a :data:`LONG_RUNNING` ``command``; None when
    ``every_s`` is 0, for other commands, or without glibc."""
    if command not in LONG_RUNNING or every_s <= 0:
        return None
    trim = glibc_trim()
    if trim is None:
        return None
    trimmer = MallocTrimmer(trim, every_s)
    trimmer.start()
    log.debug("malloc_trim every %g s", every_s)
    return trimmer
