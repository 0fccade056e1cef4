"""The consumer side of the Kafka tick bus: a consumer-group member reading tick topics
(:class:`KafkaTickConsumer`, manual commits; undecodable records go to the dead-letter topic before its
poll returns), and the whole dead-letter topic read back (:func:`read_dead_letters`)."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import kafka.errors as kerrors
from kafka import KafkaConsumer, OffsetAndMetadata, TopicPartition
from kafka.consumer.fetcher import ConsumerRecord

from resources.bus.base import (
    DEAD_LETTER_TOPIC,
    BusError,
    DeadLetter,
    Delivery,
    Offsets,
    RawRecord,
    TickConsumer,
    first_offsets,
    next_offsets,
)
from resources.bus.codec import dead_letter_from_json, decode_batch, log_dead_letters
from resources.bus.kafka_fetch import AdaptiveFetchWait

if TYPE_CHECKING:
    from resources.bus.kafka import KafkaTickBus

log = logging.getLogger(__name__)


class KafkaTickConsumer(TickConsumer):
    """One member of a Kafka consumer group reading tick topics; not thread-safe."""

    def __init__(self, bus: KafkaTickBus, group: str, topics: Sequence[str]) -> None:
        self._bus = bus
        self.group = group
        self.topics = list(topics)
        adaptive = bus.fetch.adaptive
        self._consumer = bus.new_kafka_consumer(group=group, topics=topics, adaptive_wait=adaptive)
        self._wait = AdaptiveFetchWait(bus.fetch) if adaptive else None
        # kafka-python reads the wait from its fetcher's config whenever it builds a fetch and has no
        # public setter; check once that the place is there, so a kafka-python that moved it fails here.
        if self._wait is not None and _fetcher_config(self._consumer) is None:
            self._consumer.close(autocommit=False)
            raise BusError(
                "this kafka-python keeps its fetch wait elsewhere, so the wait cannot adapt: set "
                "TRADEGRAPH_KAFKA_FETCH_MIN_WAIT_MS to TRADEGRAPH_KAFKA_FETCH_MAX_WAIT_MS (a fixed wait) "
                "or install the kafka-python version pyproject.toml names"
            )

    def _context(self) -> str:
        return f"group {self.group!r} on topics {self.topics} at {self._bus.bootstrap!r}"

    def _poll(self, *, timeout_s: float, max_records: int) -> dict[TopicPartition, list[ConsumerRecord]]:
        try:
            batch = self._consumer.poll(timeout_ms=max(0, int(timeout_s * 1000)), max_records=max_records)
        except kerrors.KafkaError as exc:
            raise BusError(f"poll failed for {self._context()}: {exc!r}") from exc
        if self._wait is not None:
            self._adapt_wait(sum(len(records) for records in batch.values()), max_records)
        return batch

    def _adapt_wait(self, records: int, max_records: int) -> None:
        """Set the next fetches' wait from this poll (:class:`AdaptiveFetchWait`)."""
        assert self._wait is not None
        before = self.fetch_wait_ms
        after = adapt_fetch_wait(self._consumer, self._wait, records=records, max_records=max_records)
        if after != before:
            log.debug("fetch wait %d -> %d ms for %s", before, after, self._context())

    @property
    def fetch_wait_ms(self) -> int:
        """The wait this member's next fetches ask the broker for (as kafka-python holds it)."""
        config = _fetcher_config(self._consumer)
        assert config is not None  # checked when the consumer opened
        return int(config["fetch_max_wait_ms"])

    def poll_records(self, *, timeout_s: float, max_records: int = 500) -> list[RawRecord]:
        """Poll up to ``max_records`` records, undecoded."""
        batch = self._poll(timeout_s=timeout_s, max_records=max_records)
        return _raw(batch)

    def poll(self, *, timeout_s: float, max_records: int = 500) -> Delivery:
        """Poll up to ``max_records`` records; undecodable ones are written to the dead-letter topic first."""
        batch = self._poll(timeout_s=timeout_s, max_records=max_records)
        raw = _raw(batch)
        table, dead = decode_batch(raw)
        if dead:
            log_dead_letters(dead, self._context(), log)
            try:
                self._bus.send_dead_letters(dead)
            except (BusError, kerrors.KafkaError) as exc:
                # Rewind, so a later commit cannot skip records whose dead letters were never written.
                for (topic, partition), offset in first_offsets(raw).items():
                    self._consumer.seek(TopicPartition(topic, partition), offset)
                raise BusError(
                    f"cannot write {len(dead)} dead letters to {DEAD_LETTER_TOPIC!r} for {self._context()}; "
                    f"the poll was rewound: {exc!r}"
                ) from exc
        return Delivery(ticks=table, records=len(raw), dead_letters=tuple(dead), offsets=next_offsets(raw))

    def commit(self, offsets: Offsets | None = None) -> None:
        """Commit the positions of everything polled, or ``offsets`` (synchronously).

        Kafka takes ``offsets`` as given, also for a partition a rebalance has since moved to another
        member: a commit that lands after that member's moves its group back, so records are delivered
        again (the store drops the repeats), never skipped.
        """
        if offsets is not None and not offsets:
            return
        given = (
            None
            if offsets is None
            else {TopicPartition(t, p): OffsetAndMetadata(o, "", -1) for (t, p), o in offsets.items()}
        )
        try:
            self._consumer.commit(offsets=given, timeout_ms=self._bus.request_timeout_ms)
        except kerrors.KafkaError as exc:
            raise BusError(f"commit failed for {self._context()}: {exc!r}") from exc

    def rewind(self) -> None:
        """Seek every assigned partition back to the group's committed offset (its beginning when the group
        committed nothing there); what was fetched past it is dropped and fetched again."""
        try:
            for tp in self._consumer.assignment():
                committed = self._consumer.committed(tp, timeout_ms=self._bus.request_timeout_ms)
                if committed is None:
                    self._consumer.seek_to_beginning(tp)
                else:
                    self._consumer.seek(tp, committed)
        except (kerrors.KafkaError, AssertionError) as exc:
            raise BusError(
                f"rewinding to the committed offsets failed for {self._context()}: {exc!r}"
            ) from exc

    def lag(self) -> int | None:
        """Records between this member's positions and the high watermarks of its partitions' last fetches.

        No extra request: the high watermark comes with every fetch response, so the figure is as old as
        the last poll; None before the group assigned partitions or before the first fetch. On Tansu
        (the test broker) treat it as an estimate: Tansu reports wrong end offsets to ListOffsets (the
        reason :func:`read_dead_letters` reads until quiet instead of to the end offset), which
        is why this uses the fetches' high watermarks instead; those matched the records left in a
        one-partition check, but nothing guarantees them. A real Kafka broker reports exact ones.
        """
        lags = _partition_lags(self._consumer)
        if not lags or None in lags:
            return None
        return sum(max(lag, 0) for lag in lags if lag is not None)

    def close(self) -> None:
        """Leave the group without committing (bounded by the request timeout)."""
        try:
            self._consumer.close(autocommit=False, timeout_ms=self._bus.request_timeout_ms)
        except kerrors.KafkaError as exc:
            raise BusError(f"closing the consumer failed for {self._context()}: {exc!r}") from exc


