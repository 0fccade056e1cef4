"""A sentinel secret in every secret-bearing variable never reaches an output (issue 11, security).

The platform runs as deployed, each service a real process, with a distinct sentinel in every secret:

- ``TRADEGRAPH_CLICKHOUSE_PASSWORD``: a real credential: this test's own ClickHouse 18.16 gives its
  ``default`` user that password (SHA-256 in its users.xml), so every service that stores must send it;
- ``FINNHUB_TOKEN``: a real credential: the simulated exchange is started with ``--finnhub-token`` and
  refuses a Finnhub client without it; the streamer streams venues ``sim`` and ``finnhub``;
- ``ENTSOE_API_KEY``: a real credential: the energy simulator (``tradegraph energy-sim``) refuses other
  tokens; the sources file gives it to an ``entsoe`` source as ``env:ENTSOE_API_KEY``;
- ``PRICES_API_KEY``: the ``X-Api-Key`` header of a ``rest`` source (``env:``), received by a listing
  server that records it (it does not check it); ``BROKEN_PRICES_URL``: a URL with ``?api_key=`` that
  nobody answers, so its errors are logged;
- ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN``: the archive's S3 keys, sent to
  moto, which does not check them;
- ``MLFLOW_TRACKING_USERNAME``/``MLFLOW_TRACKING_PASSWORD``/``MLFLOW_TRACKING_TOKEN``: MLflow's own
  credential variables, in the environment of every process; the registry is the embedded sqlite one
  (an MLflow server takes minutes to start on a loaded machine, too long for this test), so they are
  sent nowhere, only carried; a password inside ``TRADEGRAPH_MLFLOW_URI`` is checked in
  ``tradegraph settings`` and the Dagster UI below.

``tradegraph settings``, ``tradegraph stream``, ``load``, ``execute`` (Tansu bus, ClickHouse store and
service state, MLflow registry), ``tradegraph sources run`` and ``tradegraph energy-sim`` run; the Dagster
definitions load with the same environment and the ``day_pipeline`` job (seal, bars, archive to S3,
features) runs for the streamed day. Then every output is searched for every sentinel: each process's
stdout and stderr, each ``/metrics`` page (values and labels), every row of every ClickHouse table the
services wrote (ticks, heartbeats, service state, ledger, source tables), every file under the home, the
Dagster run's record and event log (materialization metadata included) and what the Dagster UI is
given (the repository snapshot with each resource's configured values).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator, Mapping
from contextlib import closing
from pathlib import Path

import boto3
import dagster as dg
import pytest
from clickhouse_driver import Client
from dagster._core.remote_representation.external_data import RepositorySnap
from dagster._serdes import serialize_value

from resources.model_registry.factory import ModelRegistryConfig, open_model_registry
from resources.service_state.factory import open_service_state
from resources.service_state.resource import ServiceStateResource
from testkit.exchange_sim import ExchangeSimProcess
from testkit.harness import Processes, TradegraphProcess
from testkit.listing_server import ListingServer
from testkit.servers import ClickHouseServer, KafkaBroker, S3Server, free_port
from testkit.servers.clickhouse import USERS_CONFIG
from trading_assets.core.settings import Settings
from trading_assets.definitions import build_definitions

pytestmark = [
    pytest.mark.slow,
    # Raised inside dagster 1.13 while it snapshots schedules for the UI.
    pytest.mark.filterwarnings(
        "ignore:Property `ScheduleDefinition.environment_vars` is deprecated:DeprecationWarning"
    ),
]

ROOT = Path(__file__).resolve().parents[3]
# Letters and digits only: a sentinel quoted into a URL, JSON or a log line stays the same text.
CORE = "tgsentinel" + uuid.uuid4().hex[:12]
SECRET_VARIABLES = (
    "TRADEGRAPH_CLICKHOUSE_PASSWORD",
    "FINNHUB_TOKEN",
    "ENTSOE_API_KEY",
    "PRICES_API_KEY",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "MLFLOW_TRACKING_USERNAME",
    "MLFLOW_TRACKING_PASSWORD",
    "MLFLOW_TRACKING_TOKEN",
)
SENTINELS = {name: f"{CORE}{i:02d}" for i, name in enumerate(SECRET_VARIABLES)}
# Secrets inside other values: a source URL's api_key, passwords in the ClickHouse and MLflow URLs.
SENTINELS["BROKEN_PRICES_URL api_key"] = f"{CORE}99"
SENTINELS["TRADEGRAPH_CLICKHOUSE_URL password"] = f"{CORE}98"
SENTINELS["TRADEGRAPH_MLFLOW_URI password"] = f"{CORE}97"
SYMBOLS = "BTCUSDT,ETHUSDT"
RUN_S = 10.0  # how long the services stream, poll and trade before they are stopped


def leaks(text: str) -> list[str]:
    """The secret variables whose sentinel is in ``text`` (the shared core finds any of them)."""
    if CORE not in text:
        return []
    found = [name for name, value in SENTINELS.items() if value in text]
    return found or ["(a sentinel's core)"]


def leak_report(outputs: Mapping[str, str]) -> dict[str, list[str]]:
    """Per output, the variables leaked into it (empty when nothing leaked), with the line."""
    report = {}
    for where, text in outputs.items():
        if leaks(text):
            lines = [line.strip()[:300] for line in text.splitlines() if CORE in line][:3]
            report[where] = [*leaks(text), *lines]
    return report


# --- the servers ---------------------------------------------------------------------------------


def _users_xml(path: Path, password: str) -> Path:
    """The system users.xml with the ``default`` user's empty password replaced by ``password``'s hash."""
    text = Path(USERS_CONFIG).read_text()
    digest = hashlib.sha256(password.encode()).hexdigest()
    assert "<password></password>" in text, f"{USERS_CONFIG} has no empty default password to replace"
    path.write_text(
        text.replace("<password></password>", f"<password_sha256_hex>{digest}</password_sha256_hex>", 1)
    )
    return path


@pytest.fixture(scope="module")
def clickhouse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClickHouseServer]:
    """A ClickHouse whose ``default`` user has the sentinel password."""
    workdir = tmp_path_factory.mktemp("clickhouse_pw")
    users = _users_xml(workdir / "users.xml", SENTINELS["TRADEGRAPH_CLICKHOUSE_PASSWORD"])
    with ClickHouseServer(workdir / "server", users_config=users) as server:
        yield server  # type: ignore[misc]


def _client(server: ClickHouseServer, password: str | None) -> Client:
    return Client(host="127.0.0.1", port=server.tcp_port, user="default", password=password or "")


def _log_text(path: Path) -> str:
    return path.read_text(errors="replace") if path.exists() else ""


def _scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        return str(response.read().decode())


def _scrape_when_up(name: str, port: int, diagnostics: Processes, timeout_s: float = 30.0) -> str:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return _scrape(port)
        except OSError as exc:
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"no metrics of {name} on port {port}: {exc}\n{diagnostics.diagnostics()}"
                ) from exc
            time.sleep(0.5)


def _wait(condition: object, what: str, timeout_s: float, diagnostics: Processes) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} within {timeout_s} s\n{diagnostics.diagnostics()}")
        time.sleep(0.5)


SOURCES_TOML = """
[[source]]
name = "entsoe_prices"
kind = "entsoe"
url = "{entsoe_url}"
security_token = "env:ENTSOE_API_KEY"
document_type = "A44"
area = "DE_LU"
start = "{start}"
poll_interval_s = 1

