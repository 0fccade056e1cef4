"""The Dagster UI as the README starts it: ``dg dev`` serves the tradegraph code location, its GraphQL
API shows the asset graph (groups, descriptions, lineage, daily partitions, checks), the sensors and the
schedules, and a partition run launched through it succeeds with its metadata and checks.

One ``dg dev`` (webserver + daemon, about 10 s to start) serves the whole module, over an embedded tick
store holding two closed days of the simulated exchange, which stays up as the venue whose REST history
the seal consults. The first day was sealed before the UI started by the demo's own code (a run of the
``day_pipeline`` job); the daemon's day-closed sensor must leave it alone and seal only the second.
Runs are queued one at a time (the instance's dagster.yaml is the project's template), so the sensor's
run and the test's runs never overlap.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import pyarrow as pa
import pytest
import requests

from resources.exchange_feed.registry import build_history
from resources.exchange_feed.venue import VenueConfig
from resources.tick_store.factory import TickStoreConfig, open_tick_store
from testkit.servers import free_port
from trading_assets.core.time import day_bounds_us
from trading_assets.demo_graph import INSTANCE_YAML, materialize_days
from trading_assets.services.exchange_sim import ExchangeSim, ExchangeSimConfig

pytestmark = pytest.mark.slow

REPO_ROOT = Path(__file__).resolve().parents[2]
DAY = dt.date(2024, 6, 3)
"""Sealed by the demo's code before the UI starts."""
DAY2 = DAY + dt.timedelta(days=1)
"""Left for the day-closed sensor."""
TICKS = 20_000
SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT", "ADAUSDT", "XRPUSDT")
LOCATION = "tradegraph"
REPOSITORY = "__repository__"
START_TIMEOUT_S = 60.0
RUN_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 15.0
_TERMINAL = {"SUCCESS", "FAILURE", "CANCELED"}

P = ParamSpec("P")
R = TypeVar("R")


@dataclass
class DagsterDev:
    """A running ``dagster dev`` process group and its GraphQL endpoint."""

    process: subprocess.Popen[bytes]
    url: str
    log_path: Path

    def log_tail(self, lines: int = 60) -> str:
        """The end of the webserver's and daemon's combined output."""
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no log written)"

    def graphql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """``data`` of one GraphQL request; a GraphQL or HTTP error fails with the server's answer."""
        response = requests.post(
            f"{self.url}/graphql", json={"query": query, "variables": variables or {}}, timeout=30
        )
        assert response.status_code == 200, f"GraphQL HTTP {response.status_code}: {response.text[:2000]}"
        body = response.json()
        assert not body.get("errors"), f"GraphQL errors: {body['errors']}"
        return body["data"]

    def stop(self) -> None:
        """SIGTERM the process group (webserver, daemon, code servers, run workers) and wait until every
        member is gone; SIGKILL the group if any is still there after STOP_TIMEOUT_S."""
        deadline = time.monotonic() + STOP_TIMEOUT_S
        _signal_group(self.process, signal.SIGTERM)
        # The code server and run workers outlive dagster dev itself by a second or two: wait for the group.
        while _group_alive(self.process) and time.monotonic() < deadline:
            self.process.poll()  # reap the leader, or its zombie keeps the group alive
            time.sleep(0.1)
        if _group_alive(self.process):
            _signal_group(self.process, signal.SIGKILL)
        self.process.wait(timeout=5)


def _group_alive(process: subprocess.Popen[bytes]) -> bool:
    """Whether any process of ``process``'s group (its own session) still exists."""
    try:
        os.killpg(process.pid, 0)
    except ProcessLookupError:
        return False
    return True