def read_dead_letters(bus: KafkaTickBus, *, timeout_s: float = 5.0) -> list[DeadLetter]:
    """Read ``bus``'s dead-letter topic from the start with a group-less consumer until it goes quiet.

    Stops after about a second without new records (Tansu's end offsets cannot be trusted to say
    where the topic ends) or after ``timeout_s``.
    """
    deadline = time.monotonic() + timeout_s
    consumer = bus.new_kafka_consumer(group=None)
    try:
        partitions = consumer.partitions_for_topic(DEAD_LETTER_TOPIC)
        consumer.assign([TopicPartition(DEAD_LETTER_TOPIC, p) for p in sorted(partitions)])
        consumer.seek_to_beginning()
        letters: list[tuple[int, int, DeadLetter]] = []
        quiet_since = time.monotonic()
        while (now := time.monotonic()) < deadline and now - quiet_since < min(1.0, timeout_s):
            batch = consumer.poll(timeout_ms=200)
            for records in batch.values():
                letters.extend((r.partition, r.offset, dead_letter_from_json(r.value)) for r in records)
                quiet_since = time.monotonic()
    except kerrors.KafkaError as exc:
        raise BusError(f"cannot read {DEAD_LETTER_TOPIC!r} from Kafka at {bus.bootstrap!r}: {exc!r}") from exc
    finally:
        consumer.close(autocommit=False)
    return [letter for _, _, letter in sorted(letters, key=lambda item: item[:2])]


def _fetcher_config(consumer: KafkaConsumer) -> dict[str, Any] | None:
    """kafka-python's fetcher settings, which it reads whenever it builds a fetch (no public setter)."""
    config = getattr(getattr(consumer, "_fetcher", None), "config", None)
    return config if isinstance(config, dict) and "fetch_max_wait_ms" in config else None


def _partition_lags(consumer: KafkaConsumer) -> list[int | None] | None:
    """Per assigned partition, the high watermark of its last fetch minus the position (no request; None
    where either is not known yet); None when a rebalance took partitions away while this looked."""
    try:
        lags: list[int | None] = []
        for tp in consumer.assignment():
            high = consumer.highwater(tp)
            position = consumer.position(tp, timeout_ms=0)
            lags.append(None if high is None or position is None else high - position)
        return lags
    except (kerrors.KafkaError, AssertionError) as exc:
        # A rebalance may take partitions away between assignment() and position().
        log.debug("partition positions unknown (a rebalance?): %r", exc)
        return None


def records_may_wait(consumer: KafkaConsumer) -> bool:
    """Whether records wait beyond ``consumer``'s position in one of its partitions, from the high
    watermarks of its last fetches (no request; Tansu's matched the true end in fetch responses)."""
    lags = _partition_lags(consumer)
    return lags is not None and any(lag is not None and lag > 0 for lag in lags)


def adapt_fetch_wait(
    consumer: KafkaConsumer, wait: AdaptiveFetchWait, *, records: int, max_records: int
) -> int:
    """Set ``consumer``'s next fetch wait from a poll that returned ``records`` of ``max_records`` asked
    for (:meth:`AdaptiveFetchWait.after_poll`); return the wait."""
    full = records >= max_records
    wait_ms = wait.after_poll(records=records, full=full, behind=not full and records_may_wait(consumer))
    set_fetch_wait(consumer, wait_ms)
    return wait_ms


def set_fetch_wait(consumer: KafkaConsumer, wait_ms: int) -> None:
    """Make ``consumer``'s next fetches ask the broker to wait at most ``wait_ms``."""
    config = _fetcher_config(consumer)
    if config is None:
        raise BusError("this kafka-python keeps its fetch wait elsewhere; the wait cannot be changed")
    config["fetch_max_wait_ms"] = wait_ms


def _raw(batch: dict[TopicPartition, list[ConsumerRecord]]) -> list[RawRecord]:
    return [
        (record.topic, record.partition, record.offset, record.key, record.value)
        for records in batch.values()
        for record in records
    ]
