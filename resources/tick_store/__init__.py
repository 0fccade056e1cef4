"""Tick store: day-partitioned tick tables in ClickHouse (production) or Parquet + DuckDB (embedded)."""

from resources.tick_store.base import PartitionInfo, StoreUnavailableError, TickStore, TradeIdGap
from resources.tick_store.clickhouse import ClickHouseTickStore
from resources.tick_store.clickhouse_connection import ClickHouseTickStoreError, ClickHouseUnavailableError
from resources.tick_store.embedded import EmbeddedTickStore, EmbeddedTickStoreError
from resources.tick_store.factory import TickStoreConfig, open_tick_store

__all__ = [
    "ClickHouseTickStore",
    "ClickHouseTickStoreError",
    "ClickHouseUnavailableError",
    "EmbeddedTickStore",
    "EmbeddedTickStoreError",
    "PartitionInfo",
    "StoreUnavailableError",
    "TickStore",
    "TickStoreConfig",
    "TradeIdGap",
    "open_tick_store",
]
