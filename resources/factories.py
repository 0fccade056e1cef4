"""Open the tick store and bus that the settings name; the one place that maps settings to implementations."""

from __future__ import annotations

from resources.bus.base import TickBus
from resources.tick_store.base import TickStore
from trading_assets.core.settings import Settings


def open_tick_store(settings: Settings) -> TickStore:
    """The tick store chosen by ``TRADEGRAPH_STORE``."""
    if settings.store == "clickhouse":
        from resources.tick_store.clickhouse import ClickHouseTickStore

        return ClickHouseTickStore(settings.clickhouse_url, database=settings.clickhouse_database)
    from resources.tick_store.embedded import EmbeddedTickStore

    return EmbeddedTickStore(settings.embedded_store_dir)


def open_tick_bus(settings: Settings) -> TickBus:
    """The tick bus chosen by ``TRADEGRAPH_BUS``."""
    if settings.bus == "kafka":
        from resources.bus.kafka import KafkaTickBus

        return KafkaTickBus(settings.kafka_bootstrap)
    from resources.bus.embedded import EmbeddedTickBus

    return EmbeddedTickBus()
