"""docker/ is validated here, not run: no Docker engine runs on the CI machines.

Beyond "it parses", the tests read the stack as a user would: no secret has a default or sits in a file,
the stack refuses to start without each one, every service is health-checked, restarted and memory-bounded,
the streamer is pointed at the simulated exchange it streams, and Prometheus scrapes each service on the
port and address its command really serves metrics on.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
import yaml
from prometheus_client import CollectorRegistry

from resources.clickhouse import ClickHouseWorkload
from resources.exchange_feed.registry import endpoints_from
from trading_assets.cli import build_parser
from trading_assets.core.settings import Settings
from trading_assets.services.metrics import (
    ExecutorMetrics,
    LoaderMetrics,
    StreamerMetrics,
    add_process_collectors,
)
from trading_assets.services.source_metrics import SourceLoaderMetrics, SourcePollerMetrics

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "docker"
COMPOSE = DOCKER / "compose.yaml"
ONE_SHOT = {"minio-init"}  # run to completion at every `up`; the others run for good
TRADEGRAPH_IMAGE = "tradegraph:latest"


def _require(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.fail(f"{tool} is missing: `bash scripts/setup.sh --test` installs it")
    return path


def _example() -> dict[str, str]:
    """The variables of docker/env.example and their placeholder values."""
    pairs = {}
    for line in (DOCKER / "env.example").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            pairs[name.strip()] = value.strip()
    return pairs


def _sentinels() -> dict[str, str]:
    """A distinct, recognisable value for every variable (what a filled docker/.env holds)."""
    return {name: f"sentinel-{name.lower().replace('_', '-')}-7f3a" for name in _example()}


def _compose(env: dict[str, str], tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env_file = tmp_path / "compose.env"
    env_file.write_text("".join(f"{name}={value}\n" for name, value in env.items()))
    # Nothing of the caller's environment may fill a variable the env file lacks.
    clean = {k: v for k, v in os.environ.items() if k not in _example() and not k.startswith("TRADEGRAPH_")}
    return subprocess.run(
        [_require("docker-compose"), "-f", str(COMPOSE), "--env-file", str(env_file), "config", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=clean,
    )


@pytest.fixture(scope="module")
def resolved(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The compose file as `docker-compose config` resolves it with every secret set."""
    result = _compose(_sentinels(), tmp_path_factory.mktemp("compose"))
    assert result.returncode == 0, result.stderr
    config: dict[str, Any] = yaml.safe_load(result.stdout)
    return config


def _services(resolved: dict[str, Any]) -> dict[str, dict[str, Any]]:
    services: dict[str, dict[str, Any]] = resolved["services"]
    return services


def _tradegraph_services(resolved: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: s for name, s in _services(resolved).items() if s.get("image") == TRADEGRAPH_IMAGE}


def _mounts(service: dict[str, Any]) -> dict[str, str]:
    """Container path -> host path of the bind mounts (short or long syntax, as compose versions print)."""
    mounts = {}
    for volume in service.get("volumes", []):
        if isinstance(volume, str):
            source, target = volume.split(":")[:2]
            if source.startswith(("/", ".")):
                mounts[target] = source
        elif volume.get("type") == "bind":
            mounts[volume["target"]] = volume["source"]
    return mounts


def _host_ips(service: dict[str, Any]) -> list[str]:
    """The host address of each published port ("" when published on every interface)."""
    ips = []
    for port in service.get("ports", []):
        if isinstance(port, dict):
            ips.append(str(port.get("host_ip", "")))
        else:
            parts = str(port).split(":")
            ips.append(parts[0] if len(parts) == 3 else "")
    return ips


def _command(service: dict[str, Any]) -> list[str]:
    command = service.get("command", [])
    return shlex.split(command) if isinstance(command, str) else list(command)


