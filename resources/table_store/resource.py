"""The table store as a Dagster resource: assets declare ``table_store: TableStoreResource`` and call ``open()``.

Every field is set by whoever builds the resource (``definitions.py`` from the settings, tests directly)
and shown as is in the Dagster UI; nothing here reads the environment.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

import dagster as dg

from resources.clickhouse.workload import ClickHouseWorkload
from resources.table_store.base import TableStore
from resources.table_store.factory import TableStoreConfig, open_table_store


class TableStoreResource(dg.ConfigurableResource):
    """Opens the table store (ClickHouse or embedded Parquet) that holds day-partitioned tables such as bars."""

    kind: Literal["embedded", "clickhouse"]
    """``embedded`` (Parquet files under ``embedded_dir``) or ``clickhouse``."""
    embedded_dir: str | None = None
    """Folder of the embedded store, conventionally ``<tradegraph home>/tables``; needed when ``kind`` is
    ``embedded``."""
    clickhouse_url: str = "clickhouse://default@127.0.0.1:9000/default"
    """clickhouse-driver URL, used when ``kind`` is ``clickhouse``."""
    clickhouse_password: str | None = None
    """ClickHouse password, set as an environment variable so the UI never shows it."""
    clickhouse_database: str = "tradegraph"
    """ClickHouse database of the tables."""
    clickhouse_insert_priority: int = 1
    """ClickHouse ``priority`` of inserts (1 highest; 0: none)."""
    clickhouse_read_priority: int = 2
    """ClickHouse ``priority`` of reads and other statements (above the inserts': they yield to them)."""
    clickhouse_read_max_threads: int = 1
    """ClickHouse ``max_threads`` of reads (0: the server's default)."""
    clickhouse_read_os_thread_priority: int = 0
    """ClickHouse ``os_thread_priority`` (nice) of reads on servers that know it (0: not sent)."""

    def config(self) -> TableStoreConfig:
        """The typed config of the fields."""
        return TableStoreConfig(
            kind=self.kind,
            embedded_dir=Path(self.embedded_dir) if self.embedded_dir else None,
            clickhouse_url=self.clickhouse_url,
            clickhouse_password=self.clickhouse_password,
            clickhouse_database=self.clickhouse_database,
            workload=ClickHouseWorkload(
                insert_priority=self.clickhouse_insert_priority,
                read_priority=self.clickhouse_read_priority,
                read_max_threads=self.clickhouse_read_max_threads,
                read_os_thread_priority=self.clickhouse_read_os_thread_priority,
            ),
        )

    @contextmanager
    def open(self) -> Iterator[TableStore]:
        """The store, closed again when the block ends."""
        store = open_table_store(self.config())
        try:
            yield store
        finally:
            store.close()
