"""What the two Kafka buses share (resources/bus/kafka_common.py), on both clients."""

from __future__ import annotations

import pytest

from resources.bus.base import BusError
from resources.bus.confluent import ConfluentTickBus
from resources.bus.kafka import KafkaTickBus
from testkit.servers.base import free_port

BusType = type[KafkaTickBus] | type[ConfluentTickBus]
CLIENTS = [pytest.param(KafkaTickBus, id="kafka-python"), pytest.param(ConfluentTickBus, id="confluent")]


@pytest.mark.parametrize("bus_type", CLIENTS)
def test_a_bus_with_no_broker_at_its_address_fails_at_construction_naming_the_address(
    bus_type: BusType,
) -> None:
    # Arrange: a loopback port nothing listens on.
    bootstrap = f"127.0.0.1:{free_port()}"

    # Act / Assert
    with pytest.raises(BusError, match=bootstrap.replace(".", r"\.")):
        bus_type(bootstrap, request_timeout_ms=2_000)


@pytest.mark.parametrize("bus_type", CLIENTS)
def test_bad_options_are_refused_before_any_connection(bus_type: BusType) -> None:
    # Arrange: nothing listens there either; the options are checked first.
    bootstrap = f"127.0.0.1:{free_port()}"

    # Act / Assert
    with pytest.raises(ValueError, match="partitions must be at least 1, got 0"):
        bus_type(bootstrap, partitions=0)
