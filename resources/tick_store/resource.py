"""The tick store as a Dagster resource: assets declare ``tick_store: TickStoreResource`` and call ``open()``.

Its fields are the whole configuration (``trading_assets/definitions.py`` sets them from the settings
read when the code location loads), so the Dagster UI shows what a run will use, and ``open()`` reads no
environment: it builds a :class:`~resources.tick_store.factory.TickStoreConfig` and goes through the one
factory. The ClickHouse password is set as ``dg.EnvVar``, so the UI shows the variable's name only.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg

from resources.clickhouse.workload import ClickHouseWorkload
from resources.tick_store.base import TickStore
from resources.tick_store.factory import TickStoreConfig, open_tick_store


class TickStoreResource(dg.ConfigurableResource):
    """Opens the tick store: ClickHouse or the embedded Parquet store."""

    kind: str = "embedded"
    """``embedded`` or ``clickhouse``."""
    embedded_dir: str
    """Folder of the embedded store."""
    clickhouse_url: str = "clickhouse://default@127.0.0.1:9000/default"
    """clickhouse-driver URL (without a password: that goes in ``clickhouse_password``)."""
    clickhouse_password: str | None = None
    """ClickHouse password, set as an environment variable so the UI never shows it."""
    clickhouse_database: str = "tradegraph"
    """ClickHouse database of the tick tables."""
    clickhouse_insert_priority: int = 1
    """ClickHouse ``priority`` of inserts (1 highest; 0: none)."""
    clickhouse_read_priority: int = 2
    """ClickHouse ``priority`` of reads and other statements (above the inserts': they yield to them)."""
    clickhouse_read_max_threads: int = 1
    """ClickHouse ``max_threads`` of reads (0: the server's default)."""
    clickhouse_read_os_thread_priority: int = 0
    """ClickHouse ``os_thread_priority`` (nice) of reads on servers that know it (0: not sent)."""

    def config(self) -> TickStoreConfig:
        """The factory's configuration of this store."""
        return TickStoreConfig(
            kind=self.kind,
            embedded_dir=Path(self.embedded_dir),
            clickhouse_url=self.clickhouse_url,
            clickhouse_password=self.clickhouse_password,
            database=self.clickhouse_database,
            workload=ClickHouseWorkload(
                insert_priority=self.clickhouse_insert_priority,
                read_priority=self.clickhouse_read_priority,
                read_max_threads=self.clickhouse_read_max_threads,
                read_os_thread_priority=self.clickhouse_read_os_thread_priority,
            ),
        )

    @contextmanager
    def open(self) -> Iterator[TickStore]:
        """The store, closed again when the block ends."""
        store = open_tick_store(self.config())
        try:
            yield store
        finally:
            store.close()
