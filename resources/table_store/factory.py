"""Build the table store a typed config names; the one place that maps a config to an implementation.

The CLI, services, tests, benchmarks and :class:`resources.table_store.resource.TableStoreResource` all
open their table store through :func:`open_table_store`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from resources.clickhouse.workload import ClickHouseWorkload
from resources.table_store.base import TableStore
from trading_assets.core.settings import Settings
from trading_assets.core.urls import url_with_password

TABLES_FOLDER = "tables"
"""Folder of the embedded table store under the tradegraph home (beside the tick store's ``ticks``)."""

TableStoreKind = Literal["embedded", "clickhouse"]


@dataclass(frozen=True, slots=True, kw_only=True)
class TableStoreConfig:
    """Which table store to open and where it keeps its tables."""

    kind: TableStoreKind
    """``embedded`` (Parquet files in ``embedded_dir``) or ``clickhouse``."""
    embedded_dir: Path | None = None
    """Folder of the embedded store (one sub-folder per table); needed when ``kind`` is ``embedded``."""
    clickhouse_url: str = "clickhouse://default@127.0.0.1:9000/default"
    """clickhouse-driver URL of the server, used when ``kind`` is ``clickhouse``."""
    clickhouse_password: str | None = field(default=None, repr=False)
    """ClickHouse password; replaces one in the URL (never in repr)."""
    clickhouse_database: str = "tradegraph"
    """ClickHouse database that holds the tables."""
    workload: ClickHouseWorkload = field(default_factory=ClickHouseWorkload)
    """ClickHouse priorities and threads of the inserts and the reads."""

    @classmethod
    def from_settings(cls, settings: Settings) -> TableStoreConfig:
        """The table store beside the tick store the settings name: same backend, same server, same home."""
        store: TableStoreKind = "clickhouse" if settings.store == "clickhouse" else "embedded"
        password = settings.clickhouse_password
        return cls(
            kind=store,
            embedded_dir=settings.home / TABLES_FOLDER,
            clickhouse_url=settings.clickhouse_url,
            clickhouse_password=None if password is None else password.get_secret_value(),
            clickhouse_database=settings.clickhouse_database,
            workload=ClickHouseWorkload.from_settings(settings),
        )


def open_table_store(config: TableStoreConfig) -> TableStore:
    """The table store ``config`` names (ClickHouse connects on first use, not here)."""
    if config.kind == "clickhouse":
        from resources.table_store.clickhouse import ClickHouseTableStore

        url = url_with_password(config.clickhouse_url, config.clickhouse_password)
        return ClickHouseTableStore(url, database=config.clickhouse_database, workload=config.workload)
    if config.kind == "embedded":
        from resources.table_store.embedded import EmbeddedTableStore

        if config.embedded_dir is None:
            raise ValueError("the embedded table store needs a folder: set embedded_dir (e.g. <home>/tables)")

        return EmbeddedTableStore(config.embedded_dir)
    raise ValueError(f"table store {config.kind!r} must be 'embedded' or 'clickhouse'")
