"""One contract for every tick bus: the Kafka bus (against a Tansu broker) and the embedded bus.

Each test uses its own venue (so its own topic) and its own consumer groups, so tests share the
session broker without seeing each other's records.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from resources.bus import BusError, DeadLetter, EmbeddedTickBus, KafkaTickBus, topic_for
from resources.bus.base import RawRecord, TickConsumer
from resources.bus.confluent import ConfluentTickBus
from testkit.servers import KafkaBroker
from tests.resources.bus.conftest import drain, make_ticks, sort_ticks
from trading_assets.core.ticks import TICK_SCHEMA

SYMBOLS = ["BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT", "ADAUSDT"]
Bus = KafkaTickBus | ConfluentTickBus | EmbeddedTickBus
KafkaBus = KafkaTickBus | ConfluentTickBus


@pytest.fixture(params=["kafka", "confluent", "embedded"])
def bus(request: pytest.FixtureRequest) -> Iterator[Bus]:
    if request.param in ("kafka", "confluent"):
        broker: KafkaBroker = request.getfixturevalue("kafka_broker")
        kind = KafkaTickBus if request.param == "kafka" else ConfluentTickBus
        with kind(broker.bootstrap, request_timeout_ms=10_000) as kafka_bus:
            yield kafka_bus
    else:
        with EmbeddedTickBus() as embedded_bus:
            yield embedded_bus


def publish(bus: Bus, ticks: pa.Table) -> int:
    records = bus.publish(ticks)
    bus.flush(timeout_s=30)
    return records


def test_consumer_gets_every_published_tick_exactly_once(
    bus: Bus, venue: str, group_name: Callable[[str], str]
) -> None:
    ticks = make_ticks(venue, SYMBOLS, 12_345)
    publish(bus, ticks)

    with bus.consumer(group=group_name("loader"), venues=[venue]) as consumer:
        got = drain(consumer, ticks=ticks.num_rows)

    assert got.ticks.num_rows == 12_345
    assert sort_ticks(got.ticks).equals(sort_ticks(ticks))
    assert got.dead_letters == []


def test_each_symbols_ticks_arrive_in_publish_order(
    bus: Bus, venue: str, group_name: Callable[[str], str]
) -> None:
    # Ten publishes make several records per symbol, spread over partitions by key.
    batches = [make_ticks(venue, SYMBOLS, 3_000, first_id=1 + i * 3_000, seed=i) for i in range(10)]
    for batch in batches:
        publish(bus, batch)

    with bus.consumer(group=group_name("ordered"), venues=[venue]) as consumer:
        got = drain(consumer, ticks=30_000)

    assert got.ticks.num_rows == 30_000
    published = pa.concat_tables(batches)
    for symbol in SYMBOLS:
        sent = published.filter(pc.equal(published["symbol"], symbol))
        received = got.ticks.filter(pc.equal(got.ticks["symbol"], symbol))
        assert received.equals(sent), symbol


def test_many_ticks_are_packed_per_record(bus: Bus, venue: str, group_name: Callable[[str], str]) -> None:
    ticks = make_ticks(venue, SYMBOLS, 25_000)  # 5,000 per symbol: 3 records each at 2,000 per record

    queued = publish(bus, ticks)

    with bus.consumer(group=group_name("packed"), venues=[venue]) as consumer:
        got = drain(consumer, ticks=25_000)
    assert queued == 15
    assert got.records == 15
    assert got.ticks.num_rows == 25_000


def test_two_groups_each_get_everything(bus: Bus, venue: str, group_name: Callable[[str], str]) -> None:
    ticks = make_ticks(venue, SYMBOLS, 5_000)
    publish(bus, ticks)

    with bus.consumer(group=group_name("loader"), venues=[venue]) as loader:
        loaded = drain(loader, ticks=5_000)
    with bus.consumer(group=group_name("executor"), venues=[venue]) as executor:
        executed = drain(executor, ticks=5_000)

    assert sort_ticks(loaded.ticks).equals(sort_ticks(ticks))
    assert sort_ticks(executed.ticks).equals(sort_ticks(ticks))


def test_polled_but_uncommitted_records_go_to_the_next_consumer_of_the_group(
    bus: Bus, venue: str, group_name: Callable[[str], str]
) -> None:
    ticks = make_ticks(venue, SYMBOLS, 4_000)
    publish(bus, ticks)
    group = group_name("loader")
    with bus.consumer(group=group, venues=[venue]) as first:
        assert drain(first, ticks=4_000).ticks.num_rows == 4_000
        # closed without commit, as a crashed loader would

    with bus.consumer(group=group, venues=[venue]) as second:
        again = drain(second, ticks=4_000)

    assert sort_ticks(again.ticks).equals(sort_ticks(ticks))


def test_committed_records_are_not_delivered_to_the_group_again(
    bus: Bus, venue: str, group_name: Callable[[str], str]
) -> None:
    committed = make_ticks(venue, SYMBOLS, 3_000, first_id=1)
    uncommitted = make_ticks(venue, SYMBOLS, 2_000, first_id=10_001)
    group = group_name("loader")
    publish(bus, committed)
    with bus.consumer(group=group, venues=[venue]) as first:
        assert drain(first, ticks=3_000).ticks.num_rows == 3_000
        first.commit()
        publish(bus, uncommitted)
        assert drain(first, ticks=2_000).ticks.num_rows == 2_000

    with bus.consumer(group=group, venues=[venue]) as second:
        again = drain(second, ticks=2_000)

    assert sort_ticks(again.ticks).equals(sort_ticks(uncommitted))


def test_committing_a_polls_offsets_commits_its_records_and_not_those_polled_after(
    bus: Bus, venue: str, group_name: Callable[[str], str]
) -> None:
    stored = make_ticks(venue, SYMBOLS, 3_000, first_id=1)
    in_flight = make_ticks(venue, SYMBOLS, 2_000, first_id=10_001)
    group = group_name("loader")
    publish(bus, stored)
    with bus.consumer(group=group, venues=[venue]) as first:
        batch = drain(first, ticks=3_000)
        publish(bus, in_flight)
        assert drain(first, ticks=2_000).ticks.num_rows == 2_000
        first.commit({})  # nothing
        first.commit(batch.offsets)  # the first batch only, as a loader commits what it stored

    with bus.consumer(group=group, venues=[venue]) as second:
        again = drain(second, ticks=2_000)

    assert batch.ticks.num_rows == 3_000 and sum(batch.offsets.values()) == batch.records
    assert sort_ticks(again.ticks).equals(sort_ticks(in_flight))


def test_a_rewound_consumer_gets_again_everything_polled_since_the_last_commit(
    bus: Bus, venue: str, group_name: Callable[[str], str]
) -> None:
    # Arrange: one batch committed, the next polled and not committed
    committed = make_ticks(venue, SYMBOLS, 3_000, first_id=1)
    lost = make_ticks(venue, SYMBOLS, 2_000, first_id=10_001)
    group = group_name("loader")
    publish(bus, committed)
    with bus.consumer(group=group, venues=[venue]) as consumer:
        batch = drain(consumer, ticks=3_000)
        consumer.commit(batch.offsets)
        publish(bus, lost)
        assert drain(consumer, ticks=2_000).ticks.num_rows == 2_000

        # Act: as the loader does when the store lost what it wrote since its last commit
        consumer.rewind()
        again = drain(consumer, ticks=2_000)

    # Assert: the uncommitted records once more, nothing of the committed batch
    assert sort_ticks(again.ticks).equals(sort_ticks(lost))


def test_garbage_record_goes_to_dead_letters_and_good_records_still_arrive(
    bus: Bus, venue: str, group_name: Callable[[str], str], caplog: pytest.LogCaptureFixture
) -> None:
    before, after = (
        make_ticks(venue, ["BTCUSDT"], 100, first_id=1),
        make_ticks(venue, ["BTCUSDT"], 100, first_id=101),
    )
    bus.publish(before)
    bus.publish_raw(topic_for(venue), b"BTCUSDT", b"definitely not a tick record")
    bus.publish(after)
    bus.flush(timeout_s=30)

    group = group_name("loader")
    with caplog.at_level(logging.WARNING, logger="resources.bus"):
        with bus.consumer(group=group, venues=[venue]) as consumer:
            got = drain(consumer, ticks=200)
    letters = [d for d in bus.dead_letters(timeout_s=10) if d.topic == topic_for(venue)]
    warnings = [r.getMessage() for r in caplog.records if r.getMessage().startswith("dead letter from")]

    assert sort_ticks(got.ticks).equals(sort_ticks(pa.concat_tables([before, after])))
    assert got.records == 3
    assert len(got.dead_letters) == 1
    assert "bad magic b'defi'" in got.dead_letters[0].reason
    assert letters == list(got.dead_letters)
    assert letters[0].value == b"definitely not a tick record"
    assert letters[0].key == b"BTCUSDT"
    # Operators find it in the consumer's log too: where it was, who read it and what was wrong.
    letter = got.dead_letters[0]
    assert len(warnings) == 1
    assert warnings[0].startswith(
        f"dead letter from {letter.topic}[{letter.partition}] offset {letter.offset} (group {group!r}"
    )
    assert warnings[0].endswith(f"): {letter.reason}")


def test_published_dead_letter_is_read_back_exactly(bus: Bus, venue: str) -> None:
    letter = DeadLetter(
        topic=f"feed.{venue}",
        partition=-1,
        offset=-1,
        key=None,
        value=b'{"e":"trade"',
        reason="truncated JSON",
    )

    bus.publish_dead_letter(letter)
    bus.flush(timeout_s=30)

    assert [d for d in bus.dead_letters(timeout_s=10) if d.topic == f"feed.{venue}"] == [letter]


def test_publishing_from_several_threads_loses_nothing(
    bus: Bus, venue: str, group_name: Callable[[str], str]
) -> None:
    # Feeds call publish from their own threads (the streamer), so the bus must be thread-safe.
    batches = [make_ticks(venue, [f"SYM{i}A", f"SYM{i}B"], 3_000, first_id=1 + i * 3_000) for i in range(4)]
    threads = [threading.Thread(target=bus.publish, args=(batch,)) for batch in batches]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    bus.flush(timeout_s=30)

    with bus.consumer(group=group_name("loader"), venues=[venue]) as consumer:
        got = drain(consumer, ticks=12_000)

    assert sort_ticks(got.ticks).equals(sort_ticks(pa.concat_tables(batches)))


def test_empty_poll_returns_an_empty_tick_table_within_its_timeout(
    bus: Bus, venue: str, group_name: Callable[[str], str]
) -> None:
    with bus.consumer(group=group_name("idle"), venues=[venue]) as consumer:
        started = time.monotonic()
        delivery = consumer.poll(timeout_s=1.0)
        elapsed = time.monotonic() - started

    assert delivery.records == 0
    assert delivery.ticks.num_rows == 0
    assert delivery.ticks.schema.equals(TICK_SCHEMA)
    assert delivery.dead_letters == ()
    assert elapsed < 1.5


def test_embedded_bus_refuses_a_second_open_consumer_in_a_group(venue: str) -> None:
    bus = EmbeddedTickBus()
    with (
        bus.consumer(group="loader", venues=[venue]),
        pytest.raises(BusError, match="group 'loader' already has an open consumer"),
    ):
        bus.consumer(group="loader", venues=[venue])
    with bus.consumer(group="loader", venues=[venue]) as consumer:  # free again once closed
        assert consumer.poll(timeout_s=0).records == 0


def test_embedded_bus_refuses_to_commit_past_what_the_consumer_polled(venue: str) -> None:
    bus = EmbeddedTickBus()
    publish(bus, make_ticks(venue, SYMBOLS, 100))
    with bus.consumer(group="loader", venues=[venue]) as consumer:
        polled = consumer.poll(timeout_s=0, max_records=1)
        with pytest.raises(BusError, match="cannot commit offset 2"):
            consumer.commit({(topic_for(venue), 0): 2})
        consumer.commit(polled.offsets)
        assert polled.offsets == {(topic_for(venue), 0): 1}


@pytest.mark.slow
@pytest.mark.parametrize("kind", [KafkaTickBus, ConfluentTickBus], ids=["kafka", "confluent"])
def test_kafka_bus_after_broker_restart_acknowledges_or_fails_clearly_and_a_new_bus_works(
    tmp_path: Path, venue: str, kind: type[KafkaBus]
) -> None:
    # Memory storage: the restarted broker is empty, like a replaced broker. Records published
    # before the restart are gone; what matters is that nothing hangs and nothing fails silently.
    lost, after_restart, fresh = (
        make_ticks(venue, SYMBOLS, 1_000, first_id=i * 10_000 + 1) for i in range(3)
    )
    with KafkaBroker(tmp_path / "tansu") as broker:
        old_bus = kind(broker.bootstrap, request_timeout_ms=3_000)
        publish(old_bus, lost)
        broker.restart()

        started = time.monotonic()
        try:
            publish(old_bus, after_restart)
            failure = None
        except BusError as exc:
            failure = str(exc)
        flush_s = time.monotonic() - started
        old_bus.close()

        with kind(broker.bootstrap, request_timeout_ms=3_000) as new_bus:
            publish(new_bus, fresh)
            expected = fresh if failure else pa.concat_tables([after_restart, fresh])
            with new_bus.consumer(group="after-restart", venues=[venue]) as consumer:
                got = drain(consumer, ticks=expected.num_rows)

    assert flush_s < 30
    assert failure is None or (broker.bootstrap in failure and topic_for(venue) in failure), failure
    assert sort_ticks(got.ticks).equals(sort_ticks(expected))


@pytest.mark.slow
@pytest.mark.parametrize("kind", [KafkaTickBus, ConfluentTickBus], ids=["kafka", "confluent"])
def test_a_commit_to_a_frozen_broker_fails_within_the_request_timeout(
    tmp_path: Path, venue: str, kind: type[KafkaBus]
) -> None:
    # Arrange: a consumer that polled everything, then a broker that stops answering (SIGSTOP: the
    # connections stay open, nothing comes back, as with a hung broker)
    with KafkaBroker(tmp_path / "tansu") as broker, kind(broker.bootstrap, request_timeout_ms=3_000) as bus:
        publish(bus, make_ticks(venue, SYMBOLS, 1_000))
        consumer = bus.consumer(group="frozen", venues=[venue])
        drain(consumer, ticks=1_000)
        assert broker.pid is not None
        os.kill(broker.pid, signal.SIGSTOP)
        try:
            # Act
            started = time.monotonic()
            with pytest.raises(BusError, match="commit failed") as failure:
                consumer.commit()
            took_s = time.monotonic() - started
        finally:
            os.kill(broker.pid, signal.SIGCONT)
        consumer.close()

    # Assert: bounded by the request timeout, and the error names the group
    assert took_s < 3.0 + 2.0
    assert "group 'frozen'" in str(failure.value)


def test_records_one_group_committed_still_reach_a_group_that_did_not(
    bus: Bus, venue: str, group_name: Callable[[str], str]
) -> None:
    # Trimming (the embedded bus drops what its groups committed) must never take what another group of
    # the topic has not committed yet.
    first = make_ticks(venue, SYMBOLS, 3_000, first_id=1)
    second = make_ticks(venue, SYMBOLS, 2_000, first_id=3_001)
    fast, slow = group_name("fast"), group_name("slow")
    publish(bus, first)
    with bus.consumer(group=slow, venues=[venue]) as slow_consumer:
        assert drain(slow_consumer, ticks=3_000).ticks.num_rows == 3_000  # read, never committed
    with bus.consumer(group=fast, venues=[venue]) as fast_consumer:
        assert drain(fast_consumer, ticks=3_000).ticks.num_rows == 3_000
        fast_consumer.commit()
        publish(bus, second)
        assert drain(fast_consumer, ticks=2_000).ticks.num_rows == 2_000
        fast_consumer.commit()

    with bus.consumer(group=slow, venues=[venue]) as slow_consumer:
        got = drain(slow_consumer, ticks=5_000)

    assert sort_ticks(got.ticks).equals(sort_ticks(pa.concat_tables([first, second])))


def test_lag_counts_the_records_not_yet_polled(
    bus: Bus, venue: str, group_name: Callable[[str], str]
) -> None:
    ticks = make_ticks(venue, ["BTCUSDT"], 10_000)  # 5 records of 2,000

    publish(bus, ticks)
    with bus.consumer(group=group_name("lag"), venues=[venue]) as consumer:
        got = drain(consumer, ticks=10_000)
        lag_after = consumer.lag()

    assert got.ticks.num_rows == 10_000
    # Kafka knows the lag from its fetches' high watermarks (None before any); Tansu's are not exact for
    # kafka-python. The confluent consumer counts the partitions that never had a record as 0 (one symbol
    # fills one of the topic's three partitions).
    assert lag_after == 0 or (isinstance(bus, KafkaTickBus) and (lag_after is None or lag_after >= 0))


def _poll_all(consumer: TickConsumer, wanted: int, *, timeout_s: float = 30.0) -> list[RawRecord]:
    got: list[RawRecord] = []
    deadline = time.monotonic() + timeout_s
    while len(got) < wanted and time.monotonic() < deadline:
        got.extend(consumer.poll_records(timeout_s=0.5))
    return got


def test_record_consumer_gets_raw_records_of_any_topic_in_order_and_redelivers_uncommitted(
    bus: Bus, venue: str, group_name: Callable[[str], str]
) -> None:
    topic = f"sources.{venue}"
    values = [f"record {i}".encode() for i in range(50)]
    for value in values:
        bus.publish_raw(topic, b"one-key", value)
    bus.flush(timeout_s=30)
    group = group_name("records")

    with bus.record_consumer(group=group, topics=[topic]) as first:
        taken = _poll_all(first, 50)
        # closed without commit: the next consumer of the group gets them again
    with bus.record_consumer(group=group, topics=[topic]) as second:
        again = _poll_all(second, 50)
        second.commit()
    with bus.record_consumer(group=group, topics=[topic]) as third:
        after_commit = third.poll_records(timeout_s=1.0)

    assert [record[4] for record in taken] == values
    assert all(record[0] == topic and record[3] == b"one-key" for record in taken)
    assert [record[4] for record in again] == values
    assert after_commit == []


def test_record_consumer_refuses_the_dead_letter_topic(bus: Bus, group_name: Callable[[str], str]) -> None:
    with pytest.raises(BusError, match="dead_letters"):
        bus.record_consumer(group=group_name("dlq"), topics=["ticks.dead-letters"])