def _exported_metrics() -> set[str]:
    exported = set()
    served = CollectorRegistry()  # what serve_metrics adds to each service's registry
    add_process_collectors(served, ROOT)
    for registry in (
        StreamerMetrics().registry,
        LoaderMetrics().registry,
        ExecutorMetrics().registry,
        SourcePollerMetrics().registry,
        SourceLoaderMetrics().registry,
        served,
    ):
        for family in registry.collect():
            exported |= {sample.name for sample in family.samples}
            exported.add(family.name)
            # Labelled families have no samples until first use.
            if family.type == "counter":
                exported.add(f"{family.name}_total")
            if family.type == "histogram":
                exported |= {f"{family.name}_{suffix}" for suffix in ("bucket", "sum", "count")}
    return exported


# -- the file resolves, and only with every secret ----------------------------------------------------


def test_compose_file_is_valid_and_has_the_whole_stack(resolved: dict[str, Any]) -> None:
    assert {
        "kafka",
        "clickhouse",
        "minio",
        "minio-init",
        "postgres",
        "mlflow",
        "dagster-webserver",
        "dagster-daemon",
        "exchange-sim",
        "streamer",
        "loader",
        "executor",
        "energy-sim",
        "sources",
        "prometheus",
        "alertmanager",
        "grafana",
    } <= set(_services(resolved))


def test_env_example_names_every_variable_the_compose_file_requires_each_with_a_comment() -> None:
    text = "\n".join(line for line in COMPOSE.read_text().splitlines() if not line.lstrip().startswith("#"))
    required = set(re.findall(r"\$\{([A-Z0-9_]+):\?", text))
    lines = (DOCKER / "env.example").read_text().splitlines()
    uncommented = [
        line.partition("=")[0]
        for i, line in enumerate(lines)
        if "=" in line and not line.startswith("#") and (i == 0 or not lines[i - 1].startswith("#"))
    ]

    assert required == set(_example())
    assert uncommented == []
    # Every substitution in the file is a required one: no `${VAR}` that resolves to "" and no `${VAR:-x}`.
    assert re.findall(r"\$\{[A-Z0-9_]+(?![A-Z0-9_]*:\?)[^}]*\}", text) == []


@pytest.mark.parametrize("missing", sorted(_example()))
def test_compose_refuses_to_start_without_each_secret_and_names_it(missing: str, tmp_path: Path) -> None:
    env = {name: value for name, value in _sentinels().items() if name != missing}

    result = _compose(env, tmp_path)

    assert result.returncode != 0
    assert f"set {missing} in docker/.env (copy docker/env.example)" in result.stderr


def test_docker_env_is_git_ignored() -> None:
    result = subprocess.run(
        ["git", "check-ignore", "-q", "docker/.env"], cwd=ROOT, capture_output=True, timeout=30
    )

    assert result.returncode == 0, "docker/.env would be committed"


# -- no secret in a file ------------------------------------------------------------------------------


def test_no_placeholder_or_secret_value_is_written_in_any_docker_file(resolved: dict[str, Any]) -> None:
    values = set(_example().values())
    files = [p for p in DOCKER.rglob("*") if p.is_file() and p.name != "env.example"]
    found = {
        str(p.relative_to(DOCKER)): v for p in files for v in values if v in p.read_text(errors="ignore")
    }

    assert files
    assert found == {}


def test_every_secret_a_service_gets_comes_from_the_env_file(resolved: dict[str, Any]) -> None:
    secret_name = re.compile(r"PASSWORD|SECRET|TOKEN|PGPASS|API_KEY")
    sentinels = set(_sentinels().values())
    given = {
        (service, name): value
        for service, spec in _services(resolved).items()
        for name, value in (spec.get("environment") or {}).items()
        if secret_name.search(name)
    }

    assert given, "no service gets a secret?"
    assert {key: value for key, value in given.items() if value not in sentinels} == {}
    # Every secret of the env file reaches at least one service.
    assert set(given.values()) >= sentinels - {_sentinels()["MINIO_ROOT_USER"]}


