"""ClickHouse only: sealing merges a day's partition only when it holds duplicates, and reads stay exact.

A day without duplicates is sealed by reading it once and leaving a seal mark (no ``OPTIMIZE``); later
reads skip ``FINAL`` only while the mark covers the day. A day with duplicates is merged as before.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from clickhouse_driver import Client
from clickhouse_driver.errors import ErrorCodes, ServerException

from resources.clickhouse.sql import partition_id
from resources.tick_store import ClickHouseTickStore, ClickHouseTickStoreError, PartitionInfo
from resources.tick_store import clickhouse as clickhouse_module
from testkit.servers import ClickHouseServer
from tests.resources.clickhouse.admin import drop_database
from tests.resources.tick_store.helpers import DAY1, DAY2, day_start_us, ids, keys, table, tick

DATABASE = "tick_store_seal"


@pytest.fixture
def store(clickhouse_server: ClickHouseServer) -> Iterator[ClickHouseTickStore]:
    with ClickHouseTickStore(clickhouse_server.url, database=DATABASE) as clickhouse:
        yield clickhouse
    drop_database(clickhouse_server.url, DATABASE)


def _parts(url: str, day: object = DAY1) -> list[tuple[str, int]]:
    """(name, level) of the day's active parts."""
    client = Client.from_url(url)
    try:
        return client.execute(
            "SELECT name, level FROM system.parts WHERE database = %(db)s AND table = 'ticks' AND active"
            " AND partition_id = %(pid)s ORDER BY name",
            {"db": DATABASE, "pid": str(partition_id(day))},  # type: ignore[arg-type]
        )
    finally:
        client.disconnect()


def _marks(url: str) -> list[tuple[int, int]]:
    """(day, rows) of every seal mark."""
    client = Client.from_url(url)
    try:
        return client.execute(f"SELECT day, rows FROM {DATABASE}.ticks_seal_marks ORDER BY day, max_block")
    finally:
        client.disconnect()


def _day_read(store: ClickHouseTickStore) -> list[int]:
    day = {"start_us": day_start_us(DAY1), "end_us": day_start_us(DAY2)}
    return ids(store.read(symbol="BTCUSDT", venue="binance", **day))


def test_a_day_without_duplicates_is_sealed_without_a_merge_and_reads_back_exactly(
    store: ClickHouseTickStore, clickhouse_server: ClickHouseServer
) -> None:
    # Arrange: three inserts (three parts), two symbols, a venue without trade ids
    batches = [
        table([tick(i) for i in range(1, 6)] + [tick(i, symbol="ETHUSDT") for i in range(1, 4)]),
        table([tick(i) for i in range(6, 11)]),
        table([tick(None, offset_s=s, venue="finnhub", price=100.0 + s) for s in range(4)]),
    ]
    for batch in batches:
        store.insert(batch)
    parts_before = _parts(clickhouse_server.url)

    # Act
    sealed = store.seal_and_export(DAY1)

    # Assert: every row once, in export order; the partition was not rewritten, and a mark says why
    assert sealed.num_rows == 17
    assert sorted(keys(sealed)) == sorted(k for batch in batches for k in keys(batch))
    assert sealed.to_pylist() == store.export(DAY1).to_pylist()
    assert _parts(clickhouse_server.url) == parts_before and len(parts_before) == 3
    assert _marks(clickhouse_server.url) == [(partition_id(DAY1), 17)]
    assert store.partitions() == [PartitionInfo(day=DAY1, rows=17)]
    assert _day_read(store) == list(range(1, 11))
    # Sealing again finds the mark: nothing read twice, nothing merged, no second mark
    assert store.seal_and_export(DAY1).to_pylist() == sealed.to_pylist()
    assert _marks(clickhouse_server.url) == [(partition_id(DAY1), 17)]


def test_a_trade_inserted_again_after_a_seal_without_merge_is_read_once_and_merged_by_the_next_seal(
    store: ClickHouseTickStore, clickhouse_server: ClickHouseServer
) -> None:
    store.insert(table([tick(i) for i in range(1, 4)]))
    store.insert(table([tick(i) for i in range(4, 7)]))
    store.seal_and_export(DAY1)

    store.insert(table([tick(3), tick(7)]))  # a late replay: trade 3 again, and a new one
    read = _day_read(store)
    exported = store.export(DAY1)
    resealed = store.seal_and_export(DAY1)

    assert read == list(range(1, 8))  # the mark no longer covers the day: read with FINAL
    assert ids(exported) == list(range(1, 8))
    assert ids(resealed) == list(range(1, 8))
    assert store.partitions() == [PartitionInfo(day=DAY1, rows=7)]
    assert [level > 0 for _, level in _parts(clickhouse_server.url)] == [True]  # merged into one part


