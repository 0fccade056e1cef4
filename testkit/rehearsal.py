"""A rehearsal of docker/compose.yaml without a Docker engine: its tradegraph services, run for real.

Run inside a private network and mount namespace (it refuses to run in the host's):

    unshare --net --mount --fork .venv/bin/python -m testkit.rehearsal --workdir DIR

It brings up loopback, gives every compose service an address 127.0.0.N in a private /etc/hosts (bind
mounted), and starts a stand-in for each third-party service on its address and compose port: ClickHouse
18.16 for ``clickhouse``, Tansu for ``kafka``, moto for ``minio``, an MLflow server for ``mlflow`` and
Prometheus with docker/prometheus/prometheus.yml as it is. Then it runs exchange-sim, streamer, loader and
executor with the compose file's own command and environment (the secrets from a test env file built from
docker/env.example), loads the Dagster definitions with the webserver's environment, and writes what it
saw to ``DIR/result.json``: tick counts in the store, each service's state and outgoing connections, the
definitions check and Prometheus's targets. Every process it started is stopped at the end.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import secrets
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import yaml

from testkit.servers import ClickHouseServer, KafkaBroker, MlflowServer, PrometheusServer, S3Server
from testkit.servers.base import ManagedServer, port_open, wait_until

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[1]
DOCKER = ROOT / "docker"
COMPOSE = DOCKER / "compose.yaml"
TRADEGRAPH_IMAGE = "tradegraph:latest"
# Prometheus scrapes itself as localhost:9090 (its own container), so it gets 127.0.0.1.
SELF_ADDRESSED = "prometheus"
# Folders of the image the compose file mounts volumes on; made (and removed after) when missing here.
VOLUME_MOUNTS = {"tradegraph-data": Path("/data")}

_VAR = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?([?-])([^}]*))?\}")


class RehearsalError(RuntimeError):
    """The rehearsal could not set itself up (not in a private namespace, a stand-in did not start)."""


def test_env() -> dict[str, str]:
    """A value for every variable of docker/env.example: what a filled docker/.env holds."""
    names = [
        line.partition("=")[0].strip()
        for line in (DOCKER / "env.example").read_text().splitlines()
        if "=" in line and not line.lstrip().startswith("#")
    ]
    return {name: f"rehearsal-{name.lower().replace('_', '-')}-{secrets.token_hex(4)}" for name in names}


def interpolate(value: Any, env: dict[str, str]) -> Any:
    """Compose's variable substitution (``${VAR}``, ``${VAR:-default}``, ``${VAR:?error}``, ``$$``)."""
    if isinstance(value, dict):
        return {key: interpolate(item, env) for key, item in value.items()}
    if isinstance(value, list):
        return [interpolate(item, env) for item in value]
    if not isinstance(value, str):
        return value

    def one(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name, kind, arg = match.groups()
        if env.get(name):
            return env[name]
        if kind == "?":
            raise RehearsalError(f"required variable {name} is missing a value: {arg}")
        return arg if kind == "-" else ""

    return _VAR.sub(one, value)


def load_compose(env: dict[str, str], path: Path = COMPOSE) -> dict[str, Any]:
    """docker/compose.yaml with its anchors merged and its variables resolved from ``env``."""
    config: dict[str, Any] = interpolate(yaml.safe_load(path.read_text()), env)
    return config


def environment_of(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.partition("=")[::2] for item in env)
    return {str(k): "" if v is None else str(v) for k, v in env.items()}


def command_of(service: dict[str, Any]) -> list[str]:
    command = service.get("command") or []
    return shlex.split(command) if isinstance(command, str) else [str(part) for part in command]


def addresses(services: dict[str, Any]) -> dict[str, str]:
    """Compose service name -> its loopback address (prometheus 127.0.0.1, the others 127.0.0.2...)."""
    names = sorted(name for name in services if name != SELF_ADDRESSED)
    return {SELF_ADDRESSED: "127.0.0.1", **{name: f"127.0.0.{i}" for i, name in enumerate(names, start=2)}}


def _in_private_namespaces() -> bool:
    """Whether this process has a network namespace of its own (only loopback) and a mount namespace
    other than its ancestors' (so the bind mounts stay here)."""
    interfaces = Path("/proc/self/net/dev").read_text().splitlines()[2:]
    if [line.split(":")[0].strip() for line in interfaces] != ["lo"]:
        return False
    mine, pid = os.readlink("/proc/self/ns/mnt"), os.getppid()
    while pid > 1:
        try:
            if os.readlink(f"/proc/{pid}/ns/mnt") != mine:
                return True
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            return False
        pid = int(stat.rsplit(")", 1)[1].split()[1])
    return False


def _run(*cmd: str) -> None:
    subprocess.run(cmd, check=True, capture_output=True, timeout=30)


class _Service:
    """A tradegraph process of the compose file, run as the image would run its command."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log_path: Path) -> None:
        self.name, self.argv, self.env, self.log_path = name, argv, env, log_path
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with open(self.log_path, "ab") as out:
            self.proc = subprocess.Popen(
                self.argv,
                cwd=ROOT,  # the image's WORKDIR holds the code and workspace.yaml
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)


def image_argv(command: list[str]) -> list[str]:
    """The image's executables (docker/Dockerfile installs the project: ``tradegraph``, ``dagster-*``)
    are this virtualenv's."""
    exe = Path(sys.executable).parent / command[0]
    if not exe.exists():
        raise RehearsalError(f"{command[0]} (the command {command}) is not an executable of the image")
    return [str(exe), *command[1:]]


def service_env(compose_env: dict[str, str], home: str) -> dict[str, str]:
    """The compose environment and what the image adds (PATH, PYTHONPATH for the code, HOME)."""
    venv_bin = str(Path(sys.executable).parent)
    return {
        "PATH": f"{venv_bin}:/usr/local/bin:/usr/bin:/bin",
        "PYTHONPATH": str(ROOT),
        "PYTHONUNBUFFERED": "1",
        "HOME": home,
        "LANG": "C.UTF-8",
        **compose_env,
    }


def _clickhouse_users(password: str) -> str:
    """users.xml of the stand-in: docker/clickhouse/users.d/tradegraph.xml in 18.16's terms (it has no
    ``from_env`` or ``grants``: the password is written here and the database limit is
    ``allow_databases``); ``default`` creates the database as the image's CLICKHOUSE_DB does."""
    from xml.sax.saxutils import escape

    quota = (
        "<interval><duration>3600</duration><queries>0</queries><errors>0</errors>"
        "<result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time></interval>"
    )
    return (
        '<?xml version="1.0"?>\n<yandex>\n'
        "<profiles><default><max_memory_usage>4000000000</max_memory_usage></default></profiles>\n"
        f"<quotas><default>{quota}</default></quotas>\n<users>\n"
        "<default><password></password><networks><ip>::/0</ip></networks>"
        "<profile>default</profile><quota>default</quota></default>\n"
        f"<tradegraph><password>{escape(password)}</password><networks><ip>::/0</ip></networks>"
        "<profile>default</profile><quota>default</quota>"
        "<allow_databases><database>tradegraph</database></allow_databases></tradegraph>\n"
        "</users>\n</yandex>\n"
    )


def _flag(command: list[str], flag: str) -> str | None:
    return command[command.index(flag) + 1] if flag in command else None


def start_stand_ins(
    services: dict[str, Any], addr: dict[str, str], workdir: Path, stack: ExitStack, pool: ThreadPoolExecutor
) -> Future[ManagedServer]:
    """ClickHouse, Tansu, moto and MLflow on their service's address and compose port, started at once;
    returns when all but MLflow (the slowest, needed only by the executor) are ready."""
    clickhouse_env = environment_of(services["clickhouse"])
    users = workdir / "clickhouse-users.xml"
    users.write_text(_clickhouse_users(clickhouse_env["CLICKHOUSE_TRADEGRAPH_PASSWORD"]))
    mlflow_command = command_of(services["mlflow"])
    mlflow_port = int(_flag(mlflow_command, "--port") or 5000)
    # The compose server's --allowed-hosts, plus the address the launcher's readiness probe uses.
    allowed = ",".join(
        filter(None, [_flag(mlflow_command, "--allowed-hosts"), f"{addr['mlflow']}:{mlflow_port}"])
    )
    stand_ins: dict[str, ManagedServer] = {
        "clickhouse": ClickHouseServer(
            workdir / "clickhouse", host=addr["clickhouse"], tcp_port=9000, http_port=8123, users_config=users
        ),
        "kafka": KafkaBroker(workdir / "kafka", host=addr["kafka"], port=9092, advertised_host="kafka"),
        "minio": S3Server(workdir / "minio", host=addr["minio"], port=9000),
        "mlflow": MlflowServer(
            workdir / "mlflow",
            host=addr["mlflow"],
            port=mlflow_port,
            allowed_hosts=allowed,
        ),
    }
    for server in stand_ins.values():
        stack.callback(server.stop)
    futures = {name: pool.submit(server.start) for name, server in stand_ins.items()}
    for name, future in futures.items():
        if name != "mlflow":
            future.result()
    # CLICKHOUSE_DB: the image creates the database at first start.
    import clickhouse_driver

    client = clickhouse_driver.Client(host="clickhouse", port=9000, user="default")
    client.execute(f"CREATE DATABASE IF NOT EXISTS {clickhouse_env['CLICKHOUSE_DB']}")
    client.disconnect()
    # minio-init: bucket tradegraph for the user tradegraph.
    import boto3

    minio_env = environment_of(services["minio-init"])
    boto3.client(
        "s3",
        endpoint_url="http://minio:9000",
        aws_access_key_id="tradegraph",
        aws_secret_access_key=minio_env["MINIO_TRADEGRAPH_SECRET_KEY"],
        region_name="us-east-1",
    ).create_bucket(Bucket="tradegraph")
    return futures["mlflow"]


def tick_count(password: str) -> int:
    """Rows in the tradegraph database's tick tables, read as the services' user."""
    import clickhouse_driver
    from clickhouse_driver.errors import Error as ClickHouseError

    client = clickhouse_driver.Client(
        host="clickhouse", port=9000, user="tradegraph", password=password, database="tradegraph"
    )
    try:
        tables = [row[0] for row in client.execute("SHOW TABLES")]
        ticks = [t for t in tables if t.startswith("ticks")]
        return sum(int(client.execute(f"SELECT count() FROM tradegraph.`{t}`")[0][0]) for t in ticks)
    except (ClickHouseError, OSError) as exc:  # -1 in the result; the rehearsal goes on
        log.warning("tick count failed: %s", exc)
        return -1
    finally:
        client.disconnect()


def outgoing_peers(pid: int) -> list[str]:
    """``ip:port`` of the established TCP connections of a process group the process dialled."""
    out = subprocess.run(
        ["ss", "-tnpH", "state", "established"], check=False, capture_output=True, text=True, timeout=10
    ).stdout
    listening = subprocess.run(
        ["ss", "-tlnpH"], check=False, capture_output=True, text=True, timeout=10
    ).stdout
    group = {str(p) for p in _group_pids(pid)}

    def mine(line: str) -> bool:
        return any(f"pid={p}," in line for p in group)

    own_ports = {line.split()[3].rsplit(":", 1)[1] for line in listening.splitlines() if mine(line)}
    peers = set()
    for line in out.splitlines():
        fields = line.split()
        if mine(line) and fields[2].rsplit(":", 1)[1] not in own_ports:
            peers.add(fields[3])
    return sorted(peers)


def _group_pids(pgid: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if os.getpgid(int(entry.name)) == pgid:
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


def load_definitions(env: dict[str, str], workdir: Path) -> dict[str, Any]:
    """What dagster-webserver/daemon do first: load the code location of workspace.yaml.

    Dagster's instance (docker/dagster.yaml, Postgres) has no stand-in here, so the check runs with a
    temporary DAGSTER_HOME; everything else is the service's compose environment.
    """
    home = workdir / "dagster-home"
    home.mkdir(exist_ok=True)
    argv = image_argv(["dagster", "definitions", "validate", "-w", "workspace.yaml"])
    result = subprocess.run(
        argv,
        check=False,
        cwd=ROOT,
        env={**service_env(env, "/data"), "DAGSTER_HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    return {"returncode": result.returncode, "output": (result.stdout + result.stderr)[-4000:]}


@contextmanager
def private_host(services: dict[str, Any], workdir: Path) -> Iterator[dict[str, str]]:
    """Loopback up, every service name on its own address in a private /etc/hosts, volumes mounted."""
    if os.geteuid() != 0 or not _in_private_namespaces():
        raise RehearsalError("run me as root inside `unshare --net --mount --fork`: I bind mount /etc/hosts")
    _run("ip", "link", "set", "lo", "up")
    addr = addresses(services)
    hosts = workdir / "hosts"
    lines = [f"{ip} {name}" + (" localhost" if ip == "127.0.0.1" else "") for name, ip in addr.items()]
    hosts.write_text("\n".join(lines) + "\n::1 localhost ip6-localhost\n")
    _run("mount", "--bind", str(hosts), "/etc/hosts")
    made: list[Path] = []
    try:
        for volume, target in VOLUME_MOUNTS.items():
            source = workdir / "volumes" / volume
            source.mkdir(parents=True, exist_ok=True)
            if not target.exists():
                target.mkdir(parents=True)
                made.append(target)
            _run("mount", "--bind", str(source), str(target))
        yield addr
    finally:
        for target in VOLUME_MOUNTS.values():
            subprocess.run(["umount", str(target)], check=False, capture_output=True, timeout=30)
        for target in made:
            target.rmdir()


def mlflow_answers(log_path: Path) -> dict[str, int]:
    """Status codes MLflow gave the services (its log's access lines, the launcher's probe left out)."""
    codes: dict[str, int] = {}
    for line in log_path.read_text(errors="replace").splitlines():
        match = re.search(r'"(?:GET|POST) (\S+) HTTP/[0-9.]+" (\d{3})', line)
        if match and "registered-models/search" not in match.group(1):
            codes[match.group(2)] = codes.get(match.group(2), 0) + 1
    return codes


def rehearse(
    workdir: Path, ticks_timeout_s: float, targets_timeout_s: float, compose: Path = COMPOSE
) -> dict[str, Any]:
    env = test_env()
    services = load_compose(env, compose)["services"]
    result: dict[str, Any] = {"services": {}}
    (workdir / "logs").mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        addr = stack.enter_context(private_host(services, workdir))
        result["addresses"] = addr
        pool = stack.enter_context(ThreadPoolExecutor(4))
        mlflow_ready = start_stand_ins(services, addr, workdir, stack, pool)

        runnable = {
            name: spec
            for name, spec in services.items()
            if spec.get("image") == TRADEGRAPH_IMAGE and command_of(spec)[0] == "tradegraph"
        }
        started: dict[str, _Service] = {}

        def start(name: str) -> None:
            spec = runnable[name]
            svc = _Service(
                name,
                image_argv(command_of(spec)),
                service_env(environment_of(spec), "/data"),
                workdir / "logs" / f"{name}.log",
            )
            stack.callback(svc.stop)
            svc.start()
            started[name] = svc
            result["services"][name] = {"command": command_of(spec)}

        # In compose order: the exchange first (the streamer waits for it to be healthy), the executor
        # last (it waits for MLflow).
        start("exchange-sim")
        wait_until(lambda: port_open(8766, addr["exchange-sim"]), 30)
        for name in sorted(set(runnable) - {"exchange-sim", "executor"}):
            start(name)
        dagster = [n for n, s in services.items() if command_of(s)[:1] == ["dagster-webserver"]]
        definitions = pool.submit(load_definitions, environment_of(services[dagster[0]]), workdir)
        mlflow_ready.result()
        if "executor" in runnable:
            start("executor")

        prometheus = PrometheusServer(
            workdir / "prometheus",
            targets={},
            host=addr[SELF_ADDRESSED],
            port=9090,
            config_file=DOCKER / "prometheus" / "prometheus.yml",
        )
        stack.callback(prometheus.stop)
        prometheus.start()

        password = environment_of(runnable["loader"])["TRADEGRAPH_CLICKHOUSE_PASSWORD"]
        counts = [tick_count(password)]

        def stored() -> bool:
            counts.append(tick_count(password))
            return counts[-1] > 0

        wait_until(stored, ticks_timeout_s, 2.0)
        time.sleep(5)
        counts.append(tick_count(password))
        result["ticks"] = counts

        def targets() -> list[dict[str, Any]]:
            active: list[dict[str, Any]] = prometheus.api("targets")["activeTargets"]
            return active

        def all_scraped() -> bool:
            now = targets()
            return bool(now) and all(t["health"] != "unknown" for t in now)

        wait_until(all_scraped, targets_timeout_s, 1.0)
        # A target down at its first scrape (a service still starting) gets one more round.
        wait_until(lambda: all(t["health"] == "up" for t in targets()), 20.0, 1.0)
        result["targets"] = {
            t["labels"]["job"]: {
                "instance": t["labels"]["instance"],
                "health": t["health"],
                "error": t["lastError"],
            }
            for t in targets()
        }
        result["definitions"] = {"service": dagster[0], **definitions.result()}
        result["mlflow_answers"] = mlflow_answers(workdir / "mlflow" / "mlflow.log")

        for name, svc in started.items():
            proc = svc.proc
            assert proc is not None
            alive = proc.poll() is None
            result["services"][name].update(
                alive=alive,
                returncode=proc.returncode,
                peers=outgoing_peers(proc.pid) if alive else [],
                log_tail=svc.log_path.read_text(errors="replace")[-3000:],
            )
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--ticks-timeout", type=float, default=60.0)
    parser.add_argument("--targets-timeout", type=float, default=45.0)
    parser.add_argument("--compose", type=Path, default=COMPOSE, help="another compose file (a broken copy)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    args.workdir.mkdir(parents=True, exist_ok=True)
    out = args.workdir / "result.json"
    try:
        result = rehearse(args.workdir, args.ticks_timeout, args.targets_timeout, args.compose)
    except Exception as exc:
        log.exception("rehearsal failed")
        out.write_text(json.dumps({"error": f"{type(exc).__name__}: {exc}"}))
        return 1
    out.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