def test_each_tradegraph_service_gets_only_the_secrets_it_uses(resolved: dict[str, Any]) -> None:
    def secrets(service: str) -> set[str]:
        env = _services(resolved)[service].get("environment") or {}
        return {name for name, value in env.items() if value in set(_sentinels().values())}

    assert secrets("streamer") == set()
    assert secrets("exchange-sim") == set()
    assert secrets("loader") == {"TRADEGRAPH_CLICKHOUSE_PASSWORD"}
    assert secrets("executor") == {"TRADEGRAPH_CLICKHOUSE_PASSWORD"}
    assert secrets("energy-sim") == {"ENTSOE_API_KEY", "ENERGY_FTP_PASSWORD"}
    assert secrets("sources") == {"TRADEGRAPH_CLICKHOUSE_PASSWORD", "ENTSOE_API_KEY", "ENERGY_FTP_PASSWORD"}
    assert secrets("prometheus") == secrets("alertmanager") == set()
    # The MinIO administrator stays with MinIO and its one-shot set-up.
    holders = {s for s in _services(resolved) if "MINIO_ROOT_PASSWORD" in secrets(s)}
    assert holders == {"minio", "minio-init"}


# -- least privilege ----------------------------------------------------------------------------------


def test_clickhouse_default_user_is_local_only_and_tradegraph_user_is_limited_to_its_database(
    resolved: dict[str, Any],
) -> None:
    users = ET.parse(DOCKER / "clickhouse" / "users.d" / "tradegraph.xml").getroot().find("users")
    assert users is not None
    default, tradegraph = users.find("default"), users.find("tradegraph")
    assert default is not None and tradegraph is not None
    clickhouse = _services(resolved)["clickhouse"]
    password = tradegraph.find("password")
    grants = [q.text for q in tradegraph.iterfind("grants/query")]

    assert {ip.text for ip in default.iterfind("networks/ip")} == {"::1", "127.0.0.1"}
    assert default.find("networks").get("replace") == "replace"  # type: ignore[union-attr]
    assert default.findtext("access_management") == "0"
    # The password is read from the container's environment, which the env file fills.
    assert password is not None and not (password.text or "").strip()
    assert (
        clickhouse["environment"][password.get("from_env")] == _sentinels()["CLICKHOUSE_TRADEGRAPH_PASSWORD"]
    )
    assert grants == ["GRANT ALL ON tradegraph.*"]
    assert clickhouse["environment"]["CLICKHOUSE_DB"] == "tradegraph"
    mounts = _mounts(clickhouse)
    assert mounts["/etc/clickhouse-server/users.d/tradegraph.xml"].endswith(
        "clickhouse/users.d/tradegraph.xml"
    )
    for service in ("loader", "executor", "dagster-daemon"):
        url = urlparse(_services(resolved)[service]["environment"]["TRADEGRAPH_CLICKHOUSE_URL"])
        assert (url.username, url.password, url.path) == ("tradegraph", None, "/tradegraph"), service


def test_clickhouse_dashboards_queries_yield_to_the_loaders_inserts() -> None:
    root = ET.parse(DOCKER / "clickhouse" / "users.d" / "tradegraph.xml").getroot()
    profile = root.find("profiles/dashboards")

    assert root.findtext("users/grafana/profile") == "dashboards"
    assert profile is not None and profile.findtext("profile") == "default"
    assert int(profile.findtext("priority") or 0) > ClickHouseWorkload().insert_priority
    assert profile.findtext("max_threads") == "1"


def test_every_service_has_a_cpu_weight_and_the_ingest_path_outweighs_the_analytics(
    resolved: dict[str, Any],
) -> None:
    services = _services(resolved)

    # On cgroup v2 a container without cpu_shares keeps the cgroup's default weight, not the conversion
    # of 1024: only weights set everywhere keep their ratios.
    weights = {name: service.get("cpu_shares") for name, service in services.items()}
    assert all(weight is not None for weight in weights.values()), weights

    ingest = [int(weights[name]) for name in ("kafka", "streamer", "loader", "executor")]
    analytics = [int(weights[name]) for name in ("dagster-daemon", "dagster-webserver", "mlflow", "grafana")]
    middle = int(weights["clickhouse"])
    assert min(ingest) >= 4 * middle > middle > max(analytics)


