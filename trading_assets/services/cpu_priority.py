"""The long-running services' CPU priority (Linux nice): the ingest ahead of the queries on a shared host.

On a host where ClickHouse serves analytics beside the ingest (one machine, or a small VM), a heavy read
(a day's bars from ticks, a week of one symbol's ticks) keeps a core busy for seconds, and the streamer
and the loader wait for CPU behind it: their p99 grows though nothing is wrong with them
(docs/BENCHMARKS.md, "The ingest's own priority"). ``TRADEGRAPH_SERVICE_NICE`` sets the nice value the
services give themselves at start: below 0 the kernel's scheduler hands them the CPU first whenever both
sides want it (nice -10 weighs about nine times nice 0), while the queries still get every cycle the
ingest leaves. Below 0 needs root or ``CAP_SYS_NICE``; raising it (1 to 19, the services behind
everything else) needs nothing.

Where the value takes effect:

- Linux keeps a nice value per thread, and a new thread inherits its creator's, so every thread alive is
  set (clients may have started theirs already) and every later one inherits the value.
- A thread's nice value weighs only against the threads of its own scheduler *task group*. With the
  kernel's autogroups on (``/proc/sys/kernel/sched_autogroup_enabled``, the default; they apply to
  processes outside any CPU cgroup) every session is such a group and shares the CPU equally with the
  others whatever its threads' nice values, so the value is also written to the process's autogroup
  (``/proc/<pid>/autogroup``) when the process leads its session (``setsid``; ``tradegraph up`` and the
  bench start each service so). A service started from a shell shares the shell's group, which is left
  alone (a warning says so).
- In a container or a systemd unit with a CPU controller, the cgroup's weight decides between groups
  (docker compose ``cpu_shares``, systemd ``CPUWeight=``; docs/SCALING.md), and the nice value only
  orders the threads inside it.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_fixed

log = logging.getLogger(__name__)

_PROC = Path("/proc")
AUTOGROUP_ENABLED = _PROC / "sys" / "kernel" / "sched_autogroup_enabled"
"""The kernel's switch of autogroups (``1``: on)."""


class ServiceNiceError(RuntimeError):
    """The nice value asked for could not be set (a value below 0 without the privilege)."""


def thread_ids(pid: int | None = None) -> list[int]:
    """The ids of the threads of process ``pid`` (default this one) on Linux, or just the process id
    where /proc is not there."""
    tasks = _PROC / ("self" if pid is None else str(pid)) / "task"
    if not tasks.is_dir():
        return [os.getpid() if pid is None else pid]
    return sorted(int(entry.name) for entry in tasks.iterdir())


def autogroups_on() -> bool:
    """Whether the kernel groups CPU time by session (autogroups), which makes nice values weigh only
    inside a session."""
    try:
        return AUTOGROUP_ENABLED.read_text().strip() == "1"
    except OSError:
        return False


def _autogroup_file(pid: int | None) -> Path | None:
    """``/proc/<pid>/autogroup`` of process ``pid`` (default this one), or None without autogroups."""
    group = _PROC / ("self" if pid is None else str(pid)) / "autogroup"
    return group if autogroups_on() and group.exists() else None


def _read_autogroup_nice(group: Path) -> int | None:
    """The nice value an autogroup file shows, or None for a process in no autogroup of its own.

    The file reads ``/autogroup-<n> nice <value>``, and nothing at all for a process in the kernel's
    default group: the first process's session where it never called ``setsid`` (session 0; a CI
    runner's jobs started in it, for one), whose processes the scheduler keeps in its root group, where
    their threads' nice values weigh directly against every session's group.
    """
    fields = group.read_text().split()
    return int(fields[-1]) if fields else None


def _refused(nice: int, exc: OSError) -> ServiceNiceError:
    return ServiceNiceError(
        f"TRADEGRAPH_SERVICE_NICE={nice}: the system refused to set it ({exc.strerror}); a value below 0, or "
        "below the one the process already has, needs root or the CAP_SYS_NICE capability (docker compose: "
        "cap_add: [SYS_NICE]). Grant it, or "
        "unset TRADEGRAPH_SERVICE_NICE to run at the priority the service started with"
    )


def _set_threads(nice: int, pid: int | None) -> int:
    """Set every thread of the process; list them again until no new one appears (a thread started
    meanwhile by one not yet set would keep the old value)."""
    done: set[int] = set()
    for _ in range(5):
        new = [tid for tid in thread_ids(pid) if tid not in done]
        if not new:
            break
        for tid in new:
            try:
                os.setpriority(os.PRIO_PROCESS, tid, nice)
            except ProcessLookupError:
                pass  # the thread ended between the listing and now
            except PermissionError as exc:
                raise _refused(nice, exc) from exc
            done.add(tid)
    return len(done)


def _set_autogroup(nice: int, pid: int | None) -> bool:
    """Set the autogroup of the process if it leads its session (else the group is its session's, shared
    with the processes that started it); return whether it was set."""
    group = _autogroup_file(pid)
    if group is None:
        return False
    target = os.getpid() if pid is None else pid
    if _read_autogroup_nice(group) is None:
        # In the root group, not a session's: the threads' nice values already weigh across the machine.
        log.debug("process %d is in the kernel's default group: no autogroup of its own to set", target)
        return False
    if os.getsid(target) != target:
        log.warning(
            "process %d is not its session's leader: its session's autogroup (shared with the processes "
            "that started it) keeps its nice value, so TRADEGRAPH_SERVICE_NICE orders only the threads "
            "of that session; start the service in a session of its own (setsid) for it to weigh against "
            "the rest of the machine",
            target,
        )
        return False
    # The kernel allows one autogroup change per 100 ms on the whole machine to a process without
    # CAP_SYS_ADMIN, and refuses the others with EAGAIN: services starting together try again.
    retrying = Retrying(
        retry=retry_if_exception_type(BlockingIOError),
        stop=stop_after_attempt(10),
        wait=wait_fixed(0.11),
        reraise=True,
    )
    try:
        retrying(group.write_text, f"{nice}\n")
    except PermissionError as exc:
        raise _refused(nice, exc) from exc
    return True


def apply_service_nice(nice: int | None, pid: int | None = None) -> int:
    """Give every thread of process ``pid`` (default this one), and its autogroup where the kernel has
    them and the process leads its session, nice value ``nice`` (``None``: leave the priority as
    started); return how many threads were set.

    Raises :class:`ServiceNiceError` naming the setting and the fix when the system refuses.
    """
    if nice is None:
        return 0
    count = _set_threads(nice, pid)
    grouped = _set_autogroup(nice, pid)
    log.info(
        "process %s: %d threads at nice %d%s",
        "self" if pid is None else pid,
        count,
        nice,
        ", and its session's autogroup" if grouped else "",
    )
    return count


def autogroup_nice(pid: int | None = None) -> int | None:
    """The nice value of process ``pid``'s autogroup (default this one's), or None without autogroups or
    for a process in the kernel's default group."""
    group = _autogroup_file(pid)
    if group is None:
        return None
    return _read_autogroup_nice(group)
