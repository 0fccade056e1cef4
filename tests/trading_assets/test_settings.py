from pathlib import Path

import pytest

from trading_assets.core.settings import DEFAULT_SYMBOLS, Settings, SettingsError


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
        ("TRADEGRAPH_VENUES", "kraken", "TRADEGRAPH_VENUES=binance,finnhub"),
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