def test_clickhouse_can_lower_the_priority_the_code_location_and_grafana_ask_for_their_reads(
    resolved: dict[str, Any],
) -> None:
    clickhouse = _services(resolved)["clickhouse"]
    dockerfile = (DOCKER / "clickhouse" / "Dockerfile").read_text()
    daemon_env = _services(resolved)["dagster-daemon"]["environment"]
    dashboards = (
        ET.parse(DOCKER / "clickhouse" / "users.d" / "tradegraph.xml").getroot().find("profiles/dashboards")
    )

    # os_thread_priority needs CAP_SYS_NICE in the server process: in the container's bounding set, and
    # on the binary, since the image's entrypoint drops to an ordinary user (and with it the capabilities).
    assert "SYS_NICE" in clickhouse.get("cap_add", [])
    assert clickhouse["build"]["context"].endswith("docker/clickhouse")
    assert "FROM clickhouse/clickhouse-server:" in dockerfile
    assert "setcap cap_sys_nice=+ep" in dockerfile
    assert Settings.from_env(daemon_env).clickhouse_read_os_thread_priority == 19
    assert dashboards is not None and dashboards.findtext("os_thread_priority") == "19"


def test_minio_tradegraph_user_may_only_use_the_tradegraph_bucket(resolved: dict[str, Any]) -> None:
    policy = json.loads((DOCKER / "minio" / "tradegraph-bucket-policy.json").read_text())
    script = (DOCKER / "minio" / "init.sh").read_text()
    resources = {r for statement in policy["Statement"] for r in statement["Resource"]}
    actions = {a for statement in policy["Statement"] for a in statement["Action"]}
    init = _services(resolved)["minio-init"]

    assert {s["Effect"] for s in policy["Statement"]} == {"Allow"}
    assert resources == {"arn:aws:s3:::tradegraph", "arn:aws:s3:::tradegraph/*"}
    # Objects and listing only: no admin, no wildcard, no bucket creation or policy changes.
    assert actions <= {
        "s3:GetBucketLocation",
        "s3:ListBucket",
        "s3:ListBucketMultipartUploads",
        "s3:GetObject",
        "s3:PutObject",
        "s3:DeleteObject",
        "s3:AbortMultipartUpload",
        "s3:ListMultipartUploadParts",
    }
    assert "mc admin policy create local tradegraph-bucket /init/tradegraph-bucket-policy.json" in script
    assert 'mc admin user add local tradegraph "$MINIO_TRADEGRAPH_SECRET_KEY"' in script
    assert "mc admin policy attach local tradegraph-bucket --user tradegraph" in script
    assert init["entrypoint"] == ["/bin/sh", "/init/init.sh"]
    for service in ("dagster-daemon", "dagster-webserver", "mlflow"):
        assert _services(resolved)[service]["environment"]["AWS_ACCESS_KEY_ID"] == "tradegraph", service
        depends = _services(resolved)[service]["depends_on"]
        assert depends["minio-init"]["condition"] == "service_completed_successfully", service


def test_grafana_has_an_admin_password_from_the_env_and_no_anonymous_access(resolved: dict[str, Any]) -> None:
    env = _services(resolved)["grafana"]["environment"]

    assert env["GF_SECURITY_ADMIN_PASSWORD"] == _sentinels()["GRAFANA_ADMIN_PASSWORD"]
    assert env["GF_AUTH_ANONYMOUS_ENABLED"] == "false"


def test_published_ports_are_on_loopback_only(resolved: dict[str, Any]) -> None:
    published = [(name, ip) for name, spec in _services(resolved).items() for ip in _host_ips(spec)]

    assert published
    assert [(name, ip) for name, ip in published if ip != "127.0.0.1"] == []


