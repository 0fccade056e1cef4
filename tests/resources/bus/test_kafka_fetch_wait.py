"""The Kafka consumers' adaptive fetch wait: short while the broker finds records, longer when it runs
out of time before it reaches waiting ones (resources/bus/kafka_fetch.py)."""

from __future__ import annotations

import time

import pyarrow as pa
import pytest
from kafka import KafkaProducer

from resources.bus import BusError, KafkaFetchConfig, KafkaTickBus, topic_for
from resources.bus.codec import encode_table
from resources.bus.kafka_consumer import set_fetch_wait
from resources.bus.kafka_fetch import AdaptiveFetchWait
from testkit.servers import KafkaBroker
from tests.resources.bus.conftest import make_ticks

BOUNDS = KafkaFetchConfig(fetch_min_wait_ms=10, fetch_max_wait_ms=500)


def test_the_wait_stays_short_while_polls_return_records() -> None:
    wait = AdaptiveFetchWait(BOUNDS)

    waits = [wait.after_poll(records=n, full=False, behind=False) for n in (3, 0, 5, 0, 0, 7)]

    assert waits == [10, 10, 10, 10, 10, 10]


def test_a_short_poll_with_records_waiting_doubles_the_wait_up_to_the_longest() -> None:
    wait = AdaptiveFetchWait(BOUNDS)

    waits = [wait.after_poll(records=n, full=False, behind=True) for n in (0, 13, 0, 2, 0, 0, 40, 0)]

    assert waits == [20, 40, 80, 160, 320, 500, 500, 500]


def test_a_full_poll_with_more_waiting_keeps_the_wait() -> None:
    # A full poll says nothing of the broker: the records may come from what the last fetch buffered.
    wait = AdaptiveFetchWait(BOUNDS)
    wait.after_poll(records=0, full=False, behind=True)  # 20 ms

    waits = [wait.after_poll(records=500, full=True, behind=True) for _ in range(3)]

    assert waits == [20, 20, 20]


def test_a_wait_that_had_to_grow_shrinks_slowly_and_never_below_the_shortest() -> None:
    wait = AdaptiveFetchWait(BOUNDS)
    for _ in range(4):
        wait.after_poll(records=0, full=False, behind=True)  # 160 ms

    after_one = wait.after_poll(records=100, full=False, behind=False)
    after_seventy = [wait.after_poll(records=100, full=False, behind=False) for _ in range(70)][-1]
    after_many = [wait.after_poll(records=100, full=False, behind=False) for _ in range(1_000)][-1]

    assert after_one == 158  # one percent less: the broker needed the longer wait a moment ago
    assert 75 <= after_seventy <= 85  # about half after 70 polls with records
    assert after_many == 10


def test_equal_bounds_make_a_fixed_wait() -> None:
    assert not KafkaFetchConfig(fetch_min_wait_ms=500, fetch_max_wait_ms=500).adaptive
    assert KafkaFetchConfig().adaptive


def test_a_group_member_starts_with_the_short_wait_and_keeps_it_short_while_records_come(
    kafka_broker: KafkaBroker,
) -> None:
    # Arrange
    with KafkaTickBus(kafka_broker.bootstrap, fetch=BOUNDS) as bus:
        consumer = bus.consumer(group="adaptive-wait", venues=["waitvenue"])
        fetcher_wait = consumer._consumer._fetcher.config
        started_with = fetcher_wait["fetch_max_wait_ms"]
        bus.publish(make_ticks("waitvenue", ["BTCUSDT", "ETHUSDT"], 200))
        bus.flush()

        # Act
        got = 0
        for _ in range(40):
            got += consumer.poll(timeout_s=0.5).ticks.num_rows
            if got == 200:
                break
        consumer.close()

    # Assert
    assert started_with == 10
    assert got == 200
    # A poll that returns one partition while another's records wait may double it once or twice; a
    # member that reads everything never needs the long wait on this broker.
    assert consumer.fetch_wait_ms <= 40
    assert fetcher_wait["fetch_max_wait_ms"] == consumer.fetch_wait_ms


def test_a_fixed_wait_member_asks_for_the_longest_wait(kafka_broker: KafkaBroker) -> None:
    fixed = KafkaFetchConfig(fetch_min_wait_ms=300, fetch_max_wait_ms=300)
    with KafkaTickBus(kafka_broker.bootstrap, fetch=fixed) as bus:
        consumer = bus.consumer(group="fixed-wait", venues=["fixedvenue"])
        try:
            assert consumer._consumer._fetcher.config["fetch_max_wait_ms"] == 300
            assert consumer.fetch_wait_ms == 300
        finally:
            consumer.close()


def test_setting_the_wait_on_something_without_kafka_pythons_fetcher_says_it_cannot() -> None:
    with pytest.raises(BusError, match="keeps its fetch wait elsewhere"):
        set_fetch_wait(pa.table({}), 20)  # type: ignore[arg-type]


BATCHES = 30_000  # about 30 ms of Tansu's listing on this machine: more than a 10 ms fetch can list


def _publish_one_record_batches(bootstrap: str, venue: str) -> None:
    """``BATCHES`` records of one tick each, each its own record batch, in one partition."""
    with KafkaTickBus(bootstrap, partitions=1) as bus:
        bus.ensure_topics([topic_for(venue)])
    producer = KafkaProducer(bootstrap_servers=bootstrap, batch_size=1, linger_ms=0, acks=1)
    try:
        for chunk in range(0, BATCHES, 1_000):
            table = make_ticks(venue, ["BTCUSDT"], 1_000, first_id=chunk + 1)
            for _, symbol, value in encode_table(table, max_ticks_per_record=1):
                producer.send(topic_for(venue), key=symbol.encode(), value=value)
        producer.flush(timeout=120)
    finally:
        producer.close()


def test_a_member_far_behind_on_a_partition_of_many_batches_reads_them_all(kafka_broker: KafkaBroker) -> None:
    # Arrange: a backlog Tansu cannot list within the short wait (with a fixed 10 ms wait this member
    # reads next to nothing: docs/BENCHMARKS.md)
    _publish_one_record_batches(kafka_broker.bootstrap, "backlogvenue")

    # Act
    with KafkaTickBus(kafka_broker.bootstrap, partitions=1) as bus:
        consumer = bus.consumer(group="backlog-reader", venues=["backlogvenue"])
        got, deadline = 0, time.monotonic() + 120
        while got < BATCHES and time.monotonic() < deadline:
            got += consumer.poll(timeout_s=0.5, max_records=5_000).ticks.num_rows
        grown_to = consumer.fetch_wait_ms
        consumer.close()

    # Assert
    assert got == BATCHES
    assert grown_to > BOUNDS.fetch_min_wait_ms
