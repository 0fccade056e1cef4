"""``tradegraph up``: a live session on 127.0.0.1: the services, ``dagster dev`` and the MLflow UI together.

Each part is a child process in a session (process group) of its own:

- ``tradegraph run`` (simulated exchange, streamer, loader and paper executor) until stopped;
- ``tradegraph sources run`` when a sources file is set;
- ``dagster dev`` (webserver and daemon) on the project's workspace, its instance under the home;
- ``mlflow ui`` on the home's model registry.

Children start with SIGINT and SIGTERM at their defaults: a process started in the background by a
shell inherits SIGINT ignored, and ``dagster dev`` would then ignore a stop. :func:`up` installs its own
handlers before it starts a child (the caller's stop event), and a handled signal, unlike an ignored
one, is reset to its default by ``exec``, so no child inherits an ignored SIGINT. Ctrl-C or SIGTERM to ``up``
sends SIGTERM to every child's group (the services flush and exit cleanly), waits, and SIGKILLs what
is still running after the grace period. A child that exits by itself stops the session, with its log
named, so nothing runs half up.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from trading_assets.core.settings import Settings

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]
"""The project root (where workspace.yaml is)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class UpConfig:
    """What ``tradegraph up`` starts and where."""

    dagster_port: int = 3000
    """Port of the Dagster UI."""
    mlflow_port: int = 5000
    """Port of the MLflow UI."""
    metrics_port: int | None = 9108
    """Prometheus metrics of the services (streamer on it, loader on the next); None: none."""
    run_args: tuple[str, ...] = ()
    """Extra arguments of ``tradegraph run`` (e.g. ``--rate 500``)."""
    grace_s: float = 20.0
    """How long children may take to stop after SIGTERM before they are killed."""
    ready_timeout_s: float = 120.0
    """How long the UIs may take to answer before the session gives up."""


@dataclass(slots=True)
class Child:
    """One process of the session."""

    name: str
    args: list[str]
    log_path: Path
    url: str | None = None
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def start(self, env: Mapping[str, str]) -> None:
        """Start it in a session of its own, SIGINT and SIGTERM at their defaults, output to its log."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as out:
            self.process = subprocess.Popen(
                self.args,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=ROOT,
                env=dict(env),
                start_new_session=True,
            )

    def exited(self) -> int | None:
        """Its exit code once it ended, else None."""
        return None if self.process is None else self.process.poll()

    def signal(self, signum: int) -> None:
        """Send ``signum`` to its whole process group (dagster dev's webserver and daemon too)."""
        if self.process is not None and self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signum)
            except ProcessLookupError:
                pass  # it ended between the poll and the signal: nothing left to stop


def children(settings: Settings, config: UpConfig) -> list[Child]:
    """The processes of a session for ``settings``."""
    home = settings.home
    logs = home / "logs"
    python = sys.executable
    run = [python, "-m", "trading_assets.cli", "run", *config.run_args]
    if config.metrics_port is not None:
        run += ["--metrics-port", str(config.metrics_port)]
    made = [Child(name="services", args=run, log_path=logs / "services.log")]
    if settings.sources_file is not None:
        made.append(
            Child(
                name="sources",
                args=[python, "-m", "trading_assets.cli", "sources", "run"],
                log_path=logs / "sources.log",
            )
        )
    dagster = str(Path(python).with_name("dagster"))
    made.append(
        Child(
            name="dagster",
            args=[
                dagster,
                "dev",
                "-w",
                str(ROOT / "workspace.yaml"),
                "-h",
                "127.0.0.1",
                "-p",
                str(config.dagster_port),
            ],
            log_path=logs / "dagster.log",
            url=f"http://127.0.0.1:{config.dagster_port}",
        )
    )
    if settings.mlflow_uri.startswith("sqlite:"):
        # A registry on a server has its own UI; one in a file gets this one.
        made.append(
            Child(
                name="mlflow",
                args=[
                    str(Path(python).with_name("mlflow")),
                    "ui",
                    "--backend-store-uri",
                    settings.mlflow_uri,
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(config.mlflow_port),
                    # One worker is plenty for one person, and stops at once.
                    "--workers",
                    "1",
                ],
                log_path=logs / "mlflow.log",
                url=f"http://127.0.0.1:{config.mlflow_port}",
            )
        )
    return made


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status < 500)
    except OSError:
        return False


def up(
    settings: Settings,
    config: UpConfig,
    stop: threading.Event,
    *,
    dagster_home: Path,
    on_ready: Callable[[Sequence[Child]], None],
    environ: Mapping[str, str] | None = None,
) -> int:
    """Run the session until ``stop`` is set or a child exits; stop every child; return the exit code.

    ``dagster_home``: the Dagster instance folder (with its dagster.yaml); ``on_ready`` is called once
    every UI answers."""
    if signal.getsignal(signal.SIGINT) in (signal.SIG_IGN, signal.SIG_DFL):
        raise RuntimeError("install the stop handlers (runtime.stop_on_signals) before starting the session")
    env = {**(os.environ if environ is None else environ), "DAGSTER_HOME": str(dagster_home)}
    started = children(settings, config)
    code = 0
    try:
        for child in started:
            child.start(env)
            log.info(
                "started %s (pid %s): %s",
                child.name,
                child.process.pid if child.process else "-",
                child.log_path,
            )
        deadline = time.monotonic() + config.ready_timeout_s
        waiting = [child for child in started if child.url is not None]
        while waiting and not stop.is_set():
            waiting = [child for child in waiting if not _answers(child.url or "")]
            failed = _first_exited(started)
            if failed is not None:
                return _report_exit(failed)
            if time.monotonic() > deadline:
                names = ", ".join(f"{child.name} ({child.log_path})" for child in waiting)
                log.error("not answering after %.0f s: %s", config.ready_timeout_s, names)
                return 1
            stop.wait(0.5)
        if not stop.is_set():
            on_ready(started)
        while not stop.wait(0.5):
            failed = _first_exited(started)
            if failed is not None:
                code = _report_exit(failed)
                break
    finally:
        _stop_all(started, config.grace_s)
    return code


def _first_exited(started: Sequence[Child]) -> Child | None:
    return next((child for child in started if child.exited() is not None), None)


def _report_exit(child: Child) -> int:
    log.error(
        "%s exited with code %s; stopping the session (see %s)", child.name, child.exited(), child.log_path
    )
    return 1


def _stop_all(started: Sequence[Child], grace_s: float) -> None:
    for child in started:
        child.signal(signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    for child in started:
        if child.process is None:
            continue
        try:
            child.process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            log.warning("%s did not stop within %.0f s: killing it", child.name, grace_s)
            child.signal(signal.SIGKILL)
            child.process.wait(timeout=10)
    log.info("every process of the session ended")
