"""Loader against a scripted consumer: bus failures do not stop it, and batches wait no longer than due."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest

from resources.bus.base import BusError, Delivery, TickConsumer
from resources.tick_store.embedded import EmbeddedTickStore
from trading_assets.core.ticks import TICK_SCHEMA
from trading_assets.core.time import US_PER_DAY
from trading_assets.market.simulation import MarketConfig, MarketSimulator
from trading_assets.services.loader import Loader, LoaderConfig

TICKS = MarketSimulator(config=MarketConfig(symbols=("BTCUSDT",)), start_us=20_000 * US_PER_DAY).generate(100)


class ScriptedConsumer(TickConsumer):
    """Hands out ``script`` (tick tables, or exceptions to raise) one per poll; commits may fail on cue."""

    def __init__(
        self, script: list[pa.Table | Exception], failing_commits: int = 0, full_polls: int = 0
    ) -> None:
        self.script = list(script)
        self.failing_commits = failing_commits
        self.full_polls = full_polls  # the first this many polls with ticks return all they asked for
        self.commits = 0
        self.timeouts: list[float] = []

    def poll(self, *, timeout_s: float, max_records: int = 500) -> Delivery:
        self.timeouts.append(timeout_s)
        item = self.script.pop(0) if self.script else TICK_SCHEMA.empty_table()
        if isinstance(item, Exception):
            raise item
        if not item.num_rows:
            time.sleep(timeout_s)  # nothing arrived: a real poll waits out its timeout
        records = 0
        if item.num_rows:
            records = max_records if self.full_polls else 1
            self.full_polls = max(0, self.full_polls - 1)
        return Delivery(ticks=item, records=records, dead_letters=())

    def commit(self) -> None:
        if self.failing_commits:
            self.failing_commits -= 1
            raise BusError("commit failed for group 'loader': KafkaConnectionError('111 ECONNREFUSED')")
        self.commits += 1

    def close(self) -> None:
        pass


@pytest.fixture
def store(tmp_path: Path) -> Iterator[EmbeddedTickStore]:
    with EmbeddedTickStore(tmp_path / "ticks") as opened:
        yield opened


def test_a_failed_commit_leaves_the_rows_stored_and_the_loader_running(store: EmbeddedTickStore) -> None:
    # Arrange: the broker is away when the first batch is committed
    consumer = ScriptedConsumer([TICKS.slice(0, 50), TICKS.slice(50, 50)], failing_commits=1)
    loader = Loader(consumer, store, LoaderConfig(max_rows=50, max_wait_s=10))

    # Act
    inserted = [loader.run_once(), loader.run_once()]

    # Assert: both batches stored once; the second commit covers the first batch's records too
    assert inserted == [50, 50] and loader.stats.bus_failures == 1 and consumer.commits == 1
    assert sum(part.rows for part in store.partitions()) == 100


def test_a_failed_poll_keeps_the_waiting_batch(store: EmbeddedTickStore) -> None:
    # Arrange
    consumer = ScriptedConsumer([TICKS.slice(0, 40), BusError("poll failed"), TICKS.slice(40, 60)])
    loader = Loader(consumer, store, LoaderConfig(max_rows=100, max_wait_s=10, retry_initial_s=0.01))

    # Act
    inserted = [loader.run_once() for _ in range(3)]

    # Assert
    assert inserted == [0, 0, 100] and loader.stats.bus_failures == 1 and consumer.commits == 1


def test_polls_wait_no_longer_than_until_the_waiting_batch_is_due(store: EmbeddedTickStore) -> None:
    # Arrange: polls may wait 5 s, but a waiting batch is due 0.05 s after its first tick
    consumer = ScriptedConsumer([TICKS.slice(0, 10)])
    loader = Loader(consumer, store, LoaderConfig(max_rows=1_000, max_wait_s=0.05, poll_timeout_s=5.0))

    # Act
    first = loader.run_once()
    second = loader.run_once()

    # Assert: the empty second poll waited at most until the batch was due, which it then inserted
    assert (first, second) == (0, 10)
    assert consumer.timeouts[0] == 5.0 and consumer.timeouts[1] <= 0.05


def test_caught_up_with_the_bus_a_batch_goes_in_without_waiting_for_max_wait(
    store: EmbeddedTickStore,
) -> None:
    # Arrange: batches may wait 10 s, but the loader inserts as soon as a poll comes back short
    consumer = ScriptedConsumer([TICKS.slice(0, 10), TICKS.slice(10, 10)])
    loader = Loader(consumer, store, LoaderConfig(max_rows=1_000, max_wait_s=10, min_wait_s=0.0))

    # Act
    inserted = [loader.run_once(), loader.run_once()]

    # Assert
    assert inserted == [10, 10] and consumer.commits == 2


def test_while_the_bus_has_more_buffered_the_batch_keeps_filling(store: EmbeddedTickStore) -> None:
    # Arrange: the first two polls return all they asked for (more is buffered), the third comes back short
    consumer = ScriptedConsumer([TICKS.slice(0, 10), TICKS.slice(10, 10), TICKS.slice(20, 10)], full_polls=2)
    loader = Loader(consumer, store, LoaderConfig(max_rows=1_000, max_wait_s=10, min_wait_s=0.0))

    # Act
    inserted = [loader.run_once() for _ in range(3)]

    # Assert: one insert of everything, once the loader had caught up
    assert inserted == [0, 0, 30] and consumer.commits == 1


def test_caught_up_a_batch_still_waits_min_wait_and_polls_only_until_then(store: EmbeddedTickStore) -> None:
    # Arrange: caught up after the first poll, but batches go in no younger than 0.05 s
    consumer = ScriptedConsumer([TICKS.slice(0, 10)])
    loader = Loader(
        consumer, store, LoaderConfig(max_rows=1_000, max_wait_s=10, min_wait_s=0.05, poll_timeout_s=5.0)
    )

    # Act
    first = loader.run_once()
    second = loader.run_once()

    # Assert: the empty second poll waited at most until min_wait, then the batch went in
    assert (first, second) == (0, 10)
    assert consumer.timeouts[1] <= 0.05


def test_without_min_wait_a_short_poll_does_not_end_the_batch(store: EmbeddedTickStore) -> None:
    # Arrange: the default configuration waits for max_rows or max_wait_s only
    consumer = ScriptedConsumer([TICKS.slice(0, 10), TICKS.slice(10, 10)])
    loader = Loader(consumer, store, LoaderConfig(max_rows=1_000, max_wait_s=10))

    # Act
    inserted = [loader.run_once(), loader.run_once()]

    # Assert
    assert inserted == [0, 0] and consumer.commits == 0
