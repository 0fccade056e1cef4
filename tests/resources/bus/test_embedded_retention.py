"""Embedded bus only: it trims what every group committed and bounds the rest, so memory stays flat.

Kafka leaves retention to the broker (its topics' retention settings), so these do not apply to it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from resources.bus import BusError, DeadLetter, EmbeddedTickBus, topic_for
from tests.resources.bus.conftest import drain, make_ticks

SYMBOLS = ["BTCUSDT", "ETHUSDT"]


def test_many_records_through_publish_consume_commit_keep_the_retained_count_bounded(
    venue: str, group_name: Callable[[str], str]
) -> None:
    # Arrange: two groups (the loader and, say, an executor) read the same topic
    bus = EmbeddedTickBus(max_ticks_per_record=100)
    loader = bus.consumer(group=group_name("loader"), venues=[venue])
    executor = bus.consumer(group=group_name("executor"), venues=[venue])
    retained_peak, delivered = 0, {"loader": 0, "executor": 0}

    # Act: 2,000 rounds of 1,000 ticks (2,000,000 ticks, 20,000 records) published, polled and committed
    for i in range(2_000):
        bus.publish(make_ticks(venue, SYMBOLS, 1_000, first_id=1 + i * 1_000, seed=i % 7))
        for name, consumer in (("loader", loader), ("executor", executor)):
            delivery = consumer.poll(timeout_s=1.0, max_records=1_000)
            delivered[name] += delivery.ticks.num_rows
            consumer.commit()
        retained_peak = max(retained_peak, bus.retained()[0])

    # Assert: everything arrived, at most one round's records were ever held, none are left
    assert delivered == {"loader": 2_000_000, "executor": 2_000_000}
    assert retained_peak <= 20
    assert bus.retained() == (0, 0)
    assert bus.trimmed_records == 20_000


def test_the_slowest_group_holds_the_records_it_has_not_committed(
    venue: str, group_name: Callable[[str], str]
) -> None:
    # Arrange
    bus = EmbeddedTickBus(max_ticks_per_record=100)
    fast = bus.consumer(group=group_name("fast"), venues=[venue])
    slow = bus.consumer(group=group_name("slow"), venues=[venue])
    bus.publish(make_ticks(venue, ["BTCUSDT"], 1_000))  # 10 records

    # Act: the fast group commits all, the slow one the first 4 records
    drain(fast, ticks=1_000, quiet_s=0.05)
    fast.commit()
    slow.poll(timeout_s=1.0, max_records=4)
    slow.commit()

    # Assert: only what both committed is gone
    assert bus.retained()[0] == 6 and bus.trimmed_records == 4
    assert slow.lag() == 6 and fast.lag() == 0


def test_a_group_joining_late_starts_at_the_oldest_record_still_held(
    venue: str, group_name: Callable[[str], str]
) -> None:
    # Arrange: the loader committed the first 1,000 ticks, which are then trimmed
    bus = EmbeddedTickBus()
    bus.publish(make_ticks(venue, ["BTCUSDT"], 1_000, first_id=1))
    with bus.consumer(group=group_name("loader"), venues=[venue]) as loader:
        drain(loader, ticks=1_000, quiet_s=0.05)
        loader.commit()
    bus.publish(make_ticks(venue, ["BTCUSDT"], 500, first_id=1_001))

    # Act
    with bus.consumer(group=group_name("late"), venues=[venue]) as late:
        got = drain(late, ticks=500, quiet_s=0.05)

    # Assert: as on a Kafka topic whose retention removed the older records
    assert got.ticks["trade_id"].to_pylist() == list(range(1_001, 1_501))


def test_a_full_backlog_blocks_the_producer_until_a_commit_makes_room(
    venue: str, group_name: Callable[[str], str]
) -> None:
    # Arrange: room for about two records of 100 ticks
    bus = EmbeddedTickBus(max_ticks_per_record=100, max_backlog_bytes=10_000, publish_timeout_s=10.0)
    consumer = bus.consumer(group=group_name("loader"), venues=[venue])
    bus.publish(make_ticks(venue, ["BTCUSDT"], 200, first_id=1))
    returned = threading.Event()

    def publish_more() -> None:
        bus.publish(make_ticks(venue, ["BTCUSDT"], 100, first_id=201))
        returned.set()

    producer = threading.Thread(target=publish_more)

    # Act
    producer.start()
    blocked = not returned.wait(0.5)
    drain(consumer, ticks=200, quiet_s=0.05)
    consumer.commit()
    producer.join(timeout=10)

    # Assert: it waited while full and went on once the loader committed
    assert blocked and returned.is_set()
    assert drain(consumer, ticks=100, quiet_s=0.05).ticks["trade_id"].to_pylist() == list(range(201, 301))


def test_a_backlog_that_stays_full_fails_the_publish_clearly(
    venue: str, group_name: Callable[[str], str]
) -> None:
    # Arrange: a group that reads nothing and commits nothing (a stuck loader)
    bus = EmbeddedTickBus(max_ticks_per_record=100, max_backlog_bytes=10_000, publish_timeout_s=0.3)
    bus.consumer(group=group_name("stuck"), venues=[venue])
    bus.publish(make_ticks(venue, ["BTCUSDT"], 200, first_id=1))

    # Act
    started = time.monotonic()
    with pytest.raises(BusError, match=r"embedded tick bus is full: .* limit 10,000") as failure:
        bus.publish(make_ticks(venue, ["BTCUSDT"], 100, first_id=201))

    # Assert: it gave up after its timeout, naming the topic; nothing was appended
    assert 0.3 <= time.monotonic() - started < 5
    assert topic_for(venue) in str(failure.value)
    assert bus.retained()[0] == 2


def test_dead_letters_keep_the_newest_and_count_what_was_dropped() -> None:
    # Arrange
    bus = EmbeddedTickBus(max_dead_letters=100)
    letters = [
        DeadLetter(topic="feed.sim", partition=-1, offset=-1, key=None, value=b"{", reason=f"bad {i}")
        for i in range(250)
    ]

    # Act
    for letter in letters:
        bus.publish_dead_letter(letter)

    # Assert
    assert bus.dead_letters() == letters[150:]
    assert bus.dead_letters_dropped == 150
