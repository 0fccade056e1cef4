import json
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.remote_representation.external_data import (
    RepositorySnap,
    ResourceConfigEnvVarSnap,
    ResourceValueSnap,
)
from dagster._serdes import serialize_value

from trading_assets.definitions import defs

ROOT = Path(__file__).resolve().parents[2]
# Raised inside dagster 1.13 while it snapshots schedules for the UI.
pytestmark = pytest.mark.filterwarnings(
    "ignore:Property `ScheduleDefinition.environment_vars` is deprecated:DeprecationWarning"
)

SECRETS = {
    "AWS_ACCESS_KEY_ID": "AKIA-test-key-id-1234",
    "AWS_SECRET_ACCESS_KEY": "s3-secret-never-shown-5678",
    "FINNHUB_TOKEN": "finnhub-token-never-shown-9012",
    "TRADEGRAPH_CLICKHOUSE_PASSWORD": "clickhouse-password-never-shown-3456",
}


def _shown(value: ResourceValueSnap) -> object:
    """A configured value as the UI shows it: the JSON value, or the variable's name for an EnvVar."""
    if isinstance(value, ResourceConfigEnvVarSnap):
        return {"env": value.name}
    return json.loads(value)


def _ui_view(definitions: dg.Definitions) -> tuple[dict[str, dict[str, object]], str]:
    """What the UI receives: each resource's configured values, and the whole serialized snapshot."""
    snap = RepositorySnap.from_def(definitions.get_repository_def())
    values = {
        resource.name: {key: _shown(v) for key, v in resource.configured_values.items()}
        for resource in snap.resources or []
    }
    return values, serialize_value(snap)


def test_definitions_load_lazily_as_the_workspace_names_them(tmp_path: Path) -> None:
    loaded = defs()

    assert isinstance(loaded, dg.Definitions)
    loaded.get_repository_def()  # resolves every asset, check, job, sensor and resource


def test_importing_definitions_has_no_side_effects(tmp_path: Path) -> None:
    # Importing the code location must neither create folders nor read settings: a bad setting does not
    # fail the import, only loading the definitions.
    result = subprocess.run(
        [sys.executable, "-c", "import trading_assets.definitions"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)},
    )

    assert result.returncode == 0, result.stderr
    assert list(tmp_path.iterdir()) == []


def test_loading_definitions_with_a_bad_setting_names_the_variable(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", "from trading_assets.definitions import defs; defs()"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "TRADEGRAPH_STORE": "not-a-store", "PYTHONPATH": str(ROOT)},
    )

    assert result.returncode != 0
    assert "TRADEGRAPH_STORE='not-a-store' is not one of embedded, clickhouse" in result.stderr


