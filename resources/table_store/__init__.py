"""Table store: day-partitioned tables (bars, and features, signals, orders, fills, positions, equity to
come) described by a :class:`TableSpec`, in ClickHouse or in Parquet files; a day is replaced atomically."""

from resources.table_store.base import (
    Filters,
    TablePartition,
    TableStore,
    TableStoreError,
    TableStoreUnavailableError,
)
from resources.table_store.factory import TableStoreConfig, open_table_store
from resources.table_store.spec import PartitionDayError, TableSchemaError, TableSpec

__all__ = [
    "Filters",
    "PartitionDayError",
    "TablePartition",
    "TableSchemaError",
    "TableSpec",
    "TableStore",
    "TableStoreConfig",
    "TableStoreError",
    "TableStoreUnavailableError",
    "open_table_store",
]