def test_dagster_instance_stores_in_postgres_with_the_password_from_the_environment(
    resolved: dict[str, Any],
) -> None:
    from dagster._core.instance.config import dagster_instance_config

    config, _ = dagster_instance_config(str(DOCKER), "dagster.yaml")  # validates against Dagster's schema
    db = config["storage"]["postgres"]["postgres_db"]

    assert db["password"] == {"env": "DAGSTER_PG_PASSWORD"}
    assert (db["hostname"], db["username"], db["db_name"]) == ("postgres", "dagster", "dagster")
    # psycopg2 is the driver dagster-postgres installs; a bare postgresql:// would be psycopg 3.
    assert db["scheme"] == "postgresql+psycopg2"
    assert db["hostname"] in _services(resolved)
    for service in ("dagster-webserver", "dagster-daemon"):
        env = _services(resolved)[service]["environment"]
        assert env["DAGSTER_PG_PASSWORD"] == _sentinels()["DAGSTER_PG_PASSWORD"], service
    assert "dagster-postgres==" in (DOCKER / "Dockerfile").read_text()


def test_mlflow_server_keeps_runs_in_postgres_without_the_password_on_its_command_line(
    resolved: dict[str, Any],
) -> None:
    mlflow = _services(resolved)["mlflow"]
    command = _command(mlflow)
    backend = urlparse(command[command.index("--backend-store-uri") + 1])

    # The driver named: SQLAlchemy 2.1 reads a bare postgresql:// as psycopg 3, which the image lacks.
    assert (backend.scheme, backend.username, backend.password, backend.hostname) == (
        "postgresql+psycopg2",
        "mlflow",
        None,
        "postgres",
    )
    assert mlflow["environment"]["PGPASSWORD"] == _sentinels()["MLFLOW_PG_PASSWORD"]
    assert (
        _services(resolved)["postgres"]["environment"]["MLFLOW_PG_PASSWORD"]
        == _sentinels()["MLFLOW_PG_PASSWORD"]
    )


# -- every service is looked after --------------------------------------------------------------------


def test_every_service_has_a_healthcheck_a_restart_policy_and_a_memory_limit(
    resolved: dict[str, Any],
) -> None:
    problems = []
    for name, spec in _services(resolved).items():
        memory = spec.get("mem_limit") or spec.get("deploy", {}).get("resources", {}).get("limits", {}).get(
            "memory"
        )
        if not memory:
            problems.append(f"{name}: no memory limit")
        if name in ONE_SHOT:
            # Runs once and exits: retried when it fails, and whoever needs it waits for its success.
            if spec.get("restart") != "on-failure":
                problems.append(f"{name}: one-shot without restart on-failure")
            continue
        if spec.get("restart") not in ("always", "unless-stopped"):
            problems.append(f"{name}: restart {spec.get('restart')!r}")
        check = spec.get("healthcheck", {})
        if check.get("disable") or not check.get("test") or check["test"][0] not in ("CMD", "CMD-SHELL"):
            problems.append(f"{name}: no healthcheck")

    assert problems == []


def test_services_wait_for_what_they_need_to_be_healthy(resolved: dict[str, Any]) -> None:
    needs = {
        "streamer": {"kafka", "exchange-sim"},
        "loader": {"kafka", "clickhouse"},
        "executor": {"kafka", "clickhouse", "mlflow"},
        "sources": {"kafka", "clickhouse", "energy-sim"},
        "dagster-daemon": {"postgres", "clickhouse", "mlflow", "kafka"},
        "dagster-webserver": {"postgres", "clickhouse", "mlflow", "kafka"},
        "mlflow": {"postgres"},
    }
    for service, wanted in needs.items():
        depends = _services(resolved)[service]["depends_on"]
        assert {d for d in wanted if depends.get(d, {}).get("condition") == "service_healthy"} == wanted, (
            service
        )


