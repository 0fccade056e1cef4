"""Run the rehearsal (see the package's docstring): ``python -m testkit.rehearsal --workdir DIR``."""

from __future__ import annotations

import argparse
import functools
import json
import logging
import subprocess
import sys
import time
import tomllib
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from testkit.rehearsal import __doc__ as DOC
from testkit.rehearsal.compose import (
    COMPOSE,
    DOCKER,
    ROOT,
    RUN_AS_IS,
    SELF_ADDRESSED,
    RehearsalError,
    command_of,
    env_file_values,
    environment_of,
    load_compose,
)
from testkit.rehearsal.dagster import http_status, liveness_check, webserver_report
from testkit.rehearsal.host import outgoing_peers, private_host
from testkit.rehearsal.stand_ins import mlflow_answers, row_count, start_stand_ins
from testkit.servers import PrometheusServer
from testkit.servers.base import port_open, stop_process_group, wait_until

log = logging.getLogger(__name__)


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
        stop_process_group(proc, 15, name=self.name)


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


def rehearse(
    workdir: Path, ticks_timeout_s: float, targets_timeout_s: float, compose: Path = COMPOSE
) -> dict[str, Any]:
    env = env_file_values()
    services = load_compose(env, compose)["services"]
    result: dict[str, Any] = {"services": {}}
    (workdir / "logs").mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        addr = stack.enter_context(private_host(services, workdir))
        result["addresses"] = addr
        pool = stack.enter_context(ThreadPoolExecutor(4))
        start_stand_ins(services, addr, workdir, stack, pool)

        # Every service whose command is one of the image's programs runs as it is: tradegraph's and
        # Dagster's (docker/Dockerfile) and MLflow's server (docker/mlflow/Dockerfile).
        runnable = {
            name: spec
            for name, spec in services.items()
            if spec.get("image") in RUN_AS_IS and command_of(spec)[0] in RUN_AS_IS[spec["image"]]
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

        # In compose order: MLflow and the simulators first (the executor, the streamer and the sources
        # service wait for them to be healthy), the executor last.
        start("mlflow")
        mlflow_ready = pool.submit(
            wait_until, lambda: http_status("http://mlflow:5000/health") == 200, 120, 1.0
        )
        simulators = {"exchange-sim": 8766, "energy-sim": 8780}
        for name, port in simulators.items():
            if name in runnable:
                start(name)
                host = addr[name]
                wait_until(functools.partial(port_open, port, host), 30)
        for name in sorted(set(runnable) - {*simulators, "mlflow", "executor"}):
            start(name)
        dagster = pool.submit(webserver_report, "http://dagster-webserver:3000", 180, 90)
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
        counts = [row_count(password, "ticks")]

        def stored() -> bool:
            counts.append(row_count(password, "ticks"))
            return counts[-1] > 0

        wait_until(stored, ticks_timeout_s, 2.0)
        time.sleep(5)
        counts.append(row_count(password, "ticks"))
        result["ticks"] = counts
        if "sources" in runnable:
            # The energy example's sources: ENTSO-E documents and the FTP drop, loaded into src_* tables.
            command = command_of(runnable["sources"])
            sources_file = ROOT / command[command.index("--file") + 1]
            names = [s["name"] for s in tomllib.loads(sources_file.read_text())["source"]]

            def source_rows() -> dict[str, int]:
                return {name: row_count(password, f"src_{name}") for name in names}

            wait_until(lambda: min(source_rows().values()) > 0, ticks_timeout_s, 2.0)
            result["source_rows"] = source_rows()

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
        result["dagster"] = dagster.result()
        daemon = runnable["dagster-daemon"]
        probe = daemon["healthcheck"]["test"][1:]  # ["CMD", "dagster-daemon", "liveness-check"]
        result["dagster"]["liveness_check"] = liveness_check(
            image_argv(probe), service_env(environment_of(daemon), "/data"), ROOT
        )
        result["mlflow_answers"] = mlflow_answers(workdir / "logs" / "mlflow.log")

        for name, svc in started.items():
            proc = svc.proc
            assert proc is not None
            alive = proc.poll() is None
            result["services"][name].update(
                alive=alive,
                returncode=proc.returncode,
                peers=outgoing_peers(proc.pid) if alive else {},
                log_tail=svc.log_path.read_text(errors="replace")[-3000:],
            )
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=DOC.splitlines()[0] if DOC else None)
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
