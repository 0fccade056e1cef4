"""The services' nice value (trading_assets/services/cpu_priority.py, TRADEGRAPH_SERVICE_NICE).

Each scenario runs in a child process in a session of its own: a nice value, once raised, cannot be
lowered again without the privilege, and the test process's own priority, and its session's autogroup,
must stay as they were.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from testkit.harness import ROOT
from trading_assets.services import cpu_priority
from trading_assets.services.cpu_priority import apply_service_nice, autogroup_nice, autogroups_on, thread_ids

pytestmark = pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="Linux keeps nice per thread")


def _run(script: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
        start_new_session=True,
    )


def test_every_thread_alive_and_every_later_one_gets_the_nice_value() -> None:
    # Arrange: a thread already running (as a client's network thread would be) before the value is set.
    script = """
        import json, os, threading
        from trading_assets.services.cpu_priority import apply_service_nice, autogroup_nice, thread_ids

        release = threading.Event()
        early = threading.Thread(target=release.wait)
        early.start()
        count = apply_service_nice(7)
        nices = [os.getpriority(os.PRIO_PROCESS, tid) for tid in thread_ids()]
        late_nice = []
        late = threading.Thread(target=lambda: late_nice.append(os.getpriority(os.PRIO_PROCESS, 0)))
        late.start()
        late.join()
        release.set()
        early.join()
        result = {"count": count, "nices": nices, "late": late_nice[0], "group": autogroup_nice()}
        print(json.dumps(result))
    """

    # Act
    done = _run(script)

    # Assert
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["count"] == 2
    assert result["nices"] == [7, 7]
    assert result["late"] == 7
    # Where sessions are scheduler groups, the session's weight is what counts against the other groups.
    assert result["group"] == (7 if autogroups_on() else None)


def test_unset_leaves_the_priority_as_started() -> None:
    # Arrange
    script = """
        import json, os
        from trading_assets.services.cpu_priority import apply_service_nice

        os.setpriority(os.PRIO_PROCESS, 0, 3)  # as if started under `nice -n 3`
        print(json.dumps({"count": apply_service_nice(None), "nice": os.getpriority(os.PRIO_PROCESS, 0)}))
    """

    # Act
    done = _run(script)

    # Assert
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"count": 0, "nice": 3}


def test_another_process_gets_the_value_on_all_its_threads() -> None:
    # Arrange: a child with two threads, as the bench renices the exchange and the broker.
    own_group = autogroup_nice()
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import threading, sys; threading.Thread(target=sys.stdin.read).start(); sys.stdin.read()",
        ],
        stdin=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 10
        while len(thread_ids(child.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)

        # Act
        count = apply_service_nice(5, child.pid)

        # Assert
        assert count == 2
        assert [os.getpriority(os.PRIO_PROCESS, tid) for tid in thread_ids(child.pid)] == [5, 5]
        assert autogroup_nice(child.pid) == (5 if autogroups_on() else None)
        assert autogroup_nice() == own_group  # this test's own session untouched
    finally:
        assert child.stdin is not None
        child.stdin.close()
        child.wait(timeout=10)


def test_a_priority_above_normal_without_the_privilege_fails_naming_the_setting_and_the_fix() -> None:
    # Arrange: an unprivileged process (root gives up its rights first) asks for -5.
    script = """
        import os
        import trading_assets.services.cpu_priority  # before the rights go: the checkout may be root's only
        from trading_assets.cli.common import apply_service_priority
        from trading_assets.core.settings import Settings

        settings = Settings()
        if os.geteuid() == 0:
            os.setgid(65534)
            os.setuid(65534)
        print(apply_service_priority("stream", settings))
    """

    # Act
    done = _run(script, env={"TRADEGRAPH_SERVICE_NICE": "-5", "TRADEGRAPH_HOME": "/tmp"})

    # Assert
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"
    assert "tradegraph stream: TRADEGRAPH_SERVICE_NICE=-5" in done.stderr
    assert "CAP_SYS_NICE" in done.stderr and "cap_add: [SYS_NICE]" in done.stderr


def test_a_process_that_does_not_lead_its_session_leaves_the_sessions_autogroup_alone() -> None:
    # Arrange: a child in this test's own session, as a service started from a shell would be.
    script = """
        import json, logging, os
        from trading_assets.services.cpu_priority import apply_service_nice, autogroup_nice

        logging.basicConfig(level=logging.WARNING)
        before = autogroup_nice()
        apply_service_nice(3)
        print(json.dumps({"before": before, "after": autogroup_nice(), "nice": os.getpriority(os.PRIO_PROCESS, 0)}))
    """
    own_group = autogroup_nice()

    # Act
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )

    # Assert
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["nice"] == 3
    assert result["before"] == result["after"] == own_group
    if autogroups_on() and own_group is not None:
        assert "is not its session's leader" in done.stderr
    else:
        # No autogroups, or the kernel's default group (a CI runner's jobs, in PID 1's session): nothing to warn of.
        assert "is not its session's leader" not in done.stderr


@pytest.mark.skipif(not autogroups_on(), reason="the kernel has no autogroups here")
def test_autogroup_changes_within_the_kernels_100_ms_limit_are_tried_again_not_failed() -> None:
    # Arrange: without CAP_SYS_ADMIN (root gives up its rights, and keeps its /proc files writable) the
    # kernel allows one autogroup change per 100 ms on the machine; two services starting together.
    script = """
        import ctypes, json, os, time
        from trading_assets.services.cpu_priority import apply_service_nice, autogroup_nice

        if os.geteuid() == 0:
            os.setgid(65534)
            os.setuid(65534)
            ctypes.CDLL(None).prctl(4, 1, 0, 0, 0)  # PR_SET_DUMPABLE: /proc/self owned by us again
        nice = os.getpriority(os.PRIO_PROCESS, 0)  # as started: raising it would need nothing, lowering would
        started = time.monotonic()
        apply_service_nice(nice)
        apply_service_nice(nice)
        print(json.dumps({"group": autogroup_nice() == nice, "waited": time.monotonic() - started}))
    """

    # Act
    done = _run(script)

    # Assert
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["group"] is True
    assert result["waited"] >= 0.09  # the second change waited out the kernel's limit


def test_a_process_in_the_kernels_default_group_has_no_autogroup_to_read_or_to_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # Arrange: /proc as the kernel shows a process started in the first process's session, which never
    # called setsid (a CI runner's job): autogroups on, its autogroup file empty (the scheduler's root
    # group), and not its session's leader.
    child = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    try:
        proc = tmp_path / "proc"
        (proc / "sys" / "kernel").mkdir(parents=True)
        (proc / "sys" / "kernel" / "sched_autogroup_enabled").write_text("1\n")
        (proc / str(child.pid) / "task" / str(child.pid)).mkdir(parents=True)
        (proc / str(child.pid) / "autogroup").write_text("")
        monkeypatch.setattr(cpu_priority, "_PROC", proc)
        monkeypatch.setattr(
            cpu_priority, "AUTOGROUP_ENABLED", proc / "sys" / "kernel" / "sched_autogroup_enabled"
        )

        # Act
        with caplog.at_level(logging.DEBUG, logger=cpu_priority.__name__):
            count = apply_service_nice(4, child.pid)

        # Assert: the thread is set; the empty group is neither read as a value nor written to, and no
        # warning says the value orders only a session's threads (in the root group it weighs across).
        assert count == 1
        assert os.getpriority(os.PRIO_PROCESS, child.pid) == 4
        assert autogroup_nice(child.pid) is None
        assert (proc / str(child.pid) / "autogroup").read_text() == ""
        assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
        assert "default group" in caplog.text
    finally:
        assert child.stdin is not None
        child.stdin.close()
        child.wait(timeout=10)
