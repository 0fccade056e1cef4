"""What the two Kafka tick buses share, whichever client library speaks the protocol.

:class:`resources.bus.kafka.KafkaTickBus` (kafka-python) and :class:`resources.bus.confluent.ConfluentTickBus`
(confluent-kafka) take the same options, cache the topics they know exist, publish through the same codec
and open their consumers alike; that lives here, in :class:`KafkaBusBase`. Each client supplies how it opens
its clients, creates topics, queues a record, flushes, writes dead letters at once, closes, and its
consumer class.
"""

from __future__ import annotations

import abc
import threading
from collections.abc import Iterable, Sequence
from typing import Generic, TypeVar

import pyarrow as pa

from resources.bus.base import DEAD_LETTER_TOPIC, BusError, DeadLetter, TickBus, TickConsumer, topic_for
from resources.bus.codec import (
    DEFAULT_MAX_TICKS_PER_RECORD,
    check_max_ticks_per_record,
    check_venue,
    dead_letter_to_json,
    encode_table,
)
from resources.bus.kafka_fetch import KafkaFetchConfig

ConsumerT = TypeVar("ConsumerT", bound=TickConsumer)


class KafkaBusBase(TickBus, Generic[ConsumerT]):
    """A tick bus on a Kafka-protocol broker: topics ``ticks.<venue>`` created on first use with
    ``partitions`` partitions, records keyed by symbol (one symbol stays in one partition and in order).

    ``replication_factor=None`` takes the broker's default. ``linger_ms`` is how long the producer
    gathers records into a batch. ``session_timeout_ms`` and ``heartbeat_interval_ms`` apply to
    consumers: a group (re)join takes about half the session timeout; ``fetch`` is how they fetch
    (:class:`KafkaFetchConfig`). ``idempotence`` is off by default: see the client's class.
    """

    def __init__(
        self,
        bootstrap: str,
        *,
        partitions: int = 3,
        replication_factor: int | None = None,
        client_id: str = "tradegraph",
        request_timeout_ms: int = 15_000,
        max_ticks_per_record: int = DEFAULT_MAX_TICKS_PER_RECORD,
        linger_ms: int = 5,
        session_timeout_ms: int = 6_000,
        heartbeat_interval_ms: int = 2_000,
        idempotence: bool = False,
        fetch: KafkaFetchConfig | None = None,
    ) -> None:
        if partitions < 1:
            raise ValueError(f"partitions must be at least 1, got {partitions}")
        check_max_ticks_per_record(max_ticks_per_record)
        self.bootstrap = bootstrap
        self.partitions = partitions
        self.replication_factor = replication_factor
        self.client_id = client_id
        self.request_timeout_ms = request_timeout_ms
        self.max_ticks_per_record = max_ticks_per_record
        self.linger_ms = linger_ms
        self.session_timeout_ms = session_timeout_ms
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.idempotence = idempotence
        self.fetch = fetch or KafkaFetchConfig()
        self._lock = threading.Lock()
        self._admin_lock = threading.Lock()
        self._known_topics: set[str] = set()
        self._closed = False
        self._open_clients()
        # A dead broker fails here at the latest (librdkafka connects lazily), not at the first publish.
        try:
            self.ensure_topics([DEAD_LETTER_TOPIC])
        except BusError:
            self._abandon_clients()
            raise

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.bootstrap!r})"

    @abc.abstractmethod
    def _open_clients(self) -> None:
        """Open the producer and the admin client (the options are set); a client that connects at once
        raises :class:`BusError` when the broker does not answer."""

    @abc.abstractmethod
    def _abandon_clients(self) -> None:
        """Close the clients of a bus whose construction failed (nothing was queued)."""

    @abc.abstractmethod
    def _create_topics(self, missing: list[str]) -> None:
        """Create ``missing`` (an existing one is fine); raise :class:`BusError` if one cannot be."""

    @abc.abstractmethod
    def _send(self, topic: str, key: bytes | None, value: bytes | None) -> object:
        """Queue one record; the next :meth:`flush` reports whether it was acknowledged."""

    @abc.abstractmethod
    def _open_consumer(self, group: str, topics: Sequence[str]) -> ConsumerT:
        """A member of consumer group ``group`` on ``topics`` (which exist)."""

    def _serve_delivery_reports(self) -> None:
        """Hand the delivery reports that arrived to their callbacks (for a client that needs a call)."""

    def ensure_topics(self, topics: Iterable[str]) -> None:
        """Create the topics that do not exist yet (an existing topic is left as it is)."""
        missing = sorted(set(topics) - self._known_topics)
        if not missing:
            return
        # One creation at a time: kafka-python's admin client is not thread-safe, and publish may be
        # called from many threads.
        with self._admin_lock:
            self._create_topics(missing)
        with self._lock:
            self._known_topics.update(missing)

    def publish(self, ticks: pa.Table) -> int:
        """Queue ``ticks`` as records keyed by symbol (at most ``max_ticks_per_record`` each)."""
        encoded = encode_table(ticks, self.max_ticks_per_record)
        self.ensure_topics({topic_for(venue) for venue, _, _ in encoded})
        for venue, symbol, value in encoded:
            self._send(topic_for(venue), symbol.encode(), value)
        self._serve_delivery_reports()
        return len(encoded)

    def publish_dead_letter(self, letter: DeadLetter) -> None:
        """Queue ``letter`` as JSON on the dead-letter topic; ``flush`` confirms it."""
        self._send(DEAD_LETTER_TOPIC, letter.key, dead_letter_to_json(letter))

    def publish_raw(self, topic: str, key: bytes | None, value: bytes | None) -> None:
        """Queue one record as given, bypassing the codec (tests inject malformed records with it)."""
        self.ensure_topics([topic])
        self._send(topic, key, value)

    def consumer(self, *, group: str, venues: Sequence[str]) -> ConsumerT:
        """Join consumer group ``group`` on the topics of ``venues`` (created if missing)."""
        for venue in venues:
            check_venue(venue)
        return self.record_consumer(group=group, topics=[topic_for(venue) for venue in venues])

    def record_consumer(self, *, group: str, topics: Sequence[str]) -> ConsumerT:
        """Join consumer group ``group`` on ``topics`` (created if missing)."""
        if DEAD_LETTER_TOPIC in topics:
            raise BusError(
                f"{DEAD_LETTER_TOPIC!r} is read whole with dead_letters(), not by a consumer group"
            )
        self.ensure_topics(topics)
        return self._open_consumer(group, topics)

    @abc.abstractmethod
    def close(self) -> None:
        """Flush, then close the clients (also when the flush fails); idempotent."""

    @abc.abstractmethod
    def send_dead_letters(self, letters: Sequence[DeadLetter]) -> None:
        """Write ``letters`` to the dead-letter topic now and wait for each to be acknowledged (a
        consumer does before its poll returns); raise if one failed."""
