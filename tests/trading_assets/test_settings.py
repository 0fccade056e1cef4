from pathlib import Path

import pytest
from pydantic import ValidationError

from trading_assets.cli import main
from trading_assets.core.settings import DEFAULT_SYMBOLS, Settings, SettingsError
from trading_assets.core.settings_doc import render

ROOT = Path(__file__).resolve().parents[2]


def test_defaults_are_embedded_and_need_no_environment(tmp_path: Path) -> None:
    settings = Settings.from_env({"TRADEGRAPH_HOME": str(tmp_path)})

    assert settings.store == "embedded"
    assert settings.bus == "embedded"
    assert settings.home == tmp_path
    assert settings.archive == str(tmp_path / "archive")
    assert settings.mlflow_uri == f"sqlite:///{tmp_path / 'mlflow.db'}"
    assert settings.symbols == DEFAULT_SYMBOLS
    assert settings.venues == ("sim",)


def test_real_systems_are_configuration_only() -> None:
    settings = Settings.from_env(
        {
            "TRADEGRAPH_STORE": "clickhouse",
            "TRADEGRAPH_CLICKHOUSE_URL": "clickhouse://u:p@127.0.0.1:9000/default",
            "TRADEGRAPH_BUS": "kafka",
            "TRADEGRAPH_KAFKA_BOOTSTRAP": "127.0.0.1:9092,127.0.0.1:9093",
            "TRADEGRAPH_ARCHIVE": "s3://bucket/ticks",
            "TRADEGRAPH_S3_ENDPOINT": "http://127.0.0.1:9000",
            "TRADEGRAPH_VENUES": "binance, finnhub",
            "TRADEGRAPH_SYMBOLS": "BTCUSDT,BINANCE:ETHUSDT",
        }
    )

    assert (settings.store, settings.bus) == ("clickhouse", "kafka")
    assert settings.venues == ("binance", "finnhub")
    assert settings.symbols == ("BTCUSDT", "BINANCE:ETHUSDT")


@pytest.mark.parametrize(
    ("name", "value", "example"),
    [
        ("TRADEGRAPH_STORE", "clickhuse", "TRADEGRAPH_STORE=clickhouse"),
        ("TRADEGRAPH_BUS", "rabbit", "TRADEGRAPH_BUS=kafka"),
        ("TRADEGRAPH_CLICKHOUSE_URL", "http://x:8123", "TRADEGRAPH_CLICKHOUSE_URL=clickhouse://"),
        ("TRADEGRAPH_CLICKHOUSE_DATABASE", "ticks; DROP", "TRADEGRAPH_CLICKHOUSE_DATABASE=tradegraph"),
        ("TRADEGRAPH_KAFKA_BOOTSTRAP", "localhost", "TRADEGRAPH_KAFKA_BOOTSTRAP=127.0.0.1:9092"),
        ("TRADEGRAPH_ARCHIVE", "s3://", "TRADEGRAPH_ARCHIVE=s3://my-bucket/ticks"),
        ("TRADEGRAPH_ARCHIVE", "gs://b/x", "TRADEGRAPH_ARCHIVE=s3://my-bucket/ticks"),
        ("TRADEGRAPH_S3_ENDPOINT", "127.0.0.1:9000", "TRADEGRAPH_S3_ENDPOINT=http://"),
        ("TRADEGRAPH_VENUES", "Kraken!", "TRADEGRAPH_VENUES=sim,binance"),
        ("TRADEGRAPH_SYMBOLS", "btc usdt", "TRADEGRAPH_SYMBOLS=BTCUSDT,ETHUSDT"),
    ],
)
def test_bad_setting_error_names_the_variable_and_shows_a_good_value(
    name: str, value: str, example: str
) -> None:
    with pytest.raises(SettingsError) as error:
        Settings.from_env({name: value})

    assert f"{name}={value!r}" in str(error.value) or name in str(error.value)
    assert example in str(error.value)


