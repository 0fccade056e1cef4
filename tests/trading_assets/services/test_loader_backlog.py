"""A loader started behind a backlog on a real Kafka-protocol broker (Tansu) catches up: every tick once."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pyarrow as pa

from resources.bus import KafkaTickBus, TickBusConfig, open_tick_bus
from resources.tick_store.factory import TickStoreConfig, open_tick_store
from testkit.harness import assert_every_trade_stored_once
from testkit.servers import KafkaBroker
from trading_assets.core.ticks import TICK_SCHEMA
from trading_assets.core.time import US_PER_DAY
from trading_assets.services.loader import Loader, LoaderConfig

VENUE = "backlog"
SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT", "ADAUSDT", "XRPUSDT")
DAY_US = 20_100 * US_PER_DAY


def streamer_tables(ticks_per_symbol: int, table_rows: int) -> list[pa.Table]:
    """Ticks of every symbol (ids 1..n each) in ``table_rows``-row tables, interleaved like a live feed."""
    ids = np.repeat(np.arange(1, ticks_per_symbol + 1, dtype=np.int64), len(SYMBOLS))
    symbols = np.tile(np.array(SYMBOLS, dtype=object), ticks_per_symbol)
    n = len(ids)
    trade_us = DAY_US + 3_600_000_000 + np.arange(n, dtype=np.int64) * 200
    table = pa.table(
        {
            "venue": pa.array(np.full(n, VENUE, dtype=object), pa.string()),
            "symbol": pa.array(symbols, pa.string()),
            "trade_id": ids,
            "price": 100.0 + (ids % 97) * 0.01,
            "quantity": np.full(n, 0.5),
            "side": np.where(ids % 2 == 0, 1, -1).astype(np.int8),
            "trade_time_us": trade_us,
            "event_time_us": trade_us + 30,
            "receive_time_us": trade_us + 1_500,
        },
        schema=TICK_SCHEMA,
    )
    return [table.slice(start, table_rows) for start in range(0, n, table_rows)]


def test_a_loader_started_behind_a_backlog_stores_every_tick_once(
    kafka_broker: KafkaBroker, tmp_path: Path
) -> None:
    # Arrange: the streamer's producer path (one table per 50 ms of trades at 5,000/s, acknowledged
    # after each) publishes 150,000 ticks, 3,000 small records, while no loader runs
    per_symbol = 30_000
    with KafkaTickBus(kafka_broker.bootstrap) as producer_bus:
        for table in streamer_tables(per_symbol, table_rows=250):
            producer_bus.publish(table)
            producer_bus.flush(timeout_s=30)
    total = per_symbol * len(SYMBOLS)

    # Act: a loader starts at the beginning of the backlog and runs until it has stored every tick
    # (bounded: a stall fails the test instead of hanging it)
    with (
        open_tick_bus(TickBusConfig(kind="kafka", kafka_bootstrap=kafka_broker.bootstrap)) as bus,
        open_tick_store(TickStoreConfig(embedded_dir=tmp_path / "ticks")) as store,
    ):
        consumer = bus.consumer(group="loader-backlog", venues=[VENUE])
        loader = Loader(consumer, store, LoaderConfig(max_rows=50_000, max_wait_s=0.5))
        stop = threading.Event()
        worker = threading.Thread(target=loader.run, args=(stop,), daemon=True)
        worker.start()
        try:
            caught_up = loader.wait_loaded(total, timeout_s=180)
        finally:
            stop.set()
            worker.join(timeout=30)
            consumer.close()

        # Assert: everything stored, each trade exactly once (before and after sealing), nothing left
        rows_before_seal = sum(part.rows for part in store.partitions())
        assert caught_up, f"the loader stored {loader.stats.ticks} of {total} ticks within 180 s"
        assert rows_before_seal == total
        assert_every_trade_stored_once(store, dict.fromkeys(SYMBOLS, per_symbol), venue=VENUE)