def _signal_group(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    try:
        os.killpg(process.pid, sig)
    except ProcessLookupError:
        pass  # the group is gone already


# A process started in the background inherits an ignored SIGINT, and dagster dev copies that handler to
# its children, which then ignore SIGTERM as well (docs/MEASUREMENTS.md). So the default SIGINT handler is restored
# before dagster starts: by this tiny trampoline rather than a ``preexec_fn``, which runs Python between
# fork and exec and is unsafe while other threads run (the simulated exchange's thread does).
_WITH_DEFAULT_SIGINT = [
    sys.executable,
    "-c",
    "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); os.execv(sys.argv[1], sys.argv[1:])",
]


def with_server_log(test: Callable[P, R]) -> Callable[P, R]:
    """Attach the tail of the dagster dev log to any failure of ``test`` (it takes ``dagster_dev``)."""

    @functools.wraps(test)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return test(*args, **kwargs)
        except Exception as exc:
            server = kwargs.get("dagster_dev")
            if isinstance(server, DagsterDev):
                exc.add_note(f"--- dagster dev log ({server.log_path}), last lines ---\n{server.log_tail()}")
            raise

    return wrapper


@pytest.fixture(scope="module")
def venue() -> Iterator[tuple[str, pa.Table]]:
    """The simulated exchange after it printed TICKS trades over DAY's last and DAY2's first hours, and
    every one of them via REST.

    It stays up while the UI runs: sealing a day asks the venue's REST history for trades past the
    day's first and last ids, and this venue's history matches the stored days, so there is nothing to add.
    """
    start_us, _ = day_bounds_us(DAY)
    _, end_us = day_bounds_us(DAY2)
    # 20,000 trades over four exchange hours from 22:00 across midnight, played in about a wall second.
    config = ExchangeSimConfig(
        symbols=SYMBOLS, rate=20_000, speed=14_400, start_us=start_us + 22 * 3_600_000_000, max_trades=TICKS
    )
    with ExchangeSim(config) as sim:
        deadline = time.monotonic() + 30
        while not sim.stats()["finished"]:
            assert time.monotonic() < deadline, "the simulated exchange did not finish within 30 s"
            time.sleep(0.05)
        history = build_history(VenueConfig(venue="sim", rest_url=sim.rest_url))
        assert history is not None
        last_ids = {symbol: sim.stats()["symbols"][symbol]["last_id_emitted"] for symbol in SYMBOLS}
        pages = [
            page.ticks for symbol in SYMBOLS for page in history.trades_by_id(symbol, 1, last_ids[symbol])
        ]
        history.close()
        ticks = pa.concat_tables(pages)
        times = ticks["trade_time_us"].to_numpy()
        assert ticks.num_rows == TICKS and start_us <= times.min() and times.max() < end_us, (
            "trades outside DAY and DAY2"
        )
        assert 0 < _rows_of(ticks, DAY) < TICKS, "the trades do not cross midnight"
        yield sim.rest_url, ticks


def _rows_of(ticks: pa.Table, day: dt.date) -> int:
    start_us, end_us = day_bounds_us(day)
    times = ticks["trade_time_us"].to_numpy()
    return int(((times >= start_us) & (times < end_us)).sum())


@contextlib.contextmanager
def _environ(**values: str) -> Iterator[None]:
    """Set environment variables for the body, then restore them."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@pytest.fixture(scope="module")
def homes(tmp_path_factory: pytest.TempPathFactory, venue: tuple[str, pa.Table]) -> tuple[Path, Path]:
    """(TRADEGRAPH_HOME with DAY's and DAY2's trades in the embedded store, DAGSTER_HOME with DAY
    sealed, barred and archived by the demo's code)."""
    _, ticks = venue
    root = tmp_path_factory.mktemp("ui")
    tradegraph_home, dagster_home = root / "tradegraph", root / "dagster"
    store = open_tick_store(TickStoreConfig(embedded_dir=tradegraph_home / "ticks"))
    try:
        store.insert(ticks)
    finally:
        store.close()
    with _environ(
        TRADEGRAPH_HOME=str(tradegraph_home), TRADEGRAPH_STORE="embedded", DAGSTER_HOME=str(dagster_home)
    ):
        (demo_day,) = materialize_days([DAY], home=tradegraph_home, progress=False)
    assert (demo_day.rows, demo_day.checks_failed) == (_rows_of(ticks, DAY), 0), demo_day
    assert (dagster_home / "dagster.yaml").read_text() == INSTANCE_YAML
    return tradegraph_home, dagster_home


@pytest.fixture(scope="module")
def dagster_dev(homes: tuple[Path, Path], venue: tuple[str, pa.Table]) -> Iterator[DagsterDev]:
    """``dg dev`` from the repository root (as the README starts it), serving on a free 127.0.0.1 port;
    always stopped."""
    tradegraph_home, dagster_home = homes
    rest_url, _ = venue
    env = {name: value for name, value in os.environ.items() if not name.startswith("TRADEGRAPH_")}
    env.update(
        DAGSTER_HOME=str(dagster_home),
        TRADEGRAPH_HOME=str(tradegraph_home),
        TRADEGRAPH_STORE="embedded",
        TRADEGRAPH_SIM_REST_URL=rest_url,
        PYTHONUNBUFFERED="1",
        PYTHONPATH=str(REPO_ROOT) + (":" + env["PYTHONPATH"] if env.get("PYTHONPATH") else ""),
    )
    port = free_port()
    log_path = dagster_home / "dagster_dev.log"
    command = [
        *_WITH_DEFAULT_SIGINT,
        *(str(Path(sys.executable).parent / "dg"), "dev", "-h", "127.0.0.1", "-p", str(port)),
    ]
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            command,
            cwd=REPO_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            # Its own process group: stop() signals the webserver, daemon, code servers and runs together.
            start_new_session=True,
        )
    server = DagsterDev(process=process, url=f"http://127.0.0.1:{port}", log_path=log_path)
    try:
        _wait_until_serving(server)
        yield server
    finally:
        server.stop()


def _wait_until_serving(server: DagsterDev) -> None:
    """Wait until the webserver answers and the tradegraph code location is loaded."""
    deadline = time.monotonic() + START_TIMEOUT_S
    status = "webserver not answering"
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            pytest.fail(f"dagster dev exited with {server.process.returncode}:\n{server.log_tail()}")
        try:
            if requests.get(f"{server.url}/server_info", timeout=2).status_code == 200:
                entries = server.graphql(
                    "{ workspaceOrError { __typename ... on Workspace { locationEntries { name loadStatus } } } }"
                )["workspaceOrError"]["locationEntries"]
                status = f"locations {entries}"
                if any(e["name"] == LOCATION and e["loadStatus"] == "LOADED" for e in entries):
                    return
        except requests.RequestException as exc:
            status = f"webserver not answering: {exc}"
        time.sleep(0.25)
    pytest.fail(
        f"dagster dev not serving {LOCATION} within {START_TIMEOUT_S:.0f} s ({status}):\n{server.log_tail()}"
    )


_ASSET_NODES = """
{ assetNodes {
    assetKey { path } groupName description isExecutable isPartitioned jobNames
    partitionDefinition { type description }
    dependencyKeys { path } dependedByKeys { path }
    assetChecksOrError { __typename ... on AssetChecks { checks { name description blocking } } }
} }
"""


def _asset_nodes(server: DagsterDev) -> dict[str, dict[str, Any]]:
    return {"/".join(node["assetKey"]["path"]): node for node in server.graphql(_ASSET_NODES)["assetNodes"]}


def _keys(refs: list[dict[str, list[str]]]) -> set[str]:
    return {"/".join(ref["path"]) for ref in refs}


@with_server_log
def test_the_code_location_loads_with_one_repository(dagster_dev: DagsterDev) -> None:
    data = dagster_dev.graphql(
        "{ repositoriesOrError { __typename ... on RepositoryConnection {"
        " nodes { name location { name } jobs { name } } } } }"
    )
    (repository,) = data["repositoriesOrError"]["nodes"]
    assert (repository["name"], repository["location"]["name"]) == (REPOSITORY, LOCATION)
    assert {"day_pipeline", "seal_and_bars", "archive_ticks", "store_retention"} <= {
        job["name"] for job in repository["jobs"]
    }


@with_server_log
def test_the_asset_graph_shows_groups_descriptions_and_lineage(dagster_dev: DagsterDev) -> None:
    nodes = _asset_nodes(dagster_dev)

    assert {key: node["groupName"] for key, node in nodes.items()} == {
        "tick_stream": "ingestion",
        "tick_partition": "market",
        "bars_1m": "market",
        "tick_archive": "archive",
        "hot_retention": "archive",
        "features": "models",
        "trained_models": "models",
        "backtest": "models",
        "champion_model": "models",
        "paper_fills": "trading",
        "portfolio_daily": "trading",
    }
    for key, words in {
        "tick_stream": "websocket",
        "tick_partition": "sealed",
        "bars_1m": "OHLCV",
        "tick_archive": "Parquet",
        "hot_retention": "retention",
        "features": "order-flow imbalance",
        "trained_models": "XGBoost",
        "backtest": "Walk-forward",
        "champion_model": "champion",
        "paper_fills": "tick -> bars -> features -> model -> signal -> fill",
        "portfolio_daily": "attribution",
    }.items():
        assert words in (nodes[key]["description"] or ""), f"{key} description: {nodes[key]['description']!r}"
    assert _keys(nodes["tick_stream"]["dependencyKeys"]) == set()
    assert _keys(nodes["tick_partition"]["dependencyKeys"]) == {"tick_stream"}
    assert _keys(nodes["bars_1m"]["dependencyKeys"]) == {"tick_partition"}
    assert _keys(nodes["tick_archive"]["dependencyKeys"]) == {"tick_partition"}
    assert _keys(nodes["tick_partition"]["dependedByKeys"]) == {"bars_1m", "tick_archive"}
    assert _keys(nodes["hot_retention"]["dependencyKeys"]) == {"tick_archive"}
    # Lineage from a day's bars to the champion: bars -> features -> trained_models -> backtest -> champion.
    assert _keys(nodes["features"]["dependencyKeys"]) == {"bars_1m"}
    assert _keys(nodes["trained_models"]["dependencyKeys"]) == {"features"}
    assert _keys(nodes["backtest"]["dependencyKeys"]) == {"trained_models"}
    assert _keys(nodes["champion_model"]["dependencyKeys"]) == {"backtest"}
    assert set(nodes["trained_models"]["jobNames"]) >= {"retrain_models"}
    # ... and on to the paper fills, which also read the live ticks: champion -> fills -> portfolio day.
    assert _keys(nodes["paper_fills"]["dependencyKeys"]) == {"champion_model", "tick_stream"}
    assert _keys(nodes["portfolio_daily"]["dependencyKeys"]) == {"paper_fills"}
    assert set(nodes["paper_fills"]["jobNames"]) >= {"paper_trading"}
    # tick_stream is fed by the services outside Dagster: shown, never materialized by a run.
    assert nodes["tick_stream"]["isExecutable"] is False
    assert set(nodes["tick_partition"]["jobNames"]) >= {"seal_and_bars", "day_pipeline"}
    assert set(nodes["tick_archive"]["jobNames"]) >= {"archive_ticks", "day_pipeline"}
    assert set(nodes["hot_retention"]["jobNames"]) >= {"store_retention"}


@with_server_log
def test_daily_assets_show_daily_partitions_and_blocking_checks(dagster_dev: DagsterDev) -> None:
    nodes = _asset_nodes(dagster_dev)

    for key in ("tick_partition", "bars_1m", "tick_archive"):
        definition = nodes[key]["partitionDefinition"]
        assert nodes[key]["isPartitioned"] is True
        assert definition["type"] == "TIME_WINDOW"
        assert definition["description"].startswith("Daily, starting 2017-01-01"), definition
    assert nodes["tick_stream"]["isPartitioned"] is False
    assert nodes["hot_retention"]["isPartitioned"] is False
    checks = {key: node["assetChecksOrError"]["checks"] for key, node in nodes.items()}
    assert {c["name"] for c in checks["tick_partition"]} == {
        "no_trade_id_gaps",
        "no_duplicates",
        "time_monotonic",
        "price_jumps_within_bounds",
        "day_complete",
    }
    assert [c["name"] for c in checks["bars_1m"]] == ["bars_reconcile_with_ticks"]
    assert [c["name"] for c in checks["tick_archive"]] == ["archive_rows_match_partition"]
    assert checks["tick_stream"] == checks["hot_retention"] == checks["features"] == []
    assert [(c["name"], c["blocking"]) for c in checks["backtest"]] == [("sanity_gates", True)]
    for key in ("tick_partition", "bars_1m", "tick_archive"):
        for check in checks[key]:
            # A day that is not covered to midnight warns; it does not stop bars or the archive.
            assert check["blocking"] is (check["name"] != "day_complete") and check["description"], (
                key,
                check,
            )


@with_server_log
def test_sensors_and_the_archive_schedule_are_running_by_default(dagster_dev: DagsterDev) -> None:
    data = dagster_dev.graphql(
        "query($selector: RepositorySelector!) { repositoryOrError(repositorySelector: $selector) {"
        " __typename ... on Repository {"
        "  sensors { name description defaultStatus sensorState { status } }"
        "  schedules { name cronSchedule executionTimezone pipelineName defaultStatus scheduleState { status } }"
        " } } }",
        {"selector": {"repositoryLocationName": LOCATION, "repositoryName": REPOSITORY}},
    )["repositoryOrError"]

    sensors = {s["name"]: s for s in data["sensors"]}
    assert set(sensors) == {
        "day_closed_sensor",
        "stream_health_sensor",
        "model_drift_sensor",
        "paper_fills_sensor",
    }
    for sensor in sensors.values():
        assert (sensor["defaultStatus"], sensor["sensorState"]["status"]) == ("RUNNING", "RUNNING"), sensor
        assert sensor["description"]
    schedules = {s["name"]: s for s in data["schedules"]}
    assert {
        name: (s["cronSchedule"], s["executionTimezone"], s["pipelineName"]) for name, s in schedules.items()
    } == {
        "archive_ticks_schedule": ("30 1 * * *", "UTC", "archive_ticks"),
        "store_retention_schedule": ("0 3 * * *", "UTC", "store_retention"),
        "retrain_schedule": ("0 */6 * * *", "UTC", "retrain_models"),
    }
    for schedule in schedules.values():
        assert (schedule["defaultStatus"], schedule["scheduleState"]["status"]) == ("RUNNING", "RUNNING")


_LAUNCH = """
mutation($params: ExecutionParams!) { launchRun(executionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on PythonError { message stack }
    ... on RunConfigValidationInvalid { errors { message } }
    ... on InvalidSubsetError { message }
    ... on PipelineNotFoundError { message }
} }
"""

_RUN_STATUS = "query($runId: ID!) { runOrError(runId: $runId) { __typename ... on Run { status } } }"

_RUN_EVENTS = """
query($runId: ID!) { logsForRun(runId: $runId, limit: 1000) { __typename
  ... on EventConnection { events { __typename
    ... on MessageEvent { message level stepKey }
    ... on MaterializationEvent { assetKey { path } partition
        metadataEntries { label ... on IntMetadataEntry { intValue } ... on TextMetadataEntry { text }
                                ... on MarkdownMetadataEntry { mdStr } } }
    ... on AssetCheckEvaluationEvent { evaluation { checkName success assetKey { path } } }
    ... on ExecutionStepFailureEvent { error { message } }
  } }
} }
"""


def _wait_for_run(server: DagsterDev, run_id: str) -> str:
    """Poll the run until it ends (bounded by RUN_TIMEOUT_S); return its final status."""
    deadline = time.monotonic() + RUN_TIMEOUT_S
    status = "?"
    while time.monotonic() < deadline:
        status = server.graphql(_RUN_STATUS, {"runId": run_id})["runOrError"]["status"]
        if status in _TERMINAL:
            return status
        time.sleep(0.5)
    raise AssertionError(f"run {run_id} still {status} after {RUN_TIMEOUT_S:.0f} s")


def _run_events(server: DagsterDev, run_id: str) -> list[dict[str, Any]]:
    return server.graphql(_RUN_EVENTS, {"runId": run_id})["logsForRun"]["events"]


def _failure_story(events: list[dict[str, Any]]) -> str:
    """The error lines of a run's event log, for an assertion message."""
    lines = [e["error"]["message"] for e in events if e["__typename"] == "ExecutionStepFailureEvent"]
    lines += [e["message"] for e in events if e.get("level") == "ERROR"]
    return "\n".join(lines) or "(no error events)"


@with_server_log
def test_a_launched_seal_and_bars_partition_run_succeeds_with_metadata_and_passing_checks(
    dagster_dev: DagsterDev, venue: tuple[str, pa.Table]
) -> None:
    launched = dagster_dev.graphql(
        _LAUNCH,
        {
            "params": {
                "selector": {
                    "repositoryLocationName": LOCATION,
                    "repositoryName": REPOSITORY,
                    "jobName": "seal_and_bars",
                },
                "executionMetadata": {"tags": [{"key": "dagster/partition", "value": DAY.isoformat()}]},
            }
        },
    )["launchRun"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    run_id = launched["run"]["runId"]

    status = _wait_for_run(dagster_dev, run_id)
    events = _run_events(dagster_dev, run_id)

    assert status == "SUCCESS", f"run {run_id} ended {status}:\n{_failure_story(events)}"
    materialized = {
        "/".join(e["assetKey"]["path"]): e for e in events if e["__typename"] == "MaterializationEvent"
    }
    assert set(materialized) == {"tick_partition", "bars_1m", "features"}
    assert {e["partition"] for e in materialized.values()} == {DAY.isoformat()}
    _, every_trade = venue
    ticks_meta = {m["label"]: m for m in materialized["tick_partition"]["metadataEntries"]}
    assert ticks_meta["rows"]["intValue"] == _rows_of(every_trade, DAY)
    assert ticks_meta["symbols"]["intValue"] == 5
    assert (ticks_meta["gaps_found"]["intValue"], ticks_meta["gaps_left"]["intValue"]) == (0, 0)
    assert ticks_meta["first_trade"]["text"].startswith(DAY.isoformat())
    bars_meta = {m["label"]: m for m in materialized["bars_1m"]["metadataEntries"]}
    assert bars_meta["ticks"]["intValue"] == _rows_of(every_trade, DAY)
    assert bars_meta["bars"]["intValue"] > 0
    # Below 1,000 characters the UI shows Markdown metadata inline, not behind "[Show Markdown]".
    assert len(bars_meta["chart"]["mdStr"]) < 1_000 and "| BTCUSDT |" in bars_meta["chart"]["mdStr"]
    assert bars_meta["chart_png"]["mdStr"].startswith("![price and volume](data:image/png;base64,")
    checks = {
        e["evaluation"]["checkName"]: e["evaluation"]["success"]
        for e in events
        if e["__typename"] == "AssetCheckEvaluationEvent"
    }
    assert checks == {
        "no_trade_id_gaps": True,
        "no_duplicates": True,
        "time_monotonic": True,
        "price_jumps_within_bounds": True,
        # DAY's trades start at 22:00: the day is not complete, and the check says so.
        "day_complete": False,
        "bars_reconcile_with_ticks": True,
    }
    # The in-process executor runs both steps in one process: bars_1m takes the sealed day from
    # tick_partition instead of reading it from the store again.
    handed_over = [
        e
        for e in events
        if e.get("stepKey") == "bars_1m" and "handed over by tick_partition" in (e.get("message") or "")
    ]
    assert handed_over, "bars_1m read the day again instead of taking it from tick_partition"


@with_server_log
def test_the_daemon_runs_the_day_closed_sensor_which_seals_only_the_day_not_sealed_yet(
    dagster_dev: DagsterDev,
) -> None:
    # The daemon evaluates the sensor as it starts; both stored days are long closed, but DAY was sealed
    # by the demo's run, so only DAY2 is requested.
    query = (
        '{ runsOrError(filter: {tags: [{key: "dagster/sensor_name", value: "day_closed_sensor"}]}) {'
        " __typename ... on Runs { results { runId status tags { key value } } } } }"
    )
    deadline = time.monotonic() + RUN_TIMEOUT_S
    runs: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        runs = dagster_dev.graphql(query)["runsOrError"]["results"]
        if runs and all(run["status"] in _TERMINAL for run in runs):
            break
        time.sleep(0.5)

    assert len(runs) == 1, runs
    (run,) = runs
    tags = {tag["key"]: tag["value"] for tag in run["tags"]}
    assert (tags["dagster/partition"], tags["dagster/run_key"]) == (DAY2.isoformat(), f"seal-{DAY2}")
    assert run["status"] == "SUCCESS", _failure_story(_run_events(dagster_dev, run["runId"]))


_REEXECUTE = """
mutation($parentRunId: String!) {
  launchRunReexecution(reexecutionParams: {parentRunId: $parentRunId, strategy: ALL_STEPS}) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on PythonError { message stack }
  }
}
"""

_DEMO_RUNS = (
    '{ runsOrError(filter: {tags: [{key: "tradegraph/source", value: "demo"}]}) {'
    " __typename ... on Runs { results { runId status pipelineName"
    " repositoryOrigin { repositoryLocationName repositoryName } tags { key value } } } } }"
)


@with_server_log
def test_the_demos_run_is_a_day_pipeline_run_the_ui_re_executes(dagster_dev: DagsterDev) -> None:
    (demo,) = dagster_dev.graphql(_DEMO_RUNS)["runsOrError"]["results"]
    assert (demo["pipelineName"], demo["status"]) == ("day_pipeline", "SUCCESS")
    assert demo["repositoryOrigin"] == {"repositoryLocationName": LOCATION, "repositoryName": REPOSITORY}

    launched = dagster_dev.graphql(_REEXECUTE, {"parentRunId": demo["runId"]})["launchRunReexecution"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    run_id = launched["run"]["runId"]
    status = _wait_for_run(dagster_dev, run_id)

    assert status == "SUCCESS", (
        f"re-execution {run_id} ended {status}:\n{_failure_story(_run_events(dagster_dev, run_id))}"
    )
    materialized = {
        "/".join(e["assetKey"]["path"]): e["partition"]
        for e in _run_events(dagster_dev, run_id)
        if e["__typename"] == "MaterializationEvent"
    }
    assert materialized == dict.fromkeys(
        ("tick_partition", "bars_1m", "tick_archive", "features"), DAY.isoformat()
    )


_CHECK_EXECUTIONS = """
query($asset: AssetKeyInput!, $check: String!) {
  assetCheckExecutions(assetKey: $asset, checkName: $check, limit: 50) { runId status partition }
}
"""


@with_server_log
def test_check_results_are_recorded_under_their_partition_with_no_skipped_rows(
    dagster_dev: DagsterDev,
) -> None:
    # Whatever runs have finished by now (the demo's at least): each is one row of its day, none skipped.
    for asset, check in (
        ("tick_partition", "no_duplicates"),
        ("tick_partition", "day_complete"),
        ("bars_1m", "bars_reconcile_with_ticks"),
        ("tick_archive", "archive_rows_match_partition"),
    ):
        executions = dagster_dev.graphql(_CHECK_EXECUTIONS, {"asset": {"path": [asset]}, "check": check})[
            "assetCheckExecutions"
        ]
        finished = [e for e in executions if e["status"] != "IN_PROGRESS"]
        assert finished, (asset, check)
        assert all(e["partition"] in (DAY.isoformat(), DAY2.isoformat()) for e in finished), executions
        assert not [e for e in finished if e["status"] == "SKIPPED"], executions
        assert len({e["runId"] for e in executions}) == len(executions), executions


@with_server_log
def test_dg_dev_prints_no_deprecation_supersession_or_instance_warnings(dagster_dev: DagsterDev) -> None:
    log = dagster_dev.log_path.read_text(errors="replace")

    for marker in (
        "DeprecationWarning",
        "SupersessionWarning",
        "PreviewWarning",
        "BetaWarning",
        "UserWarning",
        "Found a dagster instance configuration value",
        "virtual environment does not match",
    ):
        assert marker not in log, f"{marker!r} in the dg dev output"