def test_settings_are_read_at_call_time_not_import(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRADEGRAPH_STORE", "clickhouse")

    assert Settings.from_env().store == "clickhouse"


def test_venue_urls_are_configurable_for_testnets_and_the_simulator() -> None:
    settings = Settings.from_env(
        {
            "TRADEGRAPH_BINANCE_WS_URL": "wss://stream.testnet.binance.vision/",
            "TRADEGRAPH_BINANCE_REST_URL": "https://testnet.binance.vision",
            "TRADEGRAPH_SIM_WS_URL": "ws://127.0.0.1:9001",
        }
    )

    assert settings.binance_ws_url == "wss://stream.testnet.binance.vision"
    assert settings.binance_rest_url == "https://testnet.binance.vision"
    assert settings.sim_ws_url == "ws://127.0.0.1:9001"
    assert Settings.from_env({}).binance_ws_url == "wss://stream.binance.com:9443"


def test_a_rest_url_given_as_websocket_url_is_refused() -> None:
    with pytest.raises(SettingsError, match="TRADEGRAPH_BINANCE_REST_URL='ws://x' must be a http/https URL"):
        Settings.from_env({"TRADEGRAPH_BINANCE_REST_URL": "ws://x"})


def test_a_bad_retention_names_the_variable() -> None:
    with pytest.raises(SettingsError, match="TRADEGRAPH_HOT_RETENTION_DAYS='a week' must be a whole number"):
        Settings.from_env({"TRADEGRAPH_HOT_RETENTION_DAYS": "a week"})


def test_every_bad_setting_is_reported_at_once() -> None:
    with pytest.raises(SettingsError) as error:
        Settings.from_env({"TRADEGRAPH_STORE": "x", "TRADEGRAPH_BUS": "y"})

    assert "TRADEGRAPH_STORE='x'" in str(error.value)
    assert "TRADEGRAPH_BUS='y'" in str(error.value)


def test_blank_variables_count_as_unset(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {"TRADEGRAPH_HOME": str(tmp_path), "TRADEGRAPH_STORE": " ", "TRADEGRAPH_ARCHIVE": ""}
    )

    assert settings.store == "embedded"
    assert settings.archive == str(tmp_path / "archive")


def test_settings_are_frozen() -> None:
    settings = Settings.from_env({})

    with pytest.raises(ValidationError):
        settings.store = "clickhouse"  # type: ignore[misc]


def test_secrets_are_read_but_never_shown(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    secrets = {
        "FINNHUB_TOKEN": "finnhub-token-1234",
        "AWS_ACCESS_KEY_ID": "AKIA-5678",
        "AWS_SECRET_ACCESS_KEY": "aws-secret-9012",
        "TRADEGRAPH_CLICKHOUSE_PASSWORD": "ch-password-3456",
    }
    for name, value in secrets.items():
        monkeypatch.setenv(name, value)

    settings = Settings.from_env()
    assert main(["settings"]) == 0
    printed = capsys.readouterr().out

    assert settings.finnhub_token is not None
    assert settings.finnhub_token.get_secret_value() == "finnhub-token-1234"
    assert settings.s3_secret_access_key is not None
    assert settings.s3_secret_access_key.get_secret_value() == "aws-secret-9012"
    for value in secrets.values():
        assert value not in repr(settings)
        assert value not in str(settings.model_dump())
        assert value not in printed
    assert "FINNHUB_TOKEN" in printed
    assert "TRADEGRAPH_STORE" in printed


def test_the_configuration_reference_is_current() -> None:
    # Regenerate with: python -m trading_assets.core.settings_doc > docs/CONFIGURATION.md
    committed = (ROOT / "docs" / "CONFIGURATION.md").read_text()

    assert committed == render()


def test_the_configuration_reference_lists_every_variable() -> None:
    reference = render()

    for name in Settings.model_fields:
        assert f"| `{Settings.env_name(name)}` |" in reference
    assert "| `FINNHUB_TOKEN` |" in reference


def test_service_nice_is_unset_by_default_and_bounded_to_linux_nice_values() -> None:
    assert Settings.from_env({}).service_nice is None
    assert Settings.from_env({"TRADEGRAPH_SERVICE_NICE": "-10"}).service_nice == -10

    with pytest.raises(SettingsError) as error:
        Settings.from_env({"TRADEGRAPH_SERVICE_NICE": "-25"})

    assert "TRADEGRAPH_SERVICE_NICE='-25'" in str(error.value) and "-20" in str(error.value)
