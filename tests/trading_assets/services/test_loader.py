"""Loader against a scripted consumer: bus failures do not stop it, and batches wait no longer than due."""

from __future__ import annotations

import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import orjson
import pyarrow as pa
import pytest
from prometheus_client.parser import text_string_to_metric_families

from resources.bus.base import BusError, Delivery, Offsets, RawRecord, TickConsumer
from resources.bus.embedded import EmbeddedTickBus
from resources.service_state import EmbeddedServiceState, ServiceInstance
from resources.service_state.embedded import embedded_state_path
from resources.tick_store.base import TickStore
from resources.tick_store.embedded import EmbeddedTickStore
from resources.tick_store.factory import TickStoreConfig, open_tick_store
from testkit.servers import free_port
from trading_assets.core.ticks import TICK_SCHEMA
from trading_assets.core.time import US_PER_DAY
from trading_assets.market.simulation import MarketConfig, MarketSimulator
from trading_assets.services.heartbeat import HeartbeatWriter, read_heartbeat
from trading_assets.services.insert_trace import InsertTrace
from trading_assets.services.loader import Loader, LoaderConfig
from trading_assets.services.metrics import serve_metrics

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
        self.committed: list[dict[tuple[str, int], int]] = []
        self.polled = 0  # records handed out; record i is offset i of partition ("ticks.sim", 0)
        self.timeouts: list[float] = []
        self.rewinds = 0

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
        self.polled += records
        offsets = {("ticks.sim", 0): self.polled} if records else {}
        return Delivery(ticks=item, records=records, dead_letters=(), offsets=offsets)

    def poll_records(self, *, timeout_s: float, max_records: int = 500) -> list[RawRecord]:
        raise AssertionError("the loader polls decoded ticks, never raw records")

    def commit(self, offsets: Offsets | None = None) -> None:
        if self.failing_commits:
            self.failing_commits -= 1
            raise BusError("commit failed for group 'loader': KafkaConnectionError('111 ECONNREFUSED')")
        assert offsets is not None, "the loader commits the offsets of what it stored, not all it polled"
        self.commits += 1
        self.committed.append(dict(offsets))

    def rewind(self) -> None:
        self.rewinds += 1

    def lag(self) -> int | None:
        return sum(1 for item in self.script if not isinstance(item, Exception))

    def close(self) -> None:
        pass


@pytest.fixture
def store(tmp_path: Path) -> Iterator[TickStore]:
    with open_tick_store(TickStoreConfig(embedded_dir=tmp_path / "ticks")) as opened:
        yield opened


def test_a_failed_commit_leaves_the_rows_stored_and_the_loader_running(store: TickStore) -> None:
    # Arrange: the broker is away when the first batch is committed
    consumer = ScriptedConsumer([TICKS.slice(0, 50), TICKS.slice(50, 50)], failing_commits=1)
    loader = Loader(consumer, store, LoaderConfig(max_rows=50, max_wait_s=10))

    # Act
    inserted = [loader.run_once(), loader.run_once()]

    # Assert: both batches stored once; the second commit covers the first batch's records too
    assert inserted == [50, 50] and loader.stats.bus_failures == 1 and consumer.commits == 1
    assert sum(part.rows for part in store.partitions()) == 100


def test_a_failed_poll_keeps_the_waiting_batch(store: TickStore) -> None:
    # Arrange
    consumer = ScriptedConsumer([TICKS.slice(0, 40), BusError("poll failed"), TICKS.slice(40, 60)])
    loader = Loader(consumer, store, LoaderConfig(max_rows=100, max_wait_s=10, retry_initial_s=0.01))

    # Act
    inserted = [loader.run_once() for _ in range(3)]

    # Assert
    assert inserted == [0, 0, 100] and loader.stats.bus_failures == 1 and consumer.commits == 1


