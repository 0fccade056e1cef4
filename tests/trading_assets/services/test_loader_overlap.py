"""The loader polls the next batch while one is written, and commits exactly the batches it stored.

Against the embedded bus and store; the store's insert is wrapped to block, fail or "crash" on cue.
A new consumer of the loader's group shows what was committed: it gets every record that was not.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pyarrow as pa
import pytest

from resources.bus.base import TickConsumer
from resources.bus.embedded import EmbeddedTickBus
from resources.tick_store.base import StoreUnavailableError, TickStore
from resources.tick_store.factory import TickStoreConfig, open_tick_store
from tests.resources.bus.conftest import drain
from trading_assets.core.time import US_PER_DAY
from trading_assets.market.simulation import MarketConfig, MarketSimulator
from trading_assets.services.loader import Loader, LoaderConfig

TICKS = MarketSimulator(config=MarketConfig(symbols=("BTCUSDT",)), start_us=20_000 * US_PER_DAY).generate(200)
GROUP = "loader"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[TickStore]:
    with open_tick_store(TickStoreConfig(embedded_dir=tmp_path / "ticks")) as opened:
        yield opened


@pytest.fixture
def bus() -> Iterator[EmbeddedTickBus]:
    opened = EmbeddedTickBus(max_ticks_per_record=10)
    with opened:
        yield opened


def wrap_insert(
    monkeypatch: pytest.MonkeyPatch,
    store: TickStore,
    around: Callable[[Callable[[pa.Table], int], pa.Table], int],
) -> None:
    """Make ``store.insert(t)`` call ``around(real_insert, t)``."""
    real = store.insert
    monkeypatch.setattr(store, "insert", lambda ticks: around(real, ticks))


def insert_held(
    monkeypatch: pytest.MonkeyPatch,
    store: TickStore,
    then: Callable[[Callable[[pa.Table], int], pa.Table], int],
) -> tuple[threading.Event, threading.Event]:
    """Make each insert wait for the returned ``release`` (after setting ``entered``), then call ``then``."""
    entered, release = threading.Event(), threading.Event()

    def held(insert: Callable[[pa.Table], int], ticks: pa.Table) -> int:
        entered.set()
        assert release.wait(10)
        return then(insert, ticks)

    wrap_insert(monkeypatch, store, held)
    return entered, release


def first_batch(bus: EmbeddedTickBus, store: TickStore, **config: float) -> tuple[TickConsumer, Loader]:
    """Ticks 0..49 on the bus, and a loader (inserting as soon as it has ticks) of the group on it."""
    bus.publish(TICKS.slice(0, 50))
    consumer = bus.consumer(group=GROUP, venues=["sim"])
    return consumer, Loader(consumer, store, LoaderConfig(max_rows=1_000, max_wait_s=0.0, **config))


def second_batch_polled_during_the_insert(
    bus: EmbeddedTickBus, loader: Loader, entered: threading.Event
) -> bool:
    """Publish ticks 50..99 once the first insert has started; whether the loader polled them meanwhile."""
    assert entered.wait(10)
    bus.publish(TICKS.slice(50, 50))
    return wait_until(lambda: loader.pending_rows == 100)


def wait_until(condition: Callable[[], bool], timeout_s: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True


def redelivered(bus: EmbeddedTickBus) -> pa.Table:
    """What the loader's group gets from a new consumer: everything it did not commit."""
    with bus.consumer(group=GROUP, venues=["sim"]) as again:
        return drain(again, ticks=len(TICKS), timeout_s=0.5, quiet_s=0.1).ticks


def stored_ids(store: TickStore) -> list[int]:
    for part in store.partitions():
        store.seal(part.day)
    return sorted(
        id_ for part in store.partitions() for id_ in store.export(part.day)["trade_id"].to_pylist()
    )