@pytest.mark.parametrize(
    "inserts",
    [
        pytest.param([[1, 2, 3], [3, 4]], id="across-inserts"),
        pytest.param([[1, 2, 2, 3]], id="within-one-insert"),
        pytest.param([[3, 1, 2], [2]], id="ids-out-of-time-order"),
    ],
)
def test_a_day_with_duplicates_is_merged_by_the_seal(
    store: ClickHouseTickStore, clickhouse_server: ClickHouseServer, inserts: list[list[int]]
) -> None:
    for trade_ids in inserts:
        store.insert(table([tick(i, offset_s=10 - i if i in (1, 3) else i) for i in trade_ids]))
    distinct = sorted({i for trade_ids in inserts for i in trade_ids})

    sealed = store.seal_and_export(DAY1)

    assert sorted(ids(sealed)) == distinct
    assert store.partitions() == [PartitionInfo(day=DAY1, rows=len(distinct))]
    assert [level > 0 for _, level in _parts(clickhouse_server.url)] == [True]
    assert _marks(clickhouse_server.url) == []


def test_content_keyed_ticks_repeated_are_merged_by_the_seal(store: ClickHouseTickStore) -> None:
    prints = [tick(None, offset_s=s, venue="finnhub", price=100.0 + s) for s in range(3)]
    store.insert(table(prints))
    store.insert(table(prints[1:2]))

    sealed = store.seal_and_export(DAY1)

    assert sealed.num_rows == 3
    assert store.partitions() == [PartitionInfo(day=DAY1, rows=3)]


def test_dropping_a_day_drops_its_seal_marks_and_only_its_own(
    store: ClickHouseTickStore, clickhouse_server: ClickHouseServer
) -> None:
    store.insert(table([tick(1, day=DAY1), tick(2, day=DAY2)]))
    store.insert(table([tick(3, day=DAY1), tick(4, day=DAY2)]))
    store.seal_and_export(DAY1)
    store.seal_and_export(DAY2)

    store.drop(DAY1)
    store.insert(table([tick(1, day=DAY1), tick(1, day=DAY1)]))  # the day again, with a copy

    assert _marks(clickhouse_server.url) == [(partition_id(DAY2), 2)]
    assert ids(store.export(DAY1)) == [1]
    assert ids(store.seal_and_export(DAY1)) == [1]
    assert store.partitions() == [PartitionInfo(day=DAY1, rows=1), PartitionInfo(day=DAY2, rows=2)]


@pytest.mark.parametrize("read_connections", [1, 2, 3])
def test_a_day_reads_the_same_over_one_or_several_read_connections(
    clickhouse_server: ClickHouseServer, read_connections: int
) -> None:
    symbols = ("ADAUSDT", "BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT")
    ticks = table(
        [tick(i, symbol=s, venue=v) for v in ("binance", "sim") for s in symbols for i in range(1, 4)]
    )
    database = f"{DATABASE}_readers_{read_connections}"
    try:
        with ClickHouseTickStore(
            clickhouse_server.url, database=database, read_connections=read_connections
        ) as store:
            store.insert(ticks.slice(0, 13))
            store.insert(ticks.slice(13))

            sealed = store.seal_and_export(DAY1)
            exported = store.export(DAY1)

        expected = ticks.sort_by([(n, "ascending") for n in ("venue", "symbol", "trade_time_us", "trade_id")])
        assert sealed.to_pylist() == expected.to_pylist()
        assert exported.to_pylist() == expected.to_pylist()
    finally:
        drop_database(clickhouse_server.url, database)


