"""CPU load with no priority at all, for telling scheduling from the hardware (bench only).

``bench/scale.py --burn N`` runs N busy loops in place of the queries: each a process of its own session
(so its own autogroup) under ``SCHED_IDLE``, which the kernel runs only when nothing else wants the CPU.
A perfect priority for the ingest could do no better than that; whatever the ingest's latency still
loses beside them is what sharing the machine costs below the scheduler (caches, memory bandwidth, the
hypervisor's view of two busy vCPUs), which no setting of tradegraph or of the kernel's priorities moves.
"""

from __future__ import annotations

import os
import subprocess
import sys

_LOOP = "while True:\n    pass\n"


class IdleBurn:
    """``count`` busy loops at ``SCHED_IDLE``, started at once; :meth:`stop` ends them."""

    def __init__(self, count: int) -> None:
        self._processes = [
            subprocess.Popen([sys.executable, "-c", _LOOP], start_new_session=True) for _ in range(count)
        ]
        for process in self._processes:
            os.sched_setscheduler(process.pid, os.SCHED_IDLE, os.sched_param(0))

    def stop(self) -> None:
        """End the loops and wait for them."""
        for process in self._processes:
            process.kill()
        for process in self._processes:
            process.wait(timeout=10)
