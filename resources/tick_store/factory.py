"""Build the tick store: the one way the CLI, services, tests, benchmarks and Dagster open one."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from resources.clickhouse.workload import ClickHouseWorkload
from resources.tick_store.base import TickStore
from trading_assets.core.settings import DEFAULT_HOME, Settings
from trading_assets.core.urls import url_with_password

STORE_KINDS: tuple[str, ...] = ("embedded", "clickhouse")


@dataclass(frozen=True, slots=True, kw_only=True)
class TickStoreConfig:
    """Which tick store to open and where it lives."""

    kind: str = "embedded"
    """``embedded`` (Parquet + DuckDB in a folder) or ``clickhouse``."""
    embedded_dir: Path = Path(DEFAULT_HOME) / "ticks"
    """Folder of the embedded store."""
    clickhouse_url: str = "clickhouse://default@127.0.0.1:9000/default"
    """clickhouse-driver URL of the ClickHouse server."""
    clickhouse_password: str | None = field(default=None, repr=False)
    """ClickHouse password; replaces one in the URL (never in repr)."""
    database: str = "tradegraph"
    """ClickHouse database of the tick tables."""
    workload: ClickHouseWorkload = field(default_factory=ClickHouseWorkload)
    """ClickHouse priorities and threads of the inserts and the reads."""

    def __post_init__(self) -> None:
        if self.kind not in STORE_KINDS:
            raise ValueError(f"tick store kind {self.kind!r} must be one of {', '.join(STORE_KINDS)}")

    @classmethod
    def from_settings(cls, settings: Settings) -> TickStoreConfig:
        """The store that TRADEGRAPH_STORE and its companions name."""
        password = settings.clickhouse_password
        return cls(
            kind=settings.store,
            embedded_dir=settings.embedded_store_dir,
            clickhouse_url=settings.clickhouse_url,
            clickhouse_password=None if password is None else password.get_secret_value(),
            database=settings.clickhouse_database,
            workload=ClickHouseWorkload.from_settings(settings),
        )


def open_tick_store(config: TickStoreConfig) -> TickStore:
    """Open the store ``config`` names (ClickHouse connects on first use, so a service may start first)."""
    if config.kind == "clickhouse":
        from resources.tick_store.clickhouse import ClickHouseTickStore

        url = url_with_password(config.clickhouse_url, config.clickhouse_password)
        return ClickHouseTickStore(url, database=config.database, workload=config.workload)
    from resources.tick_store.embedded import EmbeddedTickStore

    return EmbeddedTickStore(config.embedded_dir)
