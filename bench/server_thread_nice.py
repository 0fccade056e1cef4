"""The OS priority and the CPUs of a client's ClickHouse server threads, set from the client's host (bench
only).

A current ClickHouse lowers the OS priority of the threads that run a query by itself: the query setting
``os_thread_priority`` (the server needs ``CAP_SYS_NICE``), which the stores send with their reads when the
server knows it (:class:`resources.clickhouse.ClickHouseWorkload`). ClickHouse 18.16, the only server this
machine has, does not know it. This module does its work from outside for the bench, on the same host and
as a user allowed to renice the server (root here):

- 18.16 serves each client connection on one ``TCPHandler`` thread for the connection's life and runs a
  query's reading in an ``AsyncBlockInput`` thread that the handler thread starts per query (with
  ``max_threads`` 1, as the stores' reads run, that is the only thread doing the query's work). A thread
  created on Linux inherits its creator's nice value, so a handler thread at nice 19 runs every query of
  its connection at nice 19.
- The handler thread of a connection is found in ``system.query_thread_log`` (``master_os_thread_id`` of a
  probe query the connection runs with ``log_query_threads``), which the server's config must enable (the
  testkit launcher does).

The handler thread returns to the server's thread pool when its connection closes and may then serve
another client (the loader's inserts): :func:`restore` puts it back to nice 0 before the connection closes,
and :func:`reset_server_threads` puts every thread of the server back after a run.

The same thread carries the client's queries onto chosen CPUs (:func:`pin_clients`): with the bench's
``--cpu-split`` the ingest pipeline (the server included) runs on one core and the queries, with the server
threads serving them, on the other, as a deployment gives its analytics cores of their own.
"""

from __future__ import annotations

import gc
import os
import time
import uuid
from pathlib import Path

from clickhouse_driver import Client

_HANDLER_THREAD = """
SELECT master_os_thread_id FROM system.query_thread_log WHERE query_id = %(query_id)s LIMIT 1
"""


def handler_thread(client: Client) -> int:
    """The OS thread id of the server thread serving ``client``'s connection (connecting it first)."""
    query_id = f"tradegraph-bench-probe-{uuid.uuid4().hex}"
    client.execute("SELECT 1", settings={"log_queries": 1, "log_query_threads": 1}, query_id=query_id)
    # The server logs the handler thread once it has detached from the query, which may be after the
    # client has the result: flush and look again for a while.
    deadline = time.monotonic() + 10.0
    while time.monotonic() < deadline:
        client.execute("SYSTEM FLUSH LOGS")
        rows = client.execute(_HANDLER_THREAD, {"query_id": query_id})
        if rows:
            return int(rows[0][0])
        time.sleep(0.1)
    raise RuntimeError(
        "the server logged no thread for the probe query in 10 s: enable <query_thread_log> in its config"
    )


def client_threads() -> list[int]:
    """The OS thread ids of the server threads serving every clickhouse-driver client of this process."""
    return [handler_thread(obj) for obj in gc.get_objects() if isinstance(obj, Client)]


def renice_clients(nice: int, *, idle: bool = False) -> list[int]:
    """Set the server threads of every clickhouse-driver client of this process to ``nice`` (and, with
    ``idle``, to the ``SCHED_IDLE`` policy, inherited like nice); their ids."""
    threads = client_threads()
    for tid in threads:
        os.setpriority(os.PRIO_PROCESS, tid, nice)
        if idle:
            os.sched_setscheduler(tid, os.SCHED_IDLE, os.sched_param(0))
    return threads


def pin_clients(cpus: set[int]) -> list[int]:
    """Run the server threads of every clickhouse-driver client of this process on ``cpus`` only (the
    query threads they start inherit it, as they inherit nice); their ids."""
    threads = client_threads()
    for tid in threads:
        os.sched_setaffinity(tid, cpus)
    return threads


def unpin(threads: list[int], cpus: set[int]) -> None:
    """Put ``threads`` back on ``cpus`` (the server's own) before their connections close."""
    for tid in threads:
        try:
            os.sched_setaffinity(tid, cpus)
        except ProcessLookupError:
            continue  # the thread has ended (the server stopped)


def pin_process(cpus: set[int]) -> None:
    """Every thread of this process on ``cpus``; threads it starts later inherit it, and so do the
    processes it starts."""
    for task in Path("/proc/self/task").iterdir():
        try:
            os.sched_setaffinity(int(task.name), cpus)
        except ProcessLookupError:
            continue  # the thread ended since it was listed


def _normal(tid: int) -> None:
    """Thread ``tid`` back to the normal policy at nice 0."""
    os.sched_setscheduler(tid, os.SCHED_OTHER, os.sched_param(0))
    os.setpriority(os.PRIO_PROCESS, tid, 0)


def restore(threads: list[int]) -> None:
    """Put ``threads`` back to nice 0 and the normal policy (before their connections close)."""
    for tid in threads:
        try:
            _normal(tid)
        except ProcessLookupError:
            continue  # the thread has ended (the server stopped)


def reset_server_threads(pid: int) -> int:
    """Every thread of server process ``pid`` back to nice 0 and the normal policy; how many were not."""
    changed = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        tid = int(task.name)
        try:
            if os.getpriority(os.PRIO_PROCESS, tid) != 0 or os.sched_getscheduler(tid) != os.SCHED_OTHER:
                _normal(tid)
                changed += 1
        except ProcessLookupError:
            continue
    return changed
