"""Build the tick bus: the one way the CLI, services, tests and benchmarks open one."""

from __future__ import annotations

from dataclasses import dataclass, field

from resources.bus.base import TickBus
from resources.bus.kafka_fetch import KafkaFetchConfig
from trading_assets.core.settings import Settings

BUS_KINDS: tuple[str, ...] = ("embedded", "kafka")
KAFKA_CLIENTS: tuple[str, ...] = ("kafka-python", "confluent")


@dataclass(frozen=True, slots=True, kw_only=True)
class TickBusConfig:
    """Which tick bus to open."""

    kind: str = "embedded"
    """``embedded`` (in-process, shared by the producers and consumers of one process) or ``kafka``."""
    kafka_bootstrap: str = "127.0.0.1:9092"
    """Kafka bootstrap servers ``host:port[,host:port]``."""
    kafka_client: str = "kafka-python"
    """The Kafka client library: ``kafka-python`` or ``confluent`` (confluent-kafka)."""
    kafka_fetch: KafkaFetchConfig = field(default_factory=KafkaFetchConfig)
    """How the Kafka bus's consumers fetch."""

    def __post_init__(self) -> None:
        if self.kind not in BUS_KINDS:
            raise ValueError(f"tick bus kind {self.kind!r} must be one of {', '.join(BUS_KINDS)}")
        if self.kafka_client not in KAFKA_CLIENTS:
            raise ValueError(f"Kafka client {self.kafka_client!r} must be one of {', '.join(KAFKA_CLIENTS)}")

    @classmethod
    def from_settings(cls, settings: Settings) -> TickBusConfig:
        """The bus that TRADEGRAPH_BUS, TRADEGRAPH_KAFKA_BOOTSTRAP, TRADEGRAPH_KAFKA_CLIENT and the
        TRADEGRAPH_KAFKA_FETCH_* settings name."""
        return cls(
            kind=settings.bus,
            kafka_bootstrap=settings.kafka_bootstrap,
            kafka_client=settings.kafka_client,
            kafka_fetch=KafkaFetchConfig(
                fetch_max_wait_ms=settings.kafka_fetch_max_wait_ms,
                fetch_min_wait_ms=settings.kafka_fetch_min_wait_ms,
                fetch_min_bytes=settings.kafka_fetch_min_bytes,
                max_partition_fetch_bytes=settings.kafka_fetch_max_partition_bytes,
            ),
        )


def open_tick_bus(config: TickBusConfig) -> TickBus:
    """Open the bus ``config`` names (Kafka connects here, so a dead broker fails at once)."""
    if config.kind == "kafka" and config.kafka_client == "confluent":
        from resources.bus.confluent import ConfluentTickBus

        return ConfluentTickBus(config.kafka_bootstrap, fetch=config.kafka_fetch)
    if config.kind == "kafka":
        from resources.bus.kafka import KafkaTickBus

        return KafkaTickBus(config.kafka_bootstrap, fetch=config.kafka_fetch)
    from resources.bus.embedded import EmbeddedTickBus

    return EmbeddedTickBus()
