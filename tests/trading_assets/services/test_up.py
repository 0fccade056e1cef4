"""``tradegraph up`` started in the background by a shell (SIGINT ignored, as `&` does): the UIs answer
and render in a headless browser (the Dagster UI's asset catalogue, the MLflow UI), and SIGINT or SIGTERM
stops every process of the session cleanly."""

from __future__ import annotations

import os
import re
import select
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from testkit.browser import rendered_dom
from testkit.servers.base import free_port, port_open


def _visible_text(dom: str) -> str:
    """The words a person sees: the DOM without scripts, styles and tags."""
    dom = re.sub(r"<(script|style|noscript)[^>]*>.*?</\1>", " ", dom, flags=re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", dom).split())


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status < 500)
    except OSError:
        return False


def _descendants(pid: int) -> set[int]:
    out = subprocess.run(
        ["ps", "-e", "-o", "pid=,ppid=,sid="], capture_output=True, text=True, check=True
    ).stdout
    rows = [tuple(int(v) for v in line.split()) for line in out.splitlines() if line.strip()]
    found, frontier = set(), {pid}
    while frontier:
        children = {p for p, parent, _ in rows if parent in frontier} - found
        found |= children
        frontier = children
    return found


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
def test_up_in_the_background_serves_both_uis_and_stops_everything_on_a_signal(
    tmp_path: Path, stop_signal: signal.Signals
) -> None:
    # Arrange: `tradegraph up &` from a non-interactive shell, whose background jobs ignore SIGINT
    dagster_port, mlflow_port, metrics_port = free_port(), free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRADEGRAPH_")}
    env["TRADEGRAPH_HOME"] = str(tmp_path / "home")
    command = (
        f"{sys.executable} -m trading_assets.cli up --dagster-port {dagster_port} --mlflow-port {mlflow_port} "
        f"--metrics-port {metrics_port} -- --rate 200 & echo $!; wait"
    )
    shell = subprocess.Popen(["bash", "-c", command], env=env, stdout=subprocess.PIPE, text=True)
    assert shell.stdout is not None
    up_pid = int(shell.stdout.readline())
    try:
        # Act: wait until `up` says it is up, check the UIs and metrics answer, then signal `up` alone
        lines: list[str] = []
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and not any("tradegraph is up" in line for line in lines):
            readable, _, _ = select.select([shell.stdout], [], [], 1.0)
            if readable:
                line = shell.stdout.readline()
                if not line:
                    break  # `up` ended: the assertions below show its output
                lines.append(line)
        urls = [f"http://127.0.0.1:{dagster_port}/", f"http://127.0.0.1:{mlflow_port}/"]
        ready = all(_answers(url) for url in urls) and port_open(metrics_port)
        # What a browser shows once the UIs' scripts ran (the server answering is not enough).
        dagster_assets = _visible_text(rendered_dom(f"http://127.0.0.1:{dagster_port}/assets"))
        mlflow_home = _visible_text(rendered_dom(f"http://127.0.0.1:{mlflow_port}/"))
        session = _descendants(up_pid)
        if shell.poll() is None:
            os.kill(up_pid, stop_signal)
        code = shell.wait(timeout=120)
        output = "".join(lines) + shell.stdout.read()
    finally:
        if shell.poll() is None:
            shell.kill()

    # Assert: it was up, then nothing of it is left and it said so
    assert ready, output
    # The Dagster UI lists the code location's assets (from its GraphQL API); MLflow's app rendered.
    assert {"tick_partition", "bars_1m", "trained_models", "paper_fills"} <= set(dagster_assets.split()), (
        dagster_assets[:2000]
    )
    assert "Experiments" in mlflow_home and "MLflow" in mlflow_home, mlflow_home[:2000]
    assert len(session) >= 3  # services, dagster dev (with its webserver and daemon), mlflow
    assert code == 0, output
    assert "tradegraph is up" in output and "tradegraph stopped: every process of the session ended" in output
    left = [
        pid
        for pid in session
        if os.path.exists(f"/proc/{pid}") and "zombie" not in Path(f"/proc/{pid}/status").read_text().lower()
    ]
    assert left == [], f"processes of the session still running: {left}"
    assert not any(port_open(port) for port in (dagster_port, mlflow_port, metrics_port))
