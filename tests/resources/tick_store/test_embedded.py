"""Embedded tick store only: many processes on one folder, files vanishing under readers, the layout."""

from __future__ import annotations

import logging
import multiprocessing
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from resources.tick_store import EmbeddedTickStore, PartitionInfo
from resources.tick_store.segments import SegmentFile
from tests.resources.tick_store.helpers import DAY1, DAY2, day_start_us, ids, keys, table, tick
from trading_assets.core.ticks import TICK_SCHEMA

BATCH = 2_000
ROUNDS = 60


def batch(first_id: int, rows: int = BATCH) -> pa.Table:
    """``rows`` BTCUSDT trades with consecutive ids from ``first_id``, one millisecond apart, on DAY1."""
    trade_ids = np.arange(first_id, first_id + rows, dtype=np.int64)
    times = day_start_us(DAY1) + trade_ids * 1_000
    return pa.table(
        {
            "venue": pa.array(["binance"] * rows),
            "symbol": pa.array(["BTCUSDT"] * rows),
            "trade_id": trade_ids,
            "price": np.full(rows, 100.0),
            "quantity": np.full(rows, 0.1),
            "side": np.ones(rows, dtype=np.int8),
            "trade_time_us": times,
            "event_time_us": times + 10,
            "receive_time_us": times + 20,
        },
        schema=TICK_SCHEMA,
    )


class _RetryCounter(logging.Handler):
    """Counts the store's "retrying" log records (a listed file vanished under the reader)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += "retrying" in record.getMessage()


def _reader(root: str, ready: Any, stop: Any, results: Any) -> None:
    """Read the day over and over until told to stop; report errors, duplicates and shrinking reads."""
    retries = _RetryCounter()
    logging.getLogger("resources.tick_store.embedded").addHandler(retries)
    logging.getLogger("resources.tick_store.embedded").setLevel(logging.DEBUG)
    store = EmbeddedTickStore(Path(root))
    reads, duplicates, shrinks, last = 0, 0, 0, 0
    errors: list[str] = []
    while not stop.is_set():
        try:
            got = store.read(symbol="BTCUSDT", start_us=day_start_us(DAY1), end_us=day_start_us(DAY2))
            exported = store.export(DAY1)
            store.partitions()
        except Exception as exc:  # reported to the test, which fails on it
            errors.append(repr(exc))
            continue
        for result in (got, exported):
            duplicates += result.num_rows - len(set(result.column("trade_id").to_pylist()))
        # The writer only adds trades, so a later read may never see fewer of them.
        shrinks += got.num_rows < last
        last = got.num_rows
        reads += 1
        ready.set()
    store.close()
    results.put(
        {
            "reads": reads,
            "retries": retries.count,
            "duplicates": duplicates,
            "shrinks": shrinks,
            "errors": errors[:5],
        }
    )


def test_reader_process_sees_no_error_and_no_duplicate_while_another_inserts_and_seals(
    tmp_path: Path,
) -> None:
    root = tmp_path / "ticks"
    context = multiprocessing.get_context("spawn")
    ready, stop, results = context.Event(), context.Event(), context.Queue()
    with EmbeddedTickStore(root) as store:
        store.insert(batch(0))
        reader = context.Process(target=_reader, args=(str(root), ready, stop, results))
        reader.start()
        try:
            assert ready.wait(60), "reader process did not start reading"

            started = time.monotonic()
            for n in range(1, ROUNDS + 1):
                store.insert(batch(n * BATCH))
                store.insert(batch(n * BATCH))  # a replayed batch
                store.insert(batch(n * BATCH - BATCH // 2))  # overlapping the previous one
                if n % 3 == 0:
                    store.seal(DAY1)
            store.seal(DAY1)
            writing_s = time.monotonic() - started
            time.sleep(0.3)  # let the reader see the final state
        finally:
            stop.set()
            outcome = results.get(timeout=60)
            reader.join(timeout=30)

        print(f"writer {writing_s:.2f} s; reader {outcome}")
        assert outcome["errors"] == []
        assert outcome["duplicates"] == 0
        assert outcome["shrinks"] == 0
        assert outcome["reads"] > 10
        assert store.partitions() == [PartitionInfo(day=DAY1, rows=(ROUNDS + 1) * BATCH)]
        assert ids(store.export(DAY1)) == list(range((ROUNDS + 1) * BATCH))


def test_a_read_retries_when_a_listed_file_has_vanished(tmp_path: Path) -> None:
    store = EmbeddedTickStore(tmp_path)
    store.insert(table([tick(1), tick(2)]))
    real_list = store.folder.list
    calls = Counter[str]()

    def stale_once(day: Any) -> list[SegmentFile]:
        # The first listing names a file that a seal has just deleted.
        calls["list"] += 1
        files = real_list(day)
        if calls["list"] == 1:
            files.append(SegmentFile(tmp_path / "day=2024-03-01" / "seg-0-n5.parquet", 5, False))
        return files

    store.folder.list = stale_once  # type: ignore[method-assign]

    got = store.read(symbol="BTCUSDT", start_us=day_start_us(DAY1), end_us=day_start_us(DAY2))

    assert ids(got) == [1, 2]
    assert calls["list"] == 2


def test_two_sealers_at_once_leave_one_sealed_file(tmp_path: Path) -> None:
    stores = [EmbeddedTickStore(tmp_path) for _ in range(2)]
    for n in range(5):
        stores[0].insert(batch(n * 100, rows=200))  # overlapping batches: 600 unique trades
    remaining: list[int] = []

    threads = [threading.Thread(target=lambda s=s: remaining.append(s.seal(DAY1))) for s in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert remaining == [600, 600]
    day_files = sorted(p.name for p in (tmp_path / "day=2024-03-01").iterdir())
    assert len(day_files) == 1
    assert day_files[0].startswith("sealed-") and day_files[0].endswith("-n600.parquet")


def test_insert_splits_a_batch_by_utc_day_into_one_segment_each(tmp_path: Path) -> None:
    store = EmbeddedTickStore(tmp_path)

    store.insert(table([tick(1, day=DAY1), tick(2, day=DAY2), tick(3, day=DAY1)]))

    assert store.partitions() == [PartitionInfo(day=DAY1, rows=2), PartitionInfo(day=DAY2, rows=1)]
    assert len(list((tmp_path / "day=2024-03-01").glob("seg-*.parquet"))) == 1
    assert keys(store.export(DAY2)) == [("binance", "BTCUSDT", 2)]


def test_leftover_temp_files_are_never_read(tmp_path: Path) -> None:
    store = EmbeddedTickStore(tmp_path)
    store.insert(table([tick(1)]))
    (tmp_path / "day=2024-03-01" / ".seg-deadbeef.tmp").write_bytes(b"half a parquet file")

    assert ids(store.export(DAY1)) == [1]
    assert store.seal(DAY1) == 1
