"""A password inside a URL setting (TRADEGRAPH_CLICKHOUSE_URL, TRADEGRAPH_MLFLOW_URI) is never shown: not by
``tradegraph settings``, not in the Dagster UI (the resource shows the variable's name)."""

from __future__ import annotations

from pathlib import Path

import pytest
from dagster._core.remote_representation.external_data import RepositorySnap
from dagster._serdes import serialize_value

from trading_assets.cli import main
from trading_assets.core.settings import Settings
from trading_assets.core.urls import url_without_password
from trading_assets.definitions import build_definitions

pytestmark = pytest.mark.filterwarnings(
    "ignore:Property `ScheduleDefinition.environment_vars` is deprecated:DeprecationWarning"
)

CLICKHOUSE_SECRET = "chUrlSecret4711"
MLFLOW_SECRET = "mlflowUriSecret0815"


def _environment(home: Path) -> dict[str, str]:
    return {
        "TRADEGRAPH_HOME": str(home),
        "TRADEGRAPH_CLICKHOUSE_URL": f"clickhouse://trader:{CLICKHOUSE_SECRET}@db.internal:9000/default",
        "TRADEGRAPH_MLFLOW_URI": f"https://ops:{MLFLOW_SECRET}@mlflow.internal",
    }


def test_url_without_password_keeps_everything_but_the_password() -> None:
    assert url_without_password("clickhouse://u:p%40ss@h:9000/db?x=1") == "clickhouse://u:***@h:9000/db?x=1"
    assert url_without_password("http://h:5000") == "http://h:5000"
    assert url_without_password("clickhouse://default@127.0.0.1:9000/default") == (
        "clickhouse://default@127.0.0.1:9000/default"
    )


def test_settings_command_masks_passwords_inside_urls(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, value in _environment(tmp_path).items():
        monkeypatch.setenv(name, value)

    code = main(["settings"])

    shown = capsys.readouterr()
    assert code == 0
    assert CLICKHOUSE_SECRET not in shown.out + shown.err
    assert MLFLOW_SECRET not in shown.out + shown.err
    assert "clickhouse://trader:***@db.internal:9000/default" in shown.out
    assert "https://ops:***@mlflow.internal" in shown.out


def test_the_ui_shows_a_tracking_uri_with_a_password_only_by_its_variable(tmp_path: Path) -> None:
    definitions = build_definitions(Settings.from_env(_environment(tmp_path)))

    snap = RepositorySnap.from_def(definitions.get_repository_def())
    registry = next(resource for resource in snap.resources or [] if resource.name == "model_registry")

    assert MLFLOW_SECRET not in serialize_value(snap)
    assert CLICKHOUSE_SECRET not in serialize_value(snap)
    assert getattr(registry.configured_values["tracking_uri"], "name", None) == "TRADEGRAPH_MLFLOW_URI"
