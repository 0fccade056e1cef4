"""Start and stop real servers on 127.0.0.1 for tests and benchmarks: free ports, readiness, logs, cleanup.

Each server runs as a child process in its own process group, writes its log to a file under its work
directory, and is stopped with SIGTERM (then SIGKILL) when the context exits, when the interpreter exits,
and when the process receives SIGTERM. A server that does not become ready raises
:class:`ServerStartError` carrying the tail of its log.
"""

from __future__ import annotations

import atexit
import logging
import os
import signal
import socket
import subprocess
import time
import weakref
from collections.abc import Callable, Sequence
from pathlib import Path

log = logging.getLogger(__name__)

_LIVE: weakref.WeakSet[ManagedServer] = weakref.WeakSet()


class ServerStartError(RuntimeError):
    """A server did not become ready; the message carries its command and the tail of its log."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_open(port: int, host: str = "127.0.0.1", timeout_s: float = 0.2) -> bool:
    """Whether something accepts TCP connections on ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return True
    except OSError:
        return False


def tail(path: Path, lines: int = 40) -> str:
    """The last ``lines`` lines of a log file ('' when it does not exist)."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return ""


class ManagedServer:
    """A server child process with a readiness check; use as a context manager."""

    name: str = "server"

    def __init__(self, workdir: Path) -> None:
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.log_path = self.workdir / f"{self.name}.log"
        self._proc: subprocess.Popen[bytes] | None = None

    # Subclasses describe how to run and how to tell that the server is ready.
    def command(self) -> Sequence[str]:
        raise NotImplementedError

    def is_ready(self) -> bool:
        raise NotImplementedError

    def environment(self) -> dict[str, str]:
        return dict(os.environ)

    ready_timeout_s: float = 30.0

    @property
    def pid(self) -> int | None:
        """Process id of the running server, or None."""
        return None if self._proc is None else self._proc.pid

    def start(self) -> ManagedServer:
        """Start the process and wait until it is ready."""
        cmd = list(self.command())
        log.info("starting %s: %s (log %s)", self.name, " ".join(cmd), self.log_path)
        with open(self.log_path, "ab") as out:
            self._proc = subprocess.Popen(
                cmd,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=self.workdir,
                env=self.environment(),
                start_new_session=True,
            )
        _LIVE.add(self)
        self._wait_ready()
        return self

    def _wait_ready(self) -> None:
        assert self._proc is not None
        deadline = time.monotonic() + self.ready_timeout_s
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise ServerStartError(
                    f"{self.name} exited with code {self._proc.returncode} before it was ready.\n"
                    f"command: {' '.join(self.command())}\nlog {self.log_path}:\n{tail(self.log_path)}"
                )
            if self.is_ready():
                log.info("%s ready (pid %s)", self.name, self._proc.pid)
                return
            time.sleep(0.1)
        self.stop()
        raise ServerStartError(
            f"{self.name} was not ready within {self.ready_timeout_s:.0f} s.\n"
            f"command: {' '.join(self.command())}\nlog {self.log_path}:\n{tail(self.log_path)}"
        )

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop the process group: SIGTERM, then SIGKILL after ``timeout_s``."""
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        stop_process_group(proc, timeout_s, name=self.name)

    def kill(self) -> None:
        """SIGKILL the server (fault tests): no clean shutdown."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            _signal_group(proc, signal.SIGKILL)
            proc.wait(timeout=5)

    def restart(self) -> None:
        """Stop and start again with the same ports and data."""
        self.stop()
        self.start()

    def log_tail(self, lines: int = 40) -> str:
        """The end of the server's log, for failure messages."""
        return tail(self.log_path, lines)

    def __enter__(self) -> ManagedServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def stop_process_group(proc: subprocess.Popen[bytes], timeout_s: float, *, name: str) -> None:
    """Stop the process group ``proc`` leads (started with ``start_new_session=True``): SIGTERM, then
    SIGKILL after ``timeout_s``; ``name`` says who in the warning about the SIGKILL."""
    _signal_group(proc, signal.SIGTERM)
    try:
        proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        log.warning("%s ignored SIGTERM for %.0f s; killing it", name, timeout_s)
        _signal_group(proc, signal.SIGKILL)
        proc.wait(timeout=5)


def _signal_group(proc: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass  # already gone: nothing left to stop


def wait_until(check: Callable[[], bool], timeout_s: float, interval_s: float = 0.1) -> bool:
    """Poll ``check`` until it is true or ``timeout_s`` passes; return its last result."""
    deadline = time.monotonic() + timeout_s
    while True:
        if check():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval_s)


def stop_all() -> None:
    """Stop every server this process started (atexit and SIGTERM)."""
    for server in list(_LIVE):
        server.stop(timeout_s=5)


def _on_sigterm(signum: int, frame: object) -> None:
    stop_all()
    raise SystemExit(128 + signum)


def install_cleanup_handlers() -> None:
    """Stop servers at interpreter exit and on SIGTERM; call once from a test session or benchmark."""
    atexit.register(stop_all)
    if signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None):
        signal.signal(signal.SIGTERM, _on_sigterm)
