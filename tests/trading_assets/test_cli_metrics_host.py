"""`--metrics-host`: the long-running commands serve their metrics on the address given (a container passes
0.0.0.0 so Prometheus in another container can scrape them) and on loopback only by default."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from testkit.servers import free_port
from testkit.servers.kafka import KafkaBroker
from trading_assets.cli import build_parser

# Any 127.0.0.0/8 address is on the loopback interface: a server bound to 127.0.0.2 answers there and
# refuses 127.0.0.1, so reaching it proves the option was honoured (the default would be the other way).
OTHER_HOST = "127.0.0.2"


def _scrape(host: str, port: int) -> str:
    with urllib.request.urlopen(f"http://{host}:{port}/metrics", timeout=2) as response:
        return str(response.read().decode())


def _wait_scrape(process: subprocess.Popen[bytes], host: str, port: int, timeout_s: float = 60.0) -> str:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return _scrape(host, port)
        except OSError as exc:
            if process.poll() is not None:
                pytest.fail(f"the command exited ({process.returncode}) before serving metrics: {exc}")
            if time.monotonic() > deadline:
                pytest.fail(f"no metrics on http://{host}:{port}/metrics after {timeout_s} s: {exc}")
            time.sleep(0.2)


@contextmanager
def _tradegraph(args: list[str], env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    code = "import sys; from trading_assets.cli import main; sys.exit(main())"
    process = subprocess.Popen(
        [sys.executable, "-c", code, *args],
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield process
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_metrics_host_defaults_to_loopback_on_every_long_running_command() -> None:
    parser = build_parser()

    hosts = {
        command: parser.parse_args([command, "--metrics-port", "9108"]).metrics_host
        for command in ("stream", "load", "execute", "run")
    }
    given = parser.parse_args(["stream", "--metrics-port", "9108", "--metrics-host", "0.0.0.0"])

    assert hosts == dict.fromkeys(("stream", "load", "execute", "run"), "127.0.0.1")
    assert given.metrics_host == "0.0.0.0"


def test_run_serves_streamer_and_loader_metrics_on_the_given_host(tmp_path: Path) -> None:
    port = free_port()
    args = ["run", "--no-executor", "--duration", "60", "--metrics-port", str(port)]

    with _tradegraph([*args, "--metrics-host", OTHER_HOST], {"TRADEGRAPH_HOME": str(tmp_path)}) as process:
        streamer = _wait_scrape(process, OTHER_HOST, port)
        loader = _wait_scrape(process, OTHER_HOST, port + 1)
        with pytest.raises(OSError):
            _scrape("127.0.0.1", port)

    assert "tradegraph_streamer_heartbeat_timestamp_seconds" in streamer
    assert "tradegraph_loader_rows_total" in loader


@pytest.mark.parametrize(
    ("command", "metric"),
    [
        ("stream", "tradegraph_streamer_heartbeat_timestamp_seconds"),
        ("load", "tradegraph_loader_rows_total"),
        ("execute", "tradegraph_executor_ticks_total"),
    ],
)
def test_service_serves_its_metrics_on_the_given_host(
    command: str, metric: str, kafka_broker: KafkaBroker, tmp_path: Path
) -> None:
    port = free_port()
    env = {
        "TRADEGRAPH_HOME": str(tmp_path),
        "TRADEGRAPH_BUS": "kafka",
        "TRADEGRAPH_KAFKA_BOOTSTRAP": kafka_broker.bootstrap,
        # Nothing listens here: the streamer keeps reconnecting, and serves its metrics meanwhile.
        "TRADEGRAPH_SIM_WS_URL": f"ws://127.0.0.1:{free_port()}",
        "TRADEGRAPH_SIM_REST_URL": f"http://127.0.0.1:{free_port()}",
    }

    with _tradegraph([command, "--metrics-port", str(port), "--metrics-host", OTHER_HOST], env) as process:
        served = _wait_scrape(process, OTHER_HOST, port)
        with pytest.raises(OSError):
            _scrape("127.0.0.1", port)

    assert metric in served
