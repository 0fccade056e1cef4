"""Failpoints: named places where a service can be made to die on purpose, for fault tests.

``TRADEGRAPH_FAILPOINTS=loader.after_insert=3`` makes the process SIGKILL itself the third time it
reaches ``hit("loader.after_insert")`` (several as ``a=1,b=2``). Unset, ``hit`` costs one dict lookup.
The variable is read once, the first time a failpoint is reached, never at import.
"""

from __future__ import annotations

import logging
import os
import signal
import threading

log = logging.getLogger(__name__)

_lock = threading.Lock()
_remaining: dict[str, int] | None = None


def _parse(spec: str) -> dict[str, int]:
    points: dict[str, int] = {}
    for item in filter(None, (part.strip() for part in spec.split(","))):
        name, _, count = item.partition("=")
        if not count.isdigit() or int(count) < 1:
            raise ValueError(
                f"TRADEGRAPH_FAILPOINTS entry {item!r} must be name=N with N >= 1, e.g. loader.after_insert=3"
            )
        points[name] = int(count)
    return points


def hit(name: str) -> None:
    """Die here (SIGKILL, no cleanup) if the failpoint ``name`` is armed and its count is reached."""
    global _remaining
    with _lock:
        if _remaining is None:
            _remaining = _parse(os.environ.get("TRADEGRAPH_FAILPOINTS", ""))
        if name not in _remaining:
            return
        _remaining[name] -= 1
        if _remaining[name] > 0:
            return
    log.warning("failpoint %s reached: killing this process", name)
    os.kill(os.getpid(), signal.SIGKILL)