def test_the_ui_shows_the_production_configuration_and_no_secret(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    environment = {
        "TRADEGRAPH_HOME": str(tmp_path),
        "TRADEGRAPH_STORE": "clickhouse",
        "TRADEGRAPH_CLICKHOUSE_URL": "clickhouse://reader@ch.internal:9000/default",
        "TRADEGRAPH_CLICKHOUSE_DATABASE": "prod_ticks",
        "TRADEGRAPH_CLICKHOUSE_READ_PRIORITY": "3",
        "TRADEGRAPH_ARCHIVE": "s3://tick-archive/prod",
        "TRADEGRAPH_S3_ENDPOINT": "http://minio.internal:9000",
        "TRADEGRAPH_S3_REGION": "eu-west-1",
        "TRADEGRAPH_BINANCE_REST_URL": "https://testnet.binance.vision",
        **SECRETS,
    }
    for name, value in environment.items():
        monkeypatch.setenv(name, value)

    values, serialized = _ui_view(defs())

    assert values["tick_store"] == {
        "kind": "clickhouse",
        "embedded_dir": str(tmp_path / "ticks"),
        "clickhouse_url": "clickhouse://reader@ch.internal:9000/default",
        "clickhouse_password": {"env": "TRADEGRAPH_CLICKHOUSE_PASSWORD"},
        "clickhouse_database": "prod_ticks",
        "clickhouse_insert_priority": 1,
        "clickhouse_read_priority": 3,
        "clickhouse_read_max_threads": 1,
        "clickhouse_read_os_thread_priority": 0,
    }
    assert values["table_store"]["clickhouse_read_priority"] == 3
    assert values["tick_archive"] == {
        "location": "s3://tick-archive/prod",
        "s3_endpoint": "http://minio.internal:9000",
        "s3_region": "eu-west-1",
        "aws_access_key_id": {"env": "AWS_ACCESS_KEY_ID"},
        "aws_secret_access_key": {"env": "AWS_SECRET_ACCESS_KEY"},
    }
    assert values["venue_history"]["rest_urls"]["binance"] == "https://testnet.binance.vision"
    for secret in SECRETS.values():
        assert secret not in serialized


def test_a_password_inside_the_clickhouse_url_is_shown_only_as_the_variable_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TRADEGRAPH_STORE", "clickhouse")
    monkeypatch.setenv(
        "TRADEGRAPH_CLICKHOUSE_URL", "clickhouse://app:pw-in-url-7788@ch.internal:9000/default"
    )

    values, serialized = _ui_view(defs())

    assert values["tick_store"]["clickhouse_url"] == {"env": "TRADEGRAPH_CLICKHOUSE_URL"}
    assert "pw-in-url-7788" not in serialized


def test_the_ui_shows_the_embedded_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TRADEGRAPH_HOME", str(tmp_path))

    values, _ = _ui_view(defs())

    assert values["tick_store"]["kind"] == "embedded"
    assert values["tick_store"]["embedded_dir"] == str(tmp_path / "ticks")
    assert values["tick_archive"]["location"] == str(tmp_path / "archive")
    assert "aws_secret_access_key" not in values["tick_archive"]


SOURCES_FILE = """
[[source]]
name = "grid_prices"
kind = "websocket"
url = "ws://127.0.0.1:9/prices"
time_column = "period_start_us"
key = ["area", "period_start_us", "published_us"]
series = ["area"]
version_column = "published_us"
periods_per_day = 24
[source.columns]
area = "string"
period_start_us = "time"
published_us = "time"
price = "float64"

[[source]]
name = "grid_alerts"
kind = "sns"
queue_url = "http://127.0.0.1:9/000000000000/alerts"
region = "eu-west-1"
time_column = "sent_us"
[source.columns]
text = "string"
"""


def test_each_configured_source_is_a_daily_asset_with_checks_a_job_and_a_schedule(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "sources.toml"
    path.write_text(SOURCES_FILE)
    monkeypatch.setenv("TRADEGRAPH_HOME", str(tmp_path))
    monkeypatch.setenv("TRADEGRAPH_SOURCES_FILE", str(path))

    definitions = defs()

    keys = {key.to_user_string() for key in definitions.resolve_all_asset_keys()}
    assert {
        "source_grid_prices",
        "source_grid_prices_feed",
        "source_grid_alerts",
        "source_grid_alerts_feed",
    } <= keys
    graph = definitions.resolve_asset_graph()
    checks = {
        key.name for key in graph.asset_check_keys if key.asset_key.to_user_string() == "source_grid_prices"
    }
    assert checks == {"periods_complete", "no_duplicates", "revisions"}
    assert definitions.resolve_job_def("source_days") is not None
    assert "source_days_schedule" in {schedule.name for schedule in definitions.schedules or []}


def test_a_bad_sources_file_fails_the_location_naming_the_source(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "sources.toml"
    path.write_text('[[source]]\nname = "broken"\nkind = "websocket"\nurl = "ws://127.0.0.1:9"\n')
    monkeypatch.setenv("TRADEGRAPH_HOME", str(tmp_path))
    monkeypatch.setenv("TRADEGRAPH_SOURCES_FILE", str(path))

    with pytest.raises(Exception, match=r"source .broken.*columns"):
        defs()


def test_the_energy_example_file_adds_its_sources_and_the_energy_group_in_one_graph(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRADEGRAPH_HOME", str(tmp_path))
    monkeypatch.setenv("TRADEGRAPH_SOURCES_FILE", str(ROOT / "examples" / "energy" / "sources.toml"))
    monkeypatch.delenv("ENTSOE_API_KEY", raising=False)  # secrets are not needed to load the graph

    definitions = defs()

    graph = definitions.resolve_asset_graph()
    keys = {key.to_user_string() for key in graph.get_all_asset_keys()}
    assert {"energy_features", "energy_model", "energy_backtest", "source_intraday_trades_de"} <= keys
    upstream = {key.to_user_string() for key in graph.get(dg.AssetKey("energy_features")).parent_keys}
    assert upstream == {
        "source_entsoe_da_prices_de",
        "source_entsoe_load_de",
        "source_entsoe_wind_solar_de",
        "source_intraday_trades_de",
    }
    assert "features" in keys and "trained_models" in keys  # the crypto models share the graph