def test_polls_wait_no_longer_than_until_the_waiting_batch_is_due(store: TickStore) -> None:
    # Arrange: polls may wait 5 s, but a waiting batch is due 0.05 s after its first tick
    consumer = ScriptedConsumer([TICKS.slice(0, 10)])
    loader = Loader(consumer, store, LoaderConfig(max_rows=1_000, max_wait_s=0.05, poll_timeout_s=5.0))

    # Act
    first = loader.run_once()
    second = loader.run_once()

    # Assert: the empty second poll waited at most until the batch was due, which it then inserted
    assert (first, second) == (0, 10)
    assert consumer.timeouts[0] == 5.0 and consumer.timeouts[1] <= 0.05


def test_bus_failures_are_counted_in_the_loader_metrics_per_operation(store: EmbeddedTickStore) -> None:
    # Arrange: one poll and one commit fail (the broker is away)
    consumer = ScriptedConsumer([BusError("poll failed"), TICKS.slice(0, 50)], failing_commits=1)
    loader = Loader(consumer, store, LoaderConfig(max_rows=50, max_wait_s=10, retry_initial_s=0.01))

    # Act
    loader.run_once()
    loader.run_once()

    # Assert
    registry = loader.metrics.registry
    assert registry.get_sample_value("tradegraph_loader_bus_failures_total", {"operation": "poll"}) == 1
    assert registry.get_sample_value("tradegraph_loader_bus_failures_total", {"operation": "commit"}) == 1


def test_consumer_lag_of_the_embedded_bus_is_exact_on_the_metrics_endpoint(
    store: EmbeddedTickStore, tmp_path: Path
) -> None:
    # Arrange: 10 records of 10 ticks wait on the bus
    bus = EmbeddedTickBus(max_ticks_per_record=10)
    bus.publish(TICKS)
    consumer = bus.consumer(group="loader", venues=["sim"])
    state = EmbeddedServiceState(embedded_state_path(tmp_path))
    instance = ServiceInstance(service="loader", venues=("sim",), symbols=(), host="h")
    loader = Loader(
        consumer,
        store,
        LoaderConfig(max_rows=1_000, max_wait_s=0.0),
        heartbeat=HeartbeatWriter(state, instance),
    )
    port = free_port()
    serve_metrics(loader.metrics.registry, port)

    # Act
    loader.beat()
    before = _scrape(port)
    loader.run_once()
    loader.beat()
    after = _scrape(port)

    # Assert
    assert before["tradegraph_loader_consumer_lag_records"] == 10
    assert after["tradegraph_loader_consumer_lag_records"] == 0
    assert after["tradegraph_loader_rows_total"] == 100
    assert read_heartbeat(tmp_path, "loader").detail["lag_records"] == 0  # type: ignore[union-attr]


def _scrape(port: int) -> dict[str, float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    return {
        sample.name: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if not sample.labels
    }


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


def test_the_insert_trace_records_each_insert_when_it_started_and_returned_with_its_ids(
    store: TickStore, tmp_path: Path
) -> None:
    # Arrange: two batches of one symbol (ids 1..50, 51..100)
    trace = InsertTrace(tmp_path / "inserts.jsonl")
    consumer = ScriptedConsumer([TICKS.slice(0, 50), TICKS.slice(50, 50)])
    loader = Loader(consumer, store, LoaderConfig(max_rows=50, max_wait_s=10), trace=trace)

    # Act
    before_us = time.time_ns() // 1_000
    loader.run_once()
    loader.run_once()
    after_us = time.time_ns() // 1_000
    trace.close()

    # Assert: one line per insert, in order, each with the highest id and the count of what it held
    lines = [orjson.loads(line) for line in (tmp_path / "inserts.jsonl").read_bytes().splitlines()]
    assert [line["ids"] for line in lines] == [{"BTCUSDT": [50, 50]}, {"BTCUSDT": [100, 50]}]
    times = [(line["start_us"], line["done_us"]) for line in lines]
    assert before_us <= times[0][0] <= times[0][1] <= times[1][0] <= times[1][1] <= after_us
