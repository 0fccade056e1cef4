"""The one way to build a tick bus: config from settings and the factory."""

from __future__ import annotations

import pytest

from resources.bus import EmbeddedTickBus, KafkaFetchConfig, KafkaTickBus, TickBusConfig, open_tick_bus
from resources.bus.confluent import ConfluentTickBus
from resources.bus.confluent_consumer import consumer_config
from testkit.servers import KafkaBroker
from trading_assets.core.settings import Settings, SettingsError


def test_config_from_settings_takes_the_bus_and_its_bootstrap() -> None:
    settings = Settings.from_env(
        {"TRADEGRAPH_BUS": "kafka", "TRADEGRAPH_KAFKA_BOOTSTRAP": "10.0.0.1:9092,10.0.0.2:9092"}
    )

    assert TickBusConfig.from_settings(settings) == TickBusConfig(
        kind="kafka", kafka_bootstrap="10.0.0.1:9092,10.0.0.2:9092"
    )


def test_an_unknown_kind_is_refused_when_the_config_is_built() -> None:
    with pytest.raises(ValueError, match="tick bus kind 'rabbit' must be one of embedded, kafka"):
        TickBusConfig(kind="rabbit")


def test_the_factory_opens_the_embedded_bus_by_default() -> None:
    with open_tick_bus(TickBusConfig()) as bus:
        assert isinstance(bus, EmbeddedTickBus)


def test_the_factory_opens_kafka_at_the_bootstrap(kafka_broker: KafkaBroker) -> None:
    with open_tick_bus(TickBusConfig(kind="kafka", kafka_bootstrap=kafka_broker.bootstrap)) as bus:
        assert isinstance(bus, KafkaTickBus)
        assert bus.bootstrap == kafka_broker.bootstrap


def test_the_factory_opens_the_confluent_client_when_the_settings_name_it(kafka_broker: KafkaBroker) -> None:
    settings = Settings.from_env(
        {
            "TRADEGRAPH_BUS": "kafka",
            "TRADEGRAPH_KAFKA_BOOTSTRAP": kafka_broker.bootstrap,
            "TRADEGRAPH_KAFKA_CLIENT": "confluent",
            "TRADEGRAPH_KAFKA_FETCH_MAX_WAIT_MS": "40",
            "TRADEGRAPH_KAFKA_FETCH_MIN_WAIT_MS": "40",
        }
    )

    with open_tick_bus(TickBusConfig.from_settings(settings)) as bus:
        assert isinstance(bus, ConfluentTickBus)
        assert bus.bootstrap == kafka_broker.bootstrap
        assert consumer_config(bus, "g")["fetch.wait.max.ms"] == 40


def test_an_unknown_kafka_client_is_refused_naming_the_setting() -> None:
    with pytest.raises(SettingsError, match="TRADEGRAPH_KAFKA_CLIENT='librdkafka' is not one of"):
        Settings.from_env({"TRADEGRAPH_KAFKA_CLIENT": "librdkafka"})


def test_the_bus_consumers_fetch_with_the_configured_settings(kafka_broker: KafkaBroker) -> None:
    # Arrange
    settings = Settings.from_env(
        {
            "TRADEGRAPH_BUS": "kafka",
            "TRADEGRAPH_KAFKA_BOOTSTRAP": kafka_broker.bootstrap,
            "TRADEGRAPH_KAFKA_FETCH_MAX_WAIT_MS": "300",
            "TRADEGRAPH_KAFKA_FETCH_MIN_WAIT_MS": "20",
            "TRADEGRAPH_KAFKA_FETCH_MIN_BYTES": "2",
            "TRADEGRAPH_KAFKA_FETCH_MAX_PARTITION_BYTES": "4194304",
        }
    )

    # Act
    with open_tick_bus(TickBusConfig.from_settings(settings)) as bus:
        consumer = bus.consumer(group="fetch-settings", venues=["fetchcfg"])
        config = consumer._consumer.config
        consumer.close()

    # Assert
    assert TickBusConfig.from_settings(settings).kafka_fetch == KafkaFetchConfig(
        fetch_max_wait_ms=300, fetch_min_wait_ms=20, fetch_min_bytes=2, max_partition_fetch_bytes=4_194_304
    )
    # The group member's wait starts at the short one and adapts up to 300 ms (kafka_fetch.py).
    assert (config["fetch_max_wait_ms"], config["fetch_min_bytes"], config["max_partition_fetch_bytes"]) == (
        20,
        2,
        4_194_304,
    )
    # kafka-python's idle poll sleeps at most this long (100 ms by its default: kafka_fetch.py).
    assert config["retry_backoff_ms"] == KafkaFetchConfig().retry_backoff_ms == 20


def test_a_fetch_wait_outside_its_bounds_is_refused_naming_the_setting() -> None:
    with pytest.raises(ValueError, match="fetch_max_wait_ms=0 must be between 1 and 60000"):
        KafkaFetchConfig(fetch_max_wait_ms=0)
    with pytest.raises(ValueError, match="fetch_min_wait_ms=600 must be between 1 and fetch_max_wait_ms=500"):
        KafkaFetchConfig(fetch_min_wait_ms=600)
    with pytest.raises(ValueError, match="retry_backoff_ms=0 must be between 1 and 10000"):
        KafkaFetchConfig(retry_backoff_ms=0)


def test_a_short_wait_above_the_long_one_is_refused_naming_both_variables() -> None:
    with pytest.raises(
        SettingsError, match=r"TRADEGRAPH_KAFKA_FETCH_MIN_WAIT_MS=600 is above.*MAX_WAIT_MS=500"
    ):
        Settings.from_env({"TRADEGRAPH_KAFKA_FETCH_MIN_WAIT_MS": "600"})