def test_healthchecks_of_tradegraph_services_probe_the_ports_their_commands_serve(
    resolved: dict[str, Any],
) -> None:
    parser = build_parser()
    for name, spec in _tradegraph_services(resolved).items():
        command = _command(spec)
        probe = " ".join(spec["healthcheck"]["test"])
        if command[0] == "tradegraph" and command[1] in ("stream", "load", "execute", "sources"):
            port = parser.parse_args(command[1:]).metrics_port
            assert f"http://127.0.0.1:{port}/metrics" in probe, name
        elif command[:2] == ["tradegraph", "energy-sim"]:
            port = command[command.index("--port") + 1]
            assert probe.endswith(f"127.0.0.1 {port}"), name
        elif command[:2] == ["tradegraph", "exchange-sim"]:
            port = command[command.index("--rest-port") + 1]
            assert f"http://127.0.0.1:{port}/api/v3/ping" in probe, name


# -- wiring: what each service is told matches what the others serve ----------------------------------


def test_every_tradegraph_service_environment_is_valid_settings(resolved: dict[str, Any]) -> None:
    for name, spec in _tradegraph_services(resolved).items():
        Settings.from_env(spec.get("environment") or {})  # raises SettingsError naming the variable


def test_streamer_is_pointed_at_the_simulated_exchange_service_it_streams(resolved: dict[str, Any]) -> None:
    services = _services(resolved)
    streamer = services["streamer"]
    assert _command(streamer)[:2] == ["tradegraph", "stream"]
    settings = Settings.from_env(streamer["environment"])
    sim = _command(services["exchange-sim"])
    sim_ports = {"ws": int(sim[sim.index("--ws-port") + 1]), "http": int(sim[sim.index("--rest-port") + 1])}

    assert settings.venues == ("sim",)
    ws, rest = endpoints_from(settings, "sim")
    for url, kind in ((ws, "ws"), (rest, "http")):
        parsed = urlparse(url or "")
        assert (parsed.scheme, parsed.hostname, parsed.port) == (kind, "exchange-sim", sim_ports[kind]), url
    assert sim[sim.index("--host") + 1] == "0.0.0.0"  # reachable from the streamer's container


def test_every_scrape_target_is_a_compose_service_serving_metrics_on_that_port(
    resolved: dict[str, Any],
) -> None:
    services = _services(resolved)
    prometheus = yaml.safe_load((DOCKER / "prometheus" / "prometheus.yml").read_text())
    targets = {
        (job["job_name"], target)
        for job in prometheus["scrape_configs"]
        for static in job["static_configs"]
        for target in static["targets"]
    }
    parser = build_parser()
    clickhouse_xml = ET.parse(DOCKER / "clickhouse" / "config.d" / "prometheus.xml").getroot()
    clickhouse_mounts = set(_mounts(services["clickhouse"]))
    served: dict[str, int] = {}
    for name, spec in _tradegraph_services(resolved).items():
        command = _command(spec)
        if command[0] == "tradegraph" and "--metrics-port" in command:
            args = parser.parse_args(command[1:])
            # Prometheus runs in another container: loopback inside this one is out of its reach.
            assert args.metrics_host == "0.0.0.0", f"{name} serves metrics on {args.metrics_host}"
            served[name] = args.metrics_port
    if clickhouse_xml.findtext("prometheus/port"):
        assert "/etc/clickhouse-server/config.d/prometheus.xml" in clickhouse_mounts
        served["clickhouse"] = int(clickhouse_xml.findtext("prometheus/port") or 0)
    served["localhost"] = 9090  # Prometheus itself

    scraped = {}
    for job, target in targets:
        host, _, port = target.rpartition(":")
        assert host == "localhost" or host in services, f"job {job}: {host} is not a compose service"
        assert served.get(host) == int(port), f"job {job}: {host} does not serve metrics on {port}"
        scraped[host] = int(port)
    assert scraped == served  # and every service that serves metrics is scraped
    assert {"streamer", "loader", "executor", "clickhouse"} <= set(scraped)


