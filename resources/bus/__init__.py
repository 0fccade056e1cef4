"""The tick bus: tick tables published per venue and consumed by groups (Kafka or in-process)."""

from resources.bus.base import (
    DEAD_LETTER_TOPIC,
    BusError,
    DeadLetter,
    Delivery,
    TickBus,
    TickConsumer,
    topic_for,
)
from resources.bus.codec import (
    DEFAULT_MAX_TICKS_PER_RECORD,
    RecordDecodeError,
    decode,
    decode_to_table,
    encode,
    encode_table,
    records_to_table,
    split_by_key,
)
from resources.bus.embedded import EmbeddedTickBus, EmbeddedTickConsumer
from resources.bus.factory import TickBusConfig, open_tick_bus
from resources.bus.kafka import KafkaTickBus
from resources.bus.kafka_consumer import KafkaTickConsumer
from resources.bus.kafka_fetch import KafkaFetchConfig

__all__ = [
    "DEAD_LETTER_TOPIC",
    "DEFAULT_MAX_TICKS_PER_RECORD",
    "BusError",
    "DeadLetter",
    "Delivery",
    "EmbeddedTickBus",
    "EmbeddedTickConsumer",
    "KafkaFetchConfig",
    "KafkaTickBus",
    "KafkaTickConsumer",
    "RecordDecodeError",
    "TickBus",
    "TickBusConfig",
    "TickConsumer",
    "decode",
    "decode_to_table",
    "encode",
    "encode_table",
    "open_tick_bus",
    "records_to_table",
    "split_by_key",
    "topic_for",
]
