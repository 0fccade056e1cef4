"""CPU load with no priority at all, for telling scheduling from the hardware (bench only).

``bench/scale.py --burn N`` runs N busy loops in place of the queries: each a process of its own session
under ``SCHED_IDLE``, which the kernel runs only when nothing else wants the CPU, its session's autogroup
at nice 19.
A perfect priority for the ingest could do no better than that; whatever the ingest's latency still
loses beside them is what sharing the machine costs below the scheduler (caches, memory bandwidth, the
hypervisor's view of two busy vCPUs), which no setting of tradegraph or of the kernel's priorities moves.
"""

from __future__ import annotations

import os
import subprocess
import sys

from trading_assets.services.cpu_priority import AUTOGROUP_ENABLED, apply_service_nice, autogroups_on

# Each loop says "ready" once it is doing its work, so a measurement starts beside loops that run.
_LOOP = "print('ready', flush=True)\nwhile True:\n    pass\n"
# Streaming through 128 MB (beyond any last-level cache) again and again, as a ClickHouse read
# decompresses and scans: the caches and the memory bus busy, not only the CPU.
_MEMORY_LOOP = (
    "import numpy as np\ndata = np.ones(16_000_000)\ndata.sum()\nprint('ready', flush=True)\n"
    "while True:\n    data.sum()\n"
)
LOOPS = {"spin": _LOOP, "memory": _MEMORY_LOOP}
"""What a busy loop does: ``spin`` only the CPU, ``memory`` the caches and the memory bus too."""


class IdleBurn:
    """``count`` busy loops at ``SCHED_IDLE``, started at once; :meth:`stop` ends them."""

    def __init__(self, count: int, kind: str = "spin") -> None:
        self._processes = [
            subprocess.Popen(
                [sys.executable, "-c", LOOPS[kind]], start_new_session=True, stdout=subprocess.PIPE, text=True
            )
            for _ in range(count)
        ]
        for process in self._processes:
            # Its session's scheduler group (autogroup) at the lowest weight too: with autogroups on, a
            # group competes with the others at its group weight whatever its threads' policy.
            apply_service_nice(19, process.pid)
            os.sched_setscheduler(process.pid, os.SCHED_IDLE, os.sched_param(0))
        for process in self._processes:
            assert process.stdout is not None
            if process.stdout.readline().strip() != "ready":
                raise RuntimeError(f"busy loop {process.pid} ended before it started: exit {process.wait()}")

    @property
    def pids(self) -> list[int]:
        """The loops' process ids."""
        return [process.pid for process in self._processes]

    def stop(self) -> None:
        """End the loops and wait for them."""
        for process in self._processes:
            process.kill()
        for process in self._processes:
            process.wait(timeout=10)
            if process.stdout is not None:
                process.stdout.close()


def set_autogroups(enabled: bool) -> bool | None:
    """Turn the kernel's autogroups on or off (root); return the former state to restore, None where the
    kernel has none. With them on, every session is a scheduler group and a thread's nice value or
    ``SCHED_IDLE`` weighs only inside its session: a busy loop at ``SCHED_IDLE`` in a session of its own
    then delays other sessions' wake-ups (p99.9 2.7 ms against 0.2 ms, bench/cpu_sibling.py). A process
    keeps the group it had when it started."""
    if not AUTOGROUP_ENABLED.exists():
        return None
    before = autogroups_on()
    AUTOGROUP_ENABLED.write_text("1\n" if enabled else "0\n")
    return before


def set_realtime(priority: int | None, pid: int | None) -> None:
    """Every thread of process ``pid`` under ``SCHED_RR`` at ``priority`` (1-99; root or CAP_SYS_NICE;
    ``None``: leave it as started, as :func:`apply_service_nice` does), as ``chrt --all-tasks --rr --pid``
    does; threads it starts later inherit it. A real-time thread runs before every thread of the normal
    class as soon as it wakes, whatever the groups (autogroups, cgroups) weigh; the kernel keeps 5 % of
    each second for the normal class (``sched_rt_runtime_us``)."""
    if priority is None:
        return
    if pid is None:
        raise RuntimeError("SCHED_RR asked for a process that has not started (no pid)")
    done = subprocess.run(
        ["chrt", "--all-tasks", "--rr", "--pid", str(priority), str(pid)],
        check=False,
        capture_output=True,
        text=True,
        timeout=10,
    )
    if done.returncode != 0:
        raise RuntimeError(
            f"chrt could not put process {pid} under SCHED_RR {priority} (needs root or CAP_SYS_NICE, and "
            f"real-time time in its CPU cgroup): {done.stderr.strip()}"
        )