def test_a_failed_read_on_a_read_connection_raises_the_store_error_naming_the_pair(
    clickhouse_server: ClickHouseServer,
) -> None:
    database = f"{DATABASE}_failing_reader"
    pairs = [("binance", s) for s in ("BTCUSDT", "ETHUSDT", "SOLUSDT")]
    day = {"start_us": day_start_us(DAY1), "end_us": day_start_us(DAY2)}
    try:
        with ClickHouseTickStore(clickhouse_server.url, database=database, read_connections=2) as store:
            store.insert(table([tick(1)]))
            store._days.table = "no_such_table"  # every per-pair query now fails on the server

            with pytest.raises(ClickHouseTickStoreError, match=r"export 2024-03-01, binance \w+USDT"):
                store._days.select_pairs(pairs, day, final=False, operation="export 2024-03-01")
            store._days.table = "ticks"
            assert ids(store.export(DAY1)) == [1]  # the connections still work
    finally:
        drop_database(clickhouse_server.url, database)


def test_read_connections_below_one_are_refused() -> None:
    with pytest.raises(ValueError, match="read_connections must be at least 1"):
        ClickHouseTickStore("clickhouse://default@127.0.0.1:1/default", read_connections=0)


class _BusyServer(ClickHouseTickStore):
    """A store whose server refuses the seal's merge ``refusals`` times first, as ClickHouse does while
    another merge of the partition runs (CANNOT_ASSIGN_OPTIMIZE), or with ``code`` for another refusal."""

    def __init__(self, url: str, *, refusals: int, code: int = ErrorCodes.CANNOT_ASSIGN_OPTIMIZE) -> None:
        super().__init__(url, database=DATABASE)
        self.refusals = refusals
        self.code = code
        self.optimizes = 0

    def _execute(
        self,
        query: str,
        params: Mapping[str, Any] | None = None,
        *,
        operation: str,
        settings: Mapping[str, Any] | None = None,
    ) -> Any:
        if query.lstrip().upper().startswith("OPTIMIZE"):
            self.optimizes += 1
            if self.optimizes <= self.refusals:
                refused = ServerException("Cannot OPTIMIZE: a merge is running", code=self.code)
                raise ClickHouseTickStoreError(
                    f"{operation}: {refused}", host="127.0.0.1", operation=operation
                ) from (refused)
        return super()._execute(query, params, operation=operation, settings=settings)


@pytest.fixture
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(clickhouse_module, "_OPTIMIZE_RETRY_S", 0.01)


def test_a_seal_refused_while_another_merge_runs_is_tried_again_and_merges(
    clickhouse_server: ClickHouseServer, quick_retries: None, caplog: pytest.LogCaptureFixture
) -> None:
    # Arrange: a day with a duplicate, and a server busy merging it for the first two attempts.
    with _BusyServer(clickhouse_server.url, refusals=2) as busy:
        busy.insert(table([tick(1), tick(2)]))
        busy.insert(table([tick(2), tick(3)]))

        # Act
        with caplog.at_level(logging.INFO, logger="resources.tick_store.clickhouse"):
            rows = busy.seal(DAY1)

        # Assert
        assert rows == 3
        assert busy.optimizes == 3
        assert [level > 0 for _, level in _parts(clickhouse_server.url)] == [True]
        assert sum("partition busy" in record.getMessage() for record in caplog.records) == 2
    drop_database(clickhouse_server.url, DATABASE)


def test_a_seal_refused_for_another_reason_fails_at_once(
    clickhouse_server: ClickHouseServer, quick_retries: None
) -> None:
    # Arrange: the server refuses the merge for a reason waiting does not mend.
    with _BusyServer(clickhouse_server.url, refusals=1, code=ErrorCodes.UNKNOWN_TABLE) as refusing:
        refusing.insert(table([tick(1), tick(1)]))

        # Act / Assert
        with pytest.raises(ClickHouseTickStoreError, match="seal 2024-03-01"):
            refusing.seal(DAY1)
        assert refusing.optimizes == 1
    drop_database(clickhouse_server.url, DATABASE)


def test_a_seal_still_refused_after_every_attempt_raises_the_last_refusal(
    clickhouse_server: ClickHouseServer, quick_retries: None
) -> None:
    # Arrange: a merge that never ends, as far as the seal can wait.
    attempts = clickhouse_module._OPTIMIZE_ATTEMPTS
    with _BusyServer(clickhouse_server.url, refusals=attempts) as busy:
        busy.insert(table([tick(1), tick(1)]))

        # Act / Assert
        with pytest.raises(ClickHouseTickStoreError, match="Cannot OPTIMIZE"):
            busy.seal(DAY1)
        assert busy.optimizes == attempts
    drop_database(clickhouse_server.url, DATABASE)
