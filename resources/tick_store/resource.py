"""The tick store as a Dagster resource: assets declare ``tick_store: TickStoreResource`` and call ``open()``.

Fields left unset come from the environment (:class:`trading_assets.core.settings.Settings`) when a run
starts, never at import, so the same Definitions serve the embedded default and production.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg

from resources.tick_store.base import TickStore


class TickStoreResource(dg.ConfigurableResource):
    """Opens the tick store: ClickHouse or the embedded Parquet store."""

    store: str | None = None
    """``embedded`` or ``clickhouse``; unset: TRADEGRAPH_STORE."""
    clickhouse_url: str | None = None
    """clickhouse-driver URL; unset: TRADEGRAPH_CLICKHOUSE_URL."""
    clickhouse_database: str | None = None
    """ClickHouse database; unset: TRADEGRAPH_CLICKHOUSE_DATABASE."""
    embedded_dir: str | None = None
    """Folder of the embedded store; unset: $TRADEGRAPH_HOME/ticks."""

    @contextmanager
    def open(self) -> Iterator[TickStore]:
        """The store, closed again when the block ends."""
        from trading_assets.core.settings import Settings

        settings = Settings.from_env()
        kind = self.store or settings.store
        if kind == "clickhouse":
            from resources.tick_store.clickhouse import ClickHouseTickStore

            store: TickStore = ClickHouseTickStore(
                self.clickhouse_url or settings.clickhouse_url,
                database=self.clickhouse_database or settings.clickhouse_database,
            )
        elif kind == "embedded":
            from resources.tick_store.embedded import EmbeddedTickStore

            store = EmbeddedTickStore(
                Path(self.embedded_dir) if self.embedded_dir else settings.embedded_store_dir
            )
        else:
            raise ValueError(f"TickStoreResource.store={kind!r} must be 'embedded' or 'clickhouse'")
        try:
            yield store
        finally:
            store.close()