def test_prometheus_sends_alerts_to_the_alertmanager_service(resolved: dict[str, Any]) -> None:
    prometheus = yaml.safe_load((DOCKER / "prometheus" / "prometheus.yml").read_text())
    (target,) = [
        t
        for am in prometheus["alerting"]["alertmanagers"]
        for s in am["static_configs"]
        for t in s["targets"]
    ]
    alertmanager = yaml.safe_load((DOCKER / "alertmanager" / "alertmanager.yml").read_text())
    mounts = set(_mounts(_services(resolved)["prometheus"]))

    assert target == "alertmanager:9093"
    assert alertmanager["route"]["receiver"] in {r["name"] for r in alertmanager["receivers"]}
    # The rule file is found beside the configuration, where compose mounts both.
    assert prometheus["rule_files"] == ["alerts.yml"]
    assert {"/etc/prometheus/prometheus.yml", "/etc/prometheus/alerts.yml"} <= mounts


# -- Prometheus, alert rules and dashboards -----------------------------------------------------------


def _promtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [_require("promtool"), *args], capture_output=True, text=True, timeout=60, cwd=DOCKER / "prometheus"
    )


def test_prometheus_config_is_valid() -> None:
    result = _promtool("check", "config", "prometheus.yml")

    assert result.returncode == 0, result.stdout + result.stderr


def test_alert_rules_are_valid() -> None:
    result = _promtool("check", "rules", "alerts.yml")

    assert result.returncode == 0, result.stdout + result.stderr


def test_alert_rules_fire_on_their_conditions_and_stay_quiet_otherwise() -> None:
    result = _promtool("test", "rules", "alerts_test.yml")

    assert result.returncode == 0, result.stdout + result.stderr


def test_alert_rules_cover_the_failures_operators_are_paged_for() -> None:
    rules = yaml.safe_load((DOCKER / "prometheus" / "alerts.yml").read_text())
    alerts = {r["alert"] for group in rules["groups"] for r in group["rules"]}

    assert {
        "TradegraphStreamStale",
        "TradegraphLoaderLag",
        "TradegraphGapRate",
        "TradegraphDeadLetterRate",
        "TradegraphExecutorHalted",
        "TradegraphDrawdownNearKillSwitch",
        "TradegraphModelStale",
        "TradegraphDiskAlmostFull",
        "TradegraphDiskFilling",
        "TradegraphMemoryGrowing",
        "TradegraphSourceFailing",
    } <= alerts


def test_alert_rules_use_only_metrics_the_services_export() -> None:
    rules = yaml.safe_load((DOCKER / "prometheus" / "alerts.yml").read_text())
    exprs = [r["expr"] for group in rules["groups"] for r in group["rules"]]
    used = {m for expr in exprs for m in re.findall(r"(?:tradegraph|process)_[a-z_0-9]+", expr)}

    assert used
    assert used <= _exported_metrics(), (
        f"alert rules use unknown metrics: {sorted(used - _exported_metrics())}"
    )


def test_grafana_dashboards_plot_only_metrics_the_services_export() -> None:
    files = sorted((DOCKER / "grafana" / "dashboards").glob("*.json"))
    dashboards = [json.loads(path.read_text()) for path in files]
    # PromQL targets (the SQL panels read the store's tables; tests/ops runs those on ClickHouse).
    exprs = [
        t["expr"]
        for d in dashboards
        for panel in d["panels"]
        for t in panel.get("targets") or []
        if "expr" in t
    ]
    used = {m for expr in exprs for m in re.findall(r"(?:tradegraph|process)_[a-z_0-9]+", expr)}

    assert used, "the dashboard plots nothing"
    assert used <= _exported_metrics(), (
        f"dashboard uses unknown metrics: {sorted(used - _exported_metrics())}"
    )


@pytest.mark.parametrize("script", ["postgres/init.sh", "minio/init.sh"])
def test_init_scripts_parse_and_are_executable(script: str) -> None:
    path = DOCKER / script
    result = subprocess.run(["sh", "-n", str(path)], capture_output=True, text=True, timeout=30)
    mode = subprocess.run(
        ["git", "ls-files", "-s", f"docker/{script}"], cwd=ROOT, capture_output=True, text=True, timeout=30
    ).stdout.split()

    assert result.returncode == 0, result.stderr
    # Postgres's entrypoint executes an executable *.sh (a plain one it would source into itself).
    assert mode and mode[0] == "100755", f"docker/{script} is not committed executable"
