"""docker/ is validated here, not run: no Docker engine runs on the CI machines."""

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from trading_assets.services.metrics import ExecutorMetrics, LoaderMetrics, StreamerMetrics
from trading_assets.services.source_metrics import SourceLoaderMetrics, SourcePollerMetrics

DOCKER = Path(__file__).resolve().parents[2] / "docker"


def _require(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.fail(f"{tool} is missing: `bash scripts/setup.sh --test` installs it")
    return path


def test_compose_file_is_valid_and_has_the_whole_stack() -> None:
    result = subprocess.run(
        [_require("docker-compose"), "-f", str(DOCKER / "compose.yaml"), "config", "--services"],
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 0, result.stderr
    services = set(result.stdout.split())
    assert {
        "kafka",
        "clickhouse",
        "minio",
        "mlflow",
        "dagster-webserver",
        "dagster-daemon",
        "streamer",
        "loader",
        "exchange-sim",
        "prometheus",
        "grafana",
    } <= services


def test_prometheus_config_is_valid() -> None:
    result = subprocess.run(
        [_require("promtool"), "check", "config", str(DOCKER / "prometheus" / "prometheus.yml")],
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 0, result.stdout + result.stderr


def test_grafana_dashboard_plots_only_metrics_the_services_export() -> None:
    dashboard = json.loads((DOCKER / "grafana" / "dashboards" / "tradegraph.json").read_text())
    exprs = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    used = {m for expr in exprs for m in re.findall(r"tradegraph_[a-z_0-9]+", expr)}
    exported = set()
    for metrics in (
        StreamerMetrics(),
        LoaderMetrics(),
        ExecutorMetrics(),
        SourcePollerMetrics(),
        SourceLoaderMetrics(),
    ):
        for family in metrics.registry.collect():
            exported |= {sample.name for sample in family.samples}
            exported.add(family.name)
            # Labelled families have no samples until first use.
            if family.type == "counter":
                exported.add(f"{family.name}_total")
            if family.type == "histogram":
                exported |= {f"{family.name}_{suffix}" for suffix in ("bucket", "sum", "count")}

    assert used, "the dashboard plots nothing"
    assert used <= exported, f"dashboard uses unknown metrics: {sorted(used - exported)}"
