"""Short garbage-collector pauses in the long-running services: the start-up heap moved out of the
collector's way.

CPython's cyclic collector pauses every thread of the process while it runs, and a full (generation 2)
collection walks every tracked object the process holds. A service holds about 130,000 of them after its
imports (pyarrow, kafka-python, the ClickHouse driver, the project), so each full collection paused the
streamer or the loader for 60-120 ms, once every few seconds at 5,000 ticks/s: the ticks in flight waited
that long (docs/BENCHMARKS.md, "What stalled a tick for 100 ms"). :func:`freeze_start_up_heap`, called
by the service commands once their clients are open and before their loop, collects what start-up left behind and then moves every
object still alive into the permanent generation (:func:`gc.freeze`), which later collections skip: they
walk only what the service made since, and take about a millisecond.

What it costs: an object alive at start-up that later becomes part of an unreachable cycle is never freed.
Start-up state (modules, settings, clients, metrics) lives as long as the process anyway. At exit the heap
is unfrozen again, so that the interpreter's last collections free it: extension modules that check for
leaks at shutdown (DuckDB's nanobind bindings) otherwise print a long "leaked" report at every exit.
"""

from __future__ import annotations

import atexit
import gc
import logging
import time

log = logging.getLogger(__name__)


def freeze_start_up_heap() -> int:
    """Collect once, then freeze every object alive (see the module docstring); return how many are
    frozen in all."""
    started = time.perf_counter()
    gc.collect()
    gc.freeze()
    atexit.unregister(gc.unfreeze)  # once, however often the heap is frozen
    atexit.register(gc.unfreeze)
    frozen = gc.get_freeze_count()
    log.debug(
        "start-up heap frozen: %d objects out of the collector's way (%.0f ms)",
        frozen,
        (time.perf_counter() - started) * 1000,
    )
    return frozen
