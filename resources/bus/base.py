"""The tick bus interface: tick tables published per venue, consumed by groups with manual commits.

Implementations: :class:`resources.bus.kafka.KafkaTickBus` (kafka-python),
:class:`resources.bus.confluent.ConfluentTickBus` (confluent-kafka) and
:class:`resources.bus.embedded.EmbeddedTickBus` (in-process). All run the contract suite in
``tests/resources/bus/test_contract.py``.

Delivery semantics every implementation keeps:
- one topic per venue (``topic_for(venue)``), record key = symbol, so one symbol's ticks stay in order;
- many ticks travel packed in one record (:mod:`resources.bus.codec`), so throughput is not capped by
  per-record client cost;
- at least once: a consumer group gets every record; what a consumer polled but did not ``commit`` is
  delivered again to the next consumer of its group; each group has its own offsets;
- a consumer commits either everything it polled (``commit()``) or given offsets (``commit(offsets)``,
  e.g. one batch's :attr:`Delivery.offsets` merged with :func:`merge_offsets`), so a loader can commit
  what it stored while it already polls the next batch;
- a record that cannot be decoded goes to the dead-letter topic with the reason; the consumer carries on.
"""

from __future__ import annotations

import abc
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import pyarrow as pa

TOPIC_PREFIX = "ticks."
DEAD_LETTER_TOPIC = "ticks.dead-letters"


class BusError(RuntimeError):
    """The bus failed an operation; the message names the bus (address), topic or group involved."""


def topic_for(venue: str) -> str:
    """The topic that carries ``venue``'s ticks."""
    return f"{TOPIC_PREFIX}{venue}"


@dataclass(frozen=True, slots=True, kw_only=True)
class DeadLetter:
    """A record that could not be decoded, with why."""

    topic: str
    """Topic the record came from."""
    partition: int
    """Partition the record came from."""
    offset: int
    """Offset of the record."""
    key: bytes | None
    """The record's key as received."""
    value: bytes
    """The record's value as received."""
    reason: str
    """What was wrong with it."""


RawRecord = tuple[str, int, int, bytes | None, bytes | None]
"""One bus record as received: (topic, partition, offset, key, value)."""

Offsets = Mapping[tuple[str, int], int]
"""Per (topic, partition): the offset of the next record to deliver; the records before it are done."""


def next_offsets(records: Iterable[RawRecord]) -> dict[tuple[str, int], int]:
    """The :data:`Offsets` just past ``records`` (per partition, the highest offset among them plus one)."""
    offsets: dict[tuple[str, int], int] = {}
    for topic, partition, offset, _, _ in records:
        key = (topic, partition)
        offsets[key] = max(offsets.get(key, 0), offset + 1)
    return offsets


def first_offsets(records: Iterable[RawRecord]) -> dict[tuple[str, int], int]:
    """Per partition, the lowest offset among ``records`` (where a consumer seeks to deliver them again)."""
    offsets: dict[tuple[str, int], int] = {}
    for topic, partition, offset, _, _ in records:
        key = (topic, partition)
        offsets[key] = min(offsets.get(key, offset), offset)
    return offsets


def merge_offsets(into: dict[tuple[str, int], int], offsets: Offsets) -> None:
    """Add ``offsets`` to ``into``, keeping the further offset of each partition both name."""
    for key, offset in offsets.items():
        into[key] = max(into.get(key, offset), offset)


@dataclass(frozen=True, slots=True, kw_only=True)
class Delivery:
    """What one poll returned."""

    ticks: pa.Table
    """All decoded ticks of the poll, as one tick table (possibly empty)."""
    records: int
    """Records that were polled, including dead letters."""
    dead_letters: tuple[DeadLetter, ...]
    """Records that could not be decoded; already sent to the dead-letter topic."""
    offsets: Offsets
    """Just past this poll's records, dead letters included (:func:`next_offsets`): committing them says
    this poll is done; empty when it returned nothing."""


class TickConsumer(abc.ABC):
    """A member of a consumer group; not thread-safe.

    :meth:`poll` decodes tick records; :meth:`poll_records` hands back the records as they are, for
    consumers of other topics (the source loader reads ``sources.<name>`` topics with it).
    """

    @abc.abstractmethod
    def poll(self, *, timeout_s: float, max_records: int = 500) -> Delivery:
        """Wait up to ``timeout_s`` for records and return what arrived (maybe nothing)."""

    @abc.abstractmethod
    def poll_records(self, *, timeout_s: float, max_records: int = 500) -> list[RawRecord]:
        """Wait up to ``timeout_s`` for records and return them undecoded (maybe none)."""

    @abc.abstractmethod
    def commit(self, offsets: Offsets | None = None) -> None:
        """Commit everything polled so far (``offsets`` None), or exactly ``offsets`` (only offsets this
        consumer polled up to, of partitions it reads; nothing when empty): what is committed will not be
        delivered to this group again, what was polled past it will be, should this consumer go away."""

    @abc.abstractmethod
    def rewind(self) -> None:
        """Go back to the group's committed offsets: the next polls deliver again everything polled since
        the last commit (a writer that lost what it wrote reads it again)."""

    @abc.abstractmethod
    def lag(self) -> int | None:
        """Records of this consumer's topics past its position, as far as the bus knows; None if unknown.

        Counted in records (each packs up to ``max_ticks_per_record`` ticks). Exact on the embedded bus;
        on Kafka an estimate from the high watermarks of the last fetches (see
        :meth:`resources.bus.kafka_consumer.KafkaTickConsumer.lag`).
        """

    @abc.abstractmethod
    def close(self) -> None:
        """Leave the group without committing."""

    def __enter__(self) -> TickConsumer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class TickBus(abc.ABC):
    """Publishes tick tables and creates consumers."""

    @abc.abstractmethod
    def publish(self, ticks: pa.Table) -> int:
        """Queue ticks for publishing (split by venue and symbol); return the records queued."""

    @abc.abstractmethod
    def publish_dead_letter(self, letter: DeadLetter) -> None:
        """Queue ``letter`` on the dead-letter topic (e.g. a malformed exchange frame); ``flush`` confirms it."""

    @abc.abstractmethod
    def publish_raw(self, topic: str, key: bytes | None, value: bytes | None) -> None:
        """Queue one record exactly as given, bypassing the codec (tests inject malformed records with it)."""

    @abc.abstractmethod
    def flush(self, timeout_s: float = 30.0) -> None:
        """Block until everything published is acknowledged by the bus; raise if any failed."""

    @abc.abstractmethod
    def consumer(self, *, group: str, venues: Sequence[str]) -> TickConsumer:
        """Join ``group`` reading the topics of ``venues``; new groups start at the earliest record."""

    @abc.abstractmethod
    def record_consumer(self, *, group: str, topics: Sequence[str]) -> TickConsumer:
        """Join ``group`` reading ``topics`` as they are (use :meth:`TickConsumer.poll_records`); new groups
        start at the earliest record. For topics that do not carry ticks (``sources.<name>``)."""

    @abc.abstractmethod
    def dead_letters(self, *, timeout_s: float = 5.0) -> list[DeadLetter]:
        """Read the whole dead-letter topic (for operators and tests)."""

    def close(self) -> None:
        """Flush and release connections."""

    def __enter__(self) -> TickBus:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
