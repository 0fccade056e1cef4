"""Both Kafka clients of the bus put a symbol in the same partition, so they can share a topic (a rolling
switch of TRADEGRAPH_KAFKA_CLIENT, two streamers on different clients) and a symbol stays in order."""

from __future__ import annotations

from collections.abc import Callable

import confluent_kafka
import pytest
from kafka.partitioner.default import murmur2

from resources.bus import KafkaTickBus
from resources.bus.base import RawRecord, TickConsumer
from resources.bus.confluent import ConfluentTickBus
from testkit.servers import KafkaBroker

KEYS = [b"BTCUSDT", b"ETHUSDT", b"SOLUSDT", b"XRPUSDT", b"ADAUSDT", b"AAPL", b"DE-LU", b"one-key"]


@pytest.mark.parametrize("partitions", [1, 3, 6, 12])
def test_librdkafkas_murmur2_puts_each_key_where_kafka_python_does(partitions: int) -> None:
    # kafka-python's default partitioner: murmur2 of the key, sign bit cleared, modulo the partitions.
    kafka_python = [(murmur2(key) & 0x7FFFFFFF) % partitions for key in KEYS]

    confluent = [confluent_kafka.murmur2(key, partitions) for key in KEYS]

    assert confluent == kafka_python


def _poll_all(consumer: TickConsumer, wanted: int) -> list[RawRecord]:
    records: list[RawRecord] = []
    for _ in range(100):  # bounded: 100 polls of up to 0.3 s
        records += consumer.poll_records(timeout_s=0.3)
        if len(records) >= wanted:
            break
    return records


def test_records_of_one_key_from_both_clients_land_in_one_partition(
    kafka_broker: KafkaBroker, venue: str, group_name: Callable[[str], str]
) -> None:
    # Arrange
    topic = f"ticks.{venue}"
    buses = [KafkaTickBus(kafka_broker.bootstrap), ConfluentTickBus(kafka_broker.bootstrap)]

    # Act: each client writes one record per key to the same topic
    for bus in buses:
        for key in KEYS:
            bus.publish_raw(topic, key, type(bus).__name__.encode())
        bus.flush()
    with buses[1].record_consumer(group=group_name("partitions"), topics=[topic]) as consumer:
        records = _poll_all(consumer, 2 * len(KEYS))
    for bus in buses:
        bus.close()

    # Assert: per key, both clients' records are in one partition
    partitions_of: dict[bytes, set[int]] = {}
    for _, partition, _, key, _ in records:
        assert key is not None
        partitions_of.setdefault(key, set()).add(partition)
    assert len(records) == 2 * len(KEYS)
    assert all(len(partitions) == 1 for partitions in partitions_of.values()), partitions_of