[[source]]
name = "listed_prices"
kind = "rest"
url = "{listing_url}"
columns = {{ t = "int64", area = "string", price = "float64" }}
time_column = "t"
key = ["area", "t"]
headers = {{ "X-Api-Key" = "env:PRICES_API_KEY" }}

[[source]]
name = "broken_prices"
kind = "rest"
url = "env:BROKEN_PRICES_URL"
columns = {{ t = "int64", area = "string", price = "float64" }}
time_column = "t"
key = ["area", "t"]
timeout_s = 2
"""


class Run:
    """What the platform printed, served and stored while it ran with the sentinels."""

    def __init__(self) -> None:
        self.outputs: dict[str, str] = {}
        self.facts: dict[str, object] = {}


@pytest.fixture(scope="module")
def platform_run(
    tmp_path_factory: pytest.TempPathFactory,
    clickhouse: ClickHouseServer,
    kafka_broker: KafkaBroker,
    s3_server: S3Server,
) -> Iterator[Run]:
    workdir = tmp_path_factory.mktemp("secrets")
    home = workdir / "home"
    database = f"sec_{uuid.uuid4().hex[:8]}"
    bucket = f"sec-{uuid.uuid4().hex[:8]}"
    boto3.client(
        "s3",
        endpoint_url=s3_server.endpoint_url,
        aws_access_key_id="x",
        aws_secret_access_key="x",
        region_name="us-east-1",
    ).create_bucket(Bucket=bucket)
    run = Run()
    processes = Processes()
    listing = ListingServer(page_size=50)
    now_us = int(time.time() * 1e6)
    listing.publish([{"t": now_us - i * 60_000_000, "area": "DE", "price": 50.0 + i} for i in range(5)])
    try:
        listing.__enter__()
        sim = ExchangeSimProcess(
            workdir / "sim",
            [
                "--symbols",
                *SYMBOLS.split(","),
                "--rate",
                "200",
                "--seed",
                "11",
                # Yesterday's trades: the day is a partition the day_pipeline job can run.
                "--start",
                f"{dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)}T12:00:00",
                "--finnhub-token",
                SENTINELS["FINNHUB_TOKEN"],
            ],
        )
        processes.start(sim)
        base_env = {
            **{name: SENTINELS[name] for name in SECRET_VARIABLES},
            "TRADEGRAPH_HOME": str(home),
            "TRADEGRAPH_BUS": "kafka",
            "TRADEGRAPH_KAFKA_BOOTSTRAP": kafka_broker.bootstrap,
            "TRADEGRAPH_STORE": "clickhouse",
            "TRADEGRAPH_SERVICE_STATE": "clickhouse",
            "TRADEGRAPH_CLICKHOUSE_URL": f"clickhouse://default@127.0.0.1:{clickhouse.tcp_port}/default",
            "TRADEGRAPH_CLICKHOUSE_DATABASE": database,
            "TRADEGRAPH_ARCHIVE": f"s3://{bucket}/ticks",
            "TRADEGRAPH_S3_ENDPOINT": s3_server.endpoint_url,
            "TRADEGRAPH_S3_REGION": "us-east-1",
            "TRADEGRAPH_VENUES": "sim,finnhub",
            "TRADEGRAPH_SYMBOLS": SYMBOLS,
            "TRADEGRAPH_SIM_WS_URL": sim.ws_url,
            "TRADEGRAPH_SIM_REST_URL": sim.rest_url,
            "TRADEGRAPH_FINNHUB_WS_URL": sim.finnhub_url,
            "BROKEN_PRICES_URL": f"http://127.0.0.1:{free_port()}/items?api_key={SENTINELS['BROKEN_PRICES_URL api_key']}",
        }

        energy = TradegraphProcess(
            workdir / "energy",
            name="energy-sim",
            service=None,
            env=base_env,
            args=["energy-sim", "--port", "0", "--no-ftp"],
        )
        processes.start(energy)
        _wait(
            lambda: '"entsoe_url"' in _log_text(energy.log_path), "energy-sim printed no URL", 30, processes
        )
        line = next(x for x in _log_text(energy.log_path).splitlines() if '"entsoe_url"' in x)
        entsoe_url = json.loads(line[line.index("{") :])["entsoe_url"]
        sources_file = workdir / "sources.toml"
        start = (dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)).isoformat()
        sources_file.write_text(
            SOURCES_TOML.format(entsoe_url=entsoe_url, start=start, listing_url=listing.url)
        )
        env = {**base_env, "TRADEGRAPH_SOURCES_FILE": str(sources_file)}

        # tradegraph settings: with the services' environment, and with passwords inside the URLs.
        for name, extra in {
            "settings": {},
            "settings (passwords in URLs)": {
                "TRADEGRAPH_CLICKHOUSE_URL": f"clickhouse://default:{SENTINELS['TRADEGRAPH_CLICKHOUSE_URL password']}@127.0.0.1:{clickhouse.tcp_port}/default",
                "TRADEGRAPH_MLFLOW_URI": f"http://tg:{SENTINELS['TRADEGRAPH_MLFLOW_URI password']}@127.0.0.1:5000",
            },
        }.items():
            done = subprocess.run(
                [sys.executable, "-m", "trading_assets.cli", "settings"],
                env={
                    **{k: v for k, v in os.environ.items() if not k.startswith("TRADEGRAPH_")},
                    **env,
                    **extra,
                    "PYTHONPATH": str(ROOT),
                },
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
            assert done.returncode == 0, done.stderr
            run.outputs[f"{name}: stdout"] = done.stdout
            run.outputs[f"{name}: stderr"] = done.stderr

        # The registry's schema made once before the executor opens it (as `tradegraph up` does): MLflow's
        # first migration of a sqlite file takes tens of seconds on a loaded machine.
        with closing(
            open_model_registry(ModelRegistryConfig.from_settings(Settings.from_env(env)))
        ) as registry:
            registry.get_alias("tradegraph-secrets", "champion")
        ports = {name: free_port() for name in ("streamer", "loader", "executor", "sources")}
        services = {
            "loader": TradegraphProcess(
                workdir / "loader",
                name="loader",
                service="loader",
                env=env,
                args=["load", "--metrics-port", str(ports["loader"])],
            ),
            "streamer": TradegraphProcess(
                workdir / "streamer",
                name="streamer",
                service="streamer",
                env=env,
                args=["stream", "--metrics-port", str(ports["streamer"])],
            ),
            "executor": TradegraphProcess(
                workdir / "executor",
                name="executor",
                service=None,
                env=env,
                args=[
                    "execute",
                    "--metrics-port",
                    str(ports["executor"]),
                    "--checkpoint-seconds",
                    "1",
                    "--model-poll-seconds",
                    "2",
                ],
            ),
            "sources": TradegraphProcess(
                workdir / "sources",
                name="sources",
                service=None,
                env=env,
                args=["sources", "run", "--metrics-port", str(ports["sources"]), "--poll-seconds", "1"],
            ),
        }
        for process in services.values():
            processes.start(process)
        db = _client(clickhouse, SENTINELS["TRADEGRAPH_CLICKHOUSE_PASSWORD"])

        def stored(venue: str) -> int:
            try:
                rows = db.execute(f"SELECT count() FROM {database}.ticks WHERE venue = %(v)s", {"v": venue})
            except Exception:
                return 0  # the table does not exist yet
            return int(rows[0][0])

        _wait(
            lambda: stored("sim") > 500 and stored("finnhub") > 100,
            "ticks of both venues not stored",
            90,
            processes,
        )
        time.sleep(RUN_S)
        for name, port in ports.items():
            run.outputs[f"/metrics of {name}"] = _scrape_when_up(name, port, processes)
        for name, process in services.items():
            run.facts[f"{name} exit"] = process.terminate(timeout_s=60)
        run.facts["stored"] = {venue: stored(venue) for venue in ("sim", "finnhub")}
        run.facts["tables"] = sorted(row[0] for row in db.execute(f"SHOW TABLES FROM {database}"))
        for (table,) in db.execute(f"SHOW TABLES FROM {database}"):
            if table == "ticks":
                rows = db.execute(f"SELECT * FROM {database}.ticks ORDER BY receive_time_us DESC LIMIT 20000")
            else:
                rows = db.execute(f"SELECT * FROM {database}.`{table}`")
            run.outputs[f"ClickHouse {database}.{table}"] = repr(rows)
        run.facts["listing headers"] = [headers.get("X-Api-Key") for _, headers in listing.requests]

        # The Dagster definitions with the same environment; the streamed day through day_pipeline.
        day = max(
            row[0]
            for row in db.execute(f"SELECT DISTINCT toDate(trade_time_us / 1000000) FROM {database}.ticks")
        )
        saved = dict(os.environ)
        os.environ.update(env)
        try:
            definitions = build_definitions(Settings.from_env(env))
            run.outputs["Dagster UI: repository snapshot"] = serialize_value(
                RepositorySnap.from_def(definitions.get_repository_def())
            )
            instance = dg.DagsterInstance.ephemeral()
            result = definitions.resolve_job_def("day_pipeline").execute_in_process(
                partition_key=day.isoformat(), instance=instance, raise_on_error=False
            )
            run.facts["day_pipeline success"] = result.success
            run.facts["materialized"] = sorted(
                event.asset_key.to_user_string()
                for event in result.get_asset_materialization_events()
                if event.asset_key is not None
            )
            run.outputs["Dagster run record"] = serialize_value(instance.get_run_by_id(result.run_id))
            run.outputs["Dagster event log"] = "\n".join(
                serialize_value(entry) for entry in instance.all_logs(result.run_id)
            )
        finally:
            os.environ.clear()
            os.environ.update(saved)
        run.facts["archived"] = [
            item["Key"]
            for item in boto3.client(
                "s3",
                endpoint_url=s3_server.endpoint_url,
                aws_access_key_id="x",
                aws_secret_access_key="x",
                region_name="us-east-1",
            )
            .list_objects_v2(Bucket=bucket)
            .get("Contents", [])
        ]
    finally:
        processes.close()
        listing.__exit__(None, None, None)
    for name, path in processes.logs.items():
        run.outputs[f"log of {name}"] = _log_text(path)
    for path in home.rglob("*"):
        if path.is_file():
            run.outputs[f"file {path.relative_to(home)}"] = path.read_bytes().decode(errors="replace")
    yield run


def test_the_sentinels_were_used_as_credentials(platform_run: Run) -> None:
    facts = platform_run.facts

    # ClickHouse took the password (it refuses others), the exchange the Finnhub token, the energy
    # simulator the ENTSO-E key; the listing server got the header; the archive went to S3.
    assert facts["stored"]["sim"] > 500 and facts["stored"]["finnhub"] > 100, facts  # type: ignore[index]
    assert "src_entsoe_prices" in facts["tables"] and "src_listed_prices" in facts["tables"], facts
    assert SENTINELS["PRICES_API_KEY"] in facts["listing headers"], facts  # type: ignore[operator]
    assert facts["day_pipeline success"] is True, facts
    assert {"tick_partition", "bars_1m", "tick_archive"} <= set(facts["materialized"]), facts  # type: ignore[call-overload]
    assert facts["archived"], facts
    assert {facts[f"{name} exit"] for name in ("streamer", "loader", "executor", "sources")} == {0}, facts


def test_no_sentinel_in_any_output(platform_run: Run) -> None:
    outputs = platform_run.outputs
    expected = (
        "settings: stdout",
        "settings (passwords in URLs): stdout",
        "/metrics of streamer",
        "/metrics of loader",
        "/metrics of executor",
        "/metrics of sources",
        "log of streamer",
        "log of loader",
        "log of executor",
        "log of sources",
        "log of energy-sim",
        "Dagster UI: repository snapshot",
        "Dagster run record",
        "Dagster event log",
    )
    assert not [name for name in expected if not outputs.get(name)], sorted(outputs)
    # The service state (heartbeats, restart state, cursors) and the ledger were written and searched.
    tables = {name.rsplit(".", 1)[1] for name in outputs if name.startswith("ClickHouse ")}
    assert {"ticks", "service_heartbeats", "service_restart_state", "risk_state"} <= tables, sorted(tables)

    assert leak_report(outputs) == {}


def test_a_wrong_clickhouse_password_is_refused(clickhouse: ClickHouseServer) -> None:
    # The sentinel is a real credential here: without it the server refuses.
    with pytest.raises(Exception, match=r"(?i)password|authentic"):
        _client(clickhouse, "not-the-password").execute("SELECT 1")


def test_service_state_on_clickhouse_signs_in_with_the_password_variable(
    clickhouse: ClickHouseServer, tmp_path: Path
) -> None:
    # TRADEGRAPH_CLICKHOUSE_PASSWORD is how the stores get the password; the service state (heartbeats,
    # restart state) ignored it and could not sign in to a ClickHouse with a password.
    settings = Settings.from_env(
        {
            "TRADEGRAPH_HOME": str(tmp_path),
            "TRADEGRAPH_SERVICE_STATE": "clickhouse",
            "TRADEGRAPH_CLICKHOUSE_URL": f"clickhouse://default@127.0.0.1:{clickhouse.tcp_port}/default",
            "TRADEGRAPH_CLICKHOUSE_DATABASE": f"state_{uuid.uuid4().hex[:8]}",
            "TRADEGRAPH_CLICKHOUSE_PASSWORD": SENTINELS["TRADEGRAPH_CLICKHOUSE_PASSWORD"],
        }
    )

    with open_service_state(settings) as state:
        beats = state.heartbeats("streamer")
    resource = ServiceStateResource.from_settings(settings)

    assert list(beats) == []
    assert isinstance(resource.clickhouse_password, dg.EnvVar)
    assert resource.clickhouse_password.env_var_name == "TRADEGRAPH_CLICKHOUSE_PASSWORD"
