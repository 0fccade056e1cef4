"""The loader through the store's insert buffer (``LoaderConfig.sync_s``): offsets are committed only after
the store synced, a store down at the sync keeps them for the next one, and a loss rewinds the consumer to
the last commit."""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow as pa

from resources.bus.embedded import EmbeddedTickBus
from resources.tick_store import ClickHouseTickStore
from resources.tick_store.base import StoreRowsLostError, StoreUnavailableError
from resources.tick_store.embedded import EmbeddedTickStore
from testkit.servers import ClickHouseServer
from tests.resources.clickhouse.admin import drop_database
from tests.trading_assets.services.test_loader import TICKS, ScriptedConsumer
from trading_assets.services.loader import Loader, LoaderConfig


class SyncLog(EmbeddedTickStore):
    """The embedded store, noting each buffered insert and sync; its syncs fail as ``failures`` says."""

    def __init__(self, path: Path, failures: list[Exception | None] | None = None) -> None:
        super().__init__(path)
        self.events: list[str] = []
        self.failures = list(failures or [])

    def insert_buffered(self, ticks: pa.Table) -> int:
        self.events.append("insert")
        return super().insert_buffered(ticks)

    def sync(self) -> None:
        failure = self.failures.pop(0) if self.failures else None
        self.events.append("sync" if failure is None else f"sync failed: {type(failure).__name__}")
        if failure is not None:
            raise failure


def _config(sync_s: float) -> LoaderConfig:
    # Every caught-up poll writes its batch (min_wait_s 0), so each run_once below is one buffered insert.
    return LoaderConfig(max_rows=1_000, max_wait_s=10, min_wait_s=0.0, sync_s=sync_s, retry_initial_s=0.01)


def test_offsets_are_committed_only_once_the_store_synced_the_batches(tmp_path: Path) -> None:
    # Arrange: no sync falls due during the polls
    store = SyncLog(tmp_path / "ticks")
    consumer = ScriptedConsumer([TICKS.slice(0, 10), TICKS.slice(10, 10), TICKS.slice(20, 10)])
    loader = Loader(consumer, store, _config(sync_s=3600))

    # Act
    inserted = [loader.run_once() for _ in range(3)]
    committed_before_flush = list(consumer.committed)
    loader.flush()

    # Assert: buffered inserts (the loader polls on while one runs, so fewer than polls), nothing
    # committed, then one sync and one commit of all three polls
    assert sum(inserted) == 30 and committed_before_flush == []
    assert store.events[-1] == "sync" and set(store.events[:-1]) == {"insert"}
    assert consumer.committed == [{("ticks.sim", 0): 3}]


def test_a_sync_falls_due_on_its_interval_while_the_loader_polls(tmp_path: Path) -> None:
    # Arrange: a sync is due at every write
    store = SyncLog(tmp_path / "ticks")
    consumer = ScriptedConsumer([TICKS.slice(0, 10), TICKS.slice(10, 10)])
    loader = Loader(consumer, store, _config(sync_s=0.0))

    # Act
    loader.run_once()
    loader.run_once()

    # Assert
    assert store.events == ["insert", "sync", "insert", "sync"]
    assert consumer.committed == [{("ticks.sim", 0): 1}, {("ticks.sim", 0): 2}]


def test_a_store_down_at_the_sync_keeps_the_offsets_for_the_next_sync(tmp_path: Path) -> None:
    # Arrange
    store = SyncLog(tmp_path / "ticks", failures=[StoreUnavailableError("server down"), None])
    consumer = ScriptedConsumer([TICKS.slice(0, 10), TICKS.slice(10, 10)])
    loader = Loader(consumer, store, _config(sync_s=0.0))

    # Act
    loader.run_once()
    committed_after_failure = list(consumer.committed)
    loader.run_once()

    # Assert: counted; the second sync commits both batches
    assert committed_after_failure == [] and loader.stats.insert_failures == 1
    assert consumer.committed == [{("ticks.sim", 0): 2}]


def test_a_loss_at_the_sync_rewinds_the_consumer_and_commits_nothing_since_the_last_sync(
    tmp_path: Path,
) -> None:
    # Arrange: the first sync succeeds, the second finds the server restarted
    store = SyncLog(tmp_path / "ticks", failures=[None, StoreRowsLostError("restarted")])
    consumer = ScriptedConsumer([TICKS.slice(0, 10), TICKS.slice(10, 10), TICKS.slice(20, 10)])
    loader = Loader(consumer, store, _config(sync_s=0.0))
    loader.run_once()

    # Act
    loader.run_once()
    committed_after_loss = list(consumer.committed)
    loader.run_once()

    # Assert: back to the last commit, nothing of the lost batch committed, nothing of it held either (a
    # real bus delivers it again: the bus contract and the fault test show that); the loader goes on
    assert consumer.rewinds == 1 and loader.stats.rewinds == 1
    assert committed_after_loss == consumer.committed == [{("ticks.sim", 0): 1}]
    assert loader.pending_rows == 0


def test_every_tick_reaches_clickhouse_through_the_insert_buffer(clickhouse_server: ClickHouseServer) -> None:
    # Arrange: 10 records of 10 ticks on the bus
    bus = EmbeddedTickBus(max_ticks_per_record=10)
    bus.publish(TICKS)
    database = f"loader_sync_{os.getpid()}"
    try:
        with (
            ClickHouseTickStore(clickhouse_server.url, database=database) as store,
            bus.consumer(group="loader", venues=["sim"]) as consumer,
        ):
            loader = Loader(consumer, store, LoaderConfig(max_rows=30, max_wait_s=0.0, sync_s=0.05))

            # Act
            loaded = loader.drain(idle_s=0.3)

            # Assert: on disk (the tick table, not only the buffer), and every record committed
            assert loaded == TICKS.num_rows
            assert sum(part.rows for part in store.partitions()) == TICKS.num_rows
            assert consumer.lag() == 0
    finally:
        drop_database(clickhouse_server.url, database)
