"""Every query is real: each expression of the generated dashboards and of the alert rules returns data
from a Prometheus scraping running services.

Real processes on 127.0.0.1: the simulated exchange (its clock an hour back and 30x fast, so 1-minute bars
close every 2 s), ``tradegraph stream`` -> Tansu -> ``tradegraph load`` -> ClickHouse, ``tradegraph
execute`` trading a registered champion with its ledger in ClickHouse, and ``tradegraph sources run``
polling the energy simulator's ENTSO-E API (``tradegraph energy-sim``) into its embedded store. Prometheus
(the Debian package, testkit/servers/prometheus.py) scrapes the four services every second with
docker/prometheus/alerts.yml loaded.

Dashboard expressions are evaluated as they are. An alert rule's expression is a condition, empty while
the alert does not fire, so the test evaluates the series the condition compares (tests/ops/promql.py:
the operands under ``or``, ``and``/``unless`` and the comparisons, number literals dropped; e.g.
``tradegraph_executor_drawdown > 0.8 * tradegraph_executor_kill_switch_drawdown_threshold`` yields both
sides) and the full expression only for parsing. Counters whose labels name a known set of values (denial
rules, dead-letter kinds, failure kinds, a loaded champion's version) start at 0 in the services, so a rate
over them has data before the first event, as the dashboards need.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
import uuid
from pathlib import Path

import pyarrow.compute as pc
import pytest
import yaml

from ops.dashboards import boards
from resources.model_registry.factory import ModelRegistryConfig, open_model_registry
from testkit.champions import register_champion
from testkit.exchange_sim import ExchangeSimProcess
from testkit.harness import Processes, TradegraphProcess, seed_streamer_state
from testkit.servers import ClickHouseServer, KafkaBroker, PrometheusServer, free_port
from testkit.servers.base import port_open, wait_until
from tests.ops.promql import underlying
from trading_assets.core.time import day_start_us
from trading_assets.market.simulation import MarketConfig, MarketSimulator

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
ALERTS = ROOT / "docker" / "prometheus" / "alerts.yml"
SYMBOLS = ("BTCUSDT", "ETHUSDT")
CHAMPION_SYMBOL = "BTCUSDT"
DATA_TIMEOUT_S = 120.0


def _alert_expressions() -> dict[str, str]:
    rules = yaml.safe_load(ALERTS.read_text())
    return {rule["alert"]: rule["expr"] for group in rules["groups"] for rule in group["rules"]}


def _queries() -> dict[str, str]:
    """What must return data: label (where it comes from) -> expression."""
    queries = {}
    for board in boards():
        for i, expr in enumerate(board.expressions()):
            queries[f"{board.file} #{i}: {expr}"] = expr
    for alert, expr in _alert_expressions().items():
        for i, series in enumerate(underlying(expr)):
            queries[f"alert {alert} operand {i}: {series.strip()}"] = series
    return queries


def _registry_uri(root: Path) -> str:
    """A sqlite MLflow registry whose champion for CHAMPION_SYMBOL is trained on a simulated day."""
    uri = f"sqlite:///{root / 'mlflow.db'}"
    day = dt.date(2026, 3, 2)
    config = MarketConfig(symbols=(CHAMPION_SYMBOL,), trades_per_second=30_000 / 86_400, seed=11)
    ticks = MarketSimulator(config=config, start_us=day_start_us(day)).generate(30_000)
    ticks = ticks.filter(pc.less(ticks["trade_time_us"], day_start_us(day + dt.timedelta(days=1))))
    register_champion(open_model_registry(ModelRegistryConfig(tracking_uri=uri)), ticks, CHAMPION_SYMBOL)
    return uri


def _sources_file(path: Path, energy_port: int) -> Path:
    start = (dt.datetime.now(dt.UTC).date() - dt.timedelta(days=2)).isoformat()
    path.write_text(
        "[[source]]\n"
        'name = "da_prices"\n'
        'kind = "entsoe"\n'
        f'url = "http://127.0.0.1:{energy_port}/api"\n'
        'security_token = "env:ENTSOE_API_KEY"\n'
        'document_type = "A44"\n'
        'area = "10Y1001A1001A82H"\n'
        f'start = "{start}"\n'
    )
    return path


def test_every_dashboard_and_alert_query_returns_data_from_the_running_services(
    tmp_path: Path, clickhouse_server: ClickHouseServer
) -> None:
    # Arrange: the services as processes, and Prometheus scraping them
    processes = Processes()
    home = tmp_path / "home"
    seed_streamer_state(home, SYMBOLS)
    ports = {job: free_port() for job in ("streamer", "loader", "executor", "sources")}
    energy_port = free_port()
    trained: dict[str, str | BaseException] = {}

    def train() -> None:
        try:
            trained["uri"] = _registry_uri(tmp_path)
        except BaseException as exc:  # reported below
            trained["error"] = exc

    # The champion trains (about a minute here, mostly MLflow) while the other processes start.
    trainer = threading.Thread(target=train, name="champion", daemon=True)
    trainer.start()
    try:
        prometheus = PrometheusServer(
            tmp_path / "prometheus",
            targets={job: [f"127.0.0.1:{port}"] for job, port in ports.items()},
            rule_files=[ALERTS],
        )
        processes.start(prometheus)
        token = {"ENTSOE_API_KEY": "ops-test-token", "TRADEGRAPH_HOME": str(tmp_path / "sources-home")}
        processes.start(
            TradegraphProcess(
                tmp_path / "energy",
                name="energy-sim",
                args=["energy-sim", "--port", str(energy_port), "--no-ftp"],
                env=token,
                service=None,
            )
        )
        assert wait_until(lambda: port_open(energy_port), timeout_s=30), processes.diagnostics()
        sources = _sources_file(tmp_path / "sources.toml", energy_port)
        sources_args = ["sources", "run", "--file", str(sources), "--poll-seconds", "1"]
        processes.start(
            TradegraphProcess(
                tmp_path / "sources",
                name="sources",
                args=[*sources_args, "--metrics-port", str(ports["sources"])],
                env=token,
                service=None,
            )
        )
        broker = KafkaBroker(tmp_path / "tansu")
        processes.start(broker)
        start = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S")
        sim = ExchangeSimProcess(
            tmp_path / "sim",
            ["--symbols", ",".join(SYMBOLS), "--rate", "200", "--speed", "30", "--start", start,
             "--wait-for-clients", "1", "--seed", "7"],
        )  # fmt: skip
        processes.start(sim)
        env = {
            "TRADEGRAPH_HOME": str(home),
            "TRADEGRAPH_BUS": "kafka",
            "TRADEGRAPH_KAFKA_BOOTSTRAP": broker.bootstrap,
            "TRADEGRAPH_STORE": "clickhouse",
            "TRADEGRAPH_CLICKHOUSE_URL": clickhouse_server.url,
            "TRADEGRAPH_CLICKHOUSE_DATABASE": f"ops_{uuid.uuid4().hex[:10]}",
            "TRADEGRAPH_VENUES": "sim",
            "TRADEGRAPH_SYMBOLS": ",".join(SYMBOLS),
            "TRADEGRAPH_SIM_WS_URL": sim.ws_url,
            "TRADEGRAPH_SIM_REST_URL": sim.rest_url,
        }
        for job, args, service in (
            ("loader", ["load"], "loader"),
            ("streamer", ["stream"], "streamer"),
            ("executor", ["execute", "--checkpoint-seconds", "1", "--model-poll-seconds", "5"], None),
        ):
            if job == "executor":
                trainer.join(timeout=300)
                assert "uri" in trained, f"no champion: {trained.get('error')!r}"
                env = {**env, "TRADEGRAPH_MLFLOW_URI": str(trained["uri"])}
            processes.start(
                TradegraphProcess(
                    tmp_path / job,
                    name=job,
                    args=[*args, "--metrics-port", str(ports[job])],
                    env=env,
                    service=service,
                )
            )
        queries = _queries()

        # Act: wait until every target is up and every query has data (or the time is up)
        assert wait_until(
            lambda: set(prometheus.target_health().values()) == {"up"}, timeout_s=60, interval_s=1
        ), f"targets: {prometheus.target_health()}\n{processes.diagnostics()}"
        empty = dict(queries)
        deadline = time.monotonic() + DATA_TIMEOUT_S
        while empty and time.monotonic() < deadline:
            empty = {label: expr for label, expr in empty.items() if not prometheus.query(expr)}
            if empty:
                time.sleep(2)

        # Assert
        assert len(queries) > 70
        assert empty == {}, (
            f"{len(empty)} of {len(queries)} queries returned no data:\n"
            + "\n".join(sorted(empty))
            + f"\n{processes.diagnostics()}"
        )
        # The full alert expressions parse and evaluate (their results are empty unless firing).
        for alert, expr in _alert_expressions().items():
            prometheus.query(expr)  # raises on an error
        assert set(prometheus.target_health().values()) == {"up"}
    finally:
        processes.close()
