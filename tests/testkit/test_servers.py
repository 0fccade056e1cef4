"""The server launchers themselves: readiness, a clear error with the log when a server cannot start."""

import os
import signal
import subprocess
from pathlib import Path

import pytest
from clickhouse_driver import Client

from testkit.servers import ClickHouseServer, KafkaBroker, ServerStartError
from testkit.servers.base import ManagedServer, free_port, port_open, stop_process_group, wait_until


def test_clickhouse_fixture_serves_queries(clickhouse_server: ClickHouseServer) -> None:
    client = Client(host="127.0.0.1", port=clickhouse_server.tcp_port)
    try:
        version = client.execute("SELECT version()")[0][0]
    finally:
        client.disconnect()

    assert version.startswith("18.16")


def test_broker_fixture_accepts_connections(kafka_broker: KafkaBroker) -> None:
    assert port_open(kafka_broker.port)


def test_s3_and_mlflow_fixtures_are_ready(s3_server, mlflow_server) -> None:  # type: ignore[no-untyped-def]
    assert s3_server.is_ready()
    assert mlflow_server.is_ready()


class _Exits(ManagedServer):
    name = "exits"

    def command(self) -> list[str]:
        return ["sh", "-c", "echo 'bad config: port in use' >&2; exit 3"]

    def is_ready(self) -> bool:
        return False


def test_server_that_exits_early_raises_with_its_log(tmp_path: Path) -> None:
    with pytest.raises(ServerStartError) as error:
        _Exits(tmp_path).start()

    assert "exited with code 3" in str(error.value)
    assert "bad config: port in use" in str(error.value)


class _NeverReady(ManagedServer):
    name = "never-ready"
    ready_timeout_s = 0.5

    def command(self) -> list[str]:
        return ["sleep", "30"]

    def is_ready(self) -> bool:
        return False


def test_server_that_never_gets_ready_is_stopped_and_reported(tmp_path: Path) -> None:
    server = _NeverReady(tmp_path)

    with pytest.raises(ServerStartError, match="not ready within"):
        server.start()

    assert server.pid is None


def test_stopped_broker_frees_its_port_and_restarts_on_it(tmp_path: Path) -> None:
    broker = KafkaBroker(tmp_path, port=free_port()).start()
    try:
        pid = broker.pid
        broker.restart()

        assert broker.pid != pid and port_open(broker.port)
    finally:
        broker.stop()

    assert not port_open(broker.port)
    assert pid is not None
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def _gone(pid: int) -> bool:
    """Whether ``pid`` has ended: no such process, or a zombie waiting for whoever reaps orphans."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"


def test_a_process_group_that_ignores_sigterm_is_killed_whole_after_the_timeout() -> None:
    # The leader and its child both ignore SIGTERM (an ignored signal stays ignored across exec).
    proc = subprocess.Popen(
        ["sh", "-c", "trap '' TERM; sleep 30 & echo $!; wait"],
        stdout=subprocess.PIPE,
        start_new_session=True,
    )
    assert proc.stdout is not None
    child = int(proc.stdout.readline())

    stop_process_group(proc, 0.5, name="stubborn")

    assert proc.returncode == -signal.SIGKILL
    assert wait_until(lambda: _gone(child), timeout_s=5)