def test_a_blocked_insert_does_not_stop_the_polls_and_commits_only_its_own_batch(
    bus: EmbeddedTickBus, store: TickStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Arrange: the first insert blocks until released
    entered, release = insert_held(monkeypatch, store, lambda insert, ticks: insert(ticks))
    consumer, loader = first_batch(bus, store)
    result: list[int] = []
    runner = threading.Thread(target=lambda: result.append(loader.run_once()))

    # Act: while the first 50 ticks are being inserted, 50 more arrive
    runner.start()
    polled_meanwhile = second_batch_polled_during_the_insert(bus, loader, entered)
    release.set()
    runner.join(10)
    consumer.close()  # as a crash would, before the second batch is inserted

    # Assert: the second batch was polled during the insert, and only the first batch was committed
    assert polled_meanwhile and result == [50]
    assert stored_ids(store) == TICKS["trade_id"].to_pylist()[:50]
    assert redelivered(bus)["trade_id"].to_pylist() == TICKS["trade_id"].to_pylist()[50:100]


def test_an_insert_given_up_at_stop_commits_neither_its_batch_nor_the_next(
    bus: EmbeddedTickBus, store: TickStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Arrange: the store is down for good
    attempts = threading.Event()

    def down(insert: Callable[[pa.Table], int], ticks: pa.Table) -> int:
        attempts.set()
        raise StoreUnavailableError("connection refused")

    wrap_insert(monkeypatch, store, down)
    consumer, loader = first_batch(bus, store, retry_initial_s=0.01)
    stop = threading.Event()
    runner = threading.Thread(target=loader.run, args=(stop,))

    # Act: a second batch is polled while the first is retried, then the loader is stopped
    runner.start()
    polled_meanwhile = second_batch_polled_during_the_insert(bus, loader, attempts)
    stop.set()
    runner.join(10)
    consumer.close()

    # Assert: nothing stored, nothing committed, both batches delivered again
    assert polled_meanwhile and not runner.is_alive() and loader.stats.insert_failures >= 1
    assert store.partitions() == []
    assert redelivered(bus)["trade_id"].to_pylist() == TICKS["trade_id"].to_pylist()[:100]


def test_an_insert_that_raises_commits_nothing_polled_meanwhile(
    bus: EmbeddedTickBus, store: TickStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Arrange: the first insert fails with an error the loader does not retry, after a second batch came
    def broken(insert: Callable[[pa.Table], int], ticks: pa.Table) -> int:
        raise ValueError("a column the store does not know")

    entered, release = insert_held(monkeypatch, store, broken)
    consumer, loader = first_batch(bus, store)
    errors: list[BaseException] = []

    def run_once() -> None:
        try:
            loader.run_once()
        except ValueError as exc:
            errors.append(exc)

    runner = threading.Thread(target=run_once)

    # Act
    runner.start()
    polled_meanwhile = second_batch_polled_during_the_insert(bus, loader, entered)
    release.set()
    runner.join(10)
    consumer.close()

    # Assert: the error reached the loader's caller; the group gets both batches again
    assert polled_meanwhile and len(errors) == 1
    assert redelivered(bus)["trade_id"].to_pylist() == TICKS["trade_id"].to_pylist()[:100]


def test_a_crash_between_insert_and_commit_redelivers_and_the_store_keeps_one_copy(
    bus: EmbeddedTickBus, store: TickStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Arrange: the first loader dies right after its first insert, before the commit
    class Crash(RuntimeError):
        pass

    def crashing(insert: Callable[[pa.Table], int], ticks: pa.Table) -> int:
        insert(ticks)
        raise Crash

    wrap_insert(monkeypatch, store, crashing)
    bus.publish(TICKS.slice(0, 100))
    with bus.consumer(group=GROUP, venues=["sim"]) as consumer:
        with pytest.raises(Crash):
            Loader(consumer, store, LoaderConfig(max_rows=1_000, max_wait_s=0.0)).run_once()
    monkeypatch.undo()

    # Act: the next loader of the group drains the bus
    with bus.consumer(group=GROUP, venues=["sim"]) as consumer:
        loaded = Loader(consumer, store, LoaderConfig(max_rows=1_000, max_wait_s=0.0)).drain(idle_s=0.2)

    # Assert: the batch came again and the sealed store holds each trade once
    assert loaded == 100
    assert stored_ids(store) == TICKS["trade_id"].to_pylist()[:100]


def test_during_a_store_outage_the_loader_polls_one_more_batch_and_keeps_beating(
    bus: EmbeddedTickBus, store: TickStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Arrange: the store is down until `healed`; batches of 20 ticks
    healed = threading.Event()

    def outage(insert: Callable[[pa.Table], int], ticks: pa.Table) -> int:
        if not healed.is_set():
            raise StoreUnavailableError("connection refused")
        return insert(ticks)

    wrap_insert(monkeypatch, store, outage)
    bus.publish(TICKS.slice(0, 20))
    consumer = bus.consumer(group=GROUP, venues=["sim"])
    loader = Loader(
        consumer,
        store,
        LoaderConfig(
            max_rows=20, max_wait_s=10, retry_initial_s=0.01, retry_max_s=0.05, heartbeat_interval_s=0.05
        ),
    )
    stop = threading.Event()
    runner = threading.Thread(target=loader.run, args=(stop,))
    beats = loader.metrics.registry

    # Act: the next batch arrives during the outage, then more than the loader may hold
    runner.start()
    assert wait_until(lambda: loader.stats.insert_failures >= 1)
    bus.publish(TICKS.slice(20, 20))
    assert wait_until(lambda: loader.pending_rows == 40)
    bus.publish(TICKS.slice(40, 60))
    first_beat = beats.get_sample_value("tradegraph_loader_heartbeat_timestamp_seconds")
    time.sleep(0.3)
    held, lag = loader.pending_rows, consumer.lag()
    last_beat = beats.get_sample_value("tradegraph_loader_heartbeat_timestamp_seconds")
    healed.set()
    assert wait_until(lambda: loader.stats.ticks == 100)
    stop.set()
    runner.join(10)

    # Assert: two batches held, the rest left on the bus; the heartbeat went on; everything stored once
    assert (held, lag) == (40, 6)
    assert first_beat is not None and last_beat is not None and last_beat > first_beat
    assert stored_ids(store) == TICKS["trade_id"].to_pylist()[:100]
