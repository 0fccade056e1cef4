"""The consumer side of the confluent-kafka tick bus: a consumer-group member reading tick topics
(:class:`ConfluentTickConsumer`, manual commits; undecodable records go to the dead-letter topic before its
poll returns), and the whole dead-letter topic read back (:func:`read_dead_letters`).

librdkafka fetches in its own thread and keeps what it fetched in a local queue that ``poll`` reads; the
positions this member commits are kept here, from the records it handed out, so ``commit()`` commits what
was polled (not what was prefetched) and a rewind or a revoked partition resets them.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import TYPE_CHECKING, Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, Message, TopicPartition

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

if TYPE_CHECKING:
    from resources.bus.confluent import ConfluentTickBus

log = logging.getLogger(__name__)

# librdkafka prefetches up to this much per consumer (its default is 64 MB): a loader polls about 1 MB a
# time, so this keeps a few polls ready without holding a backlog in memory.
_PREFETCH_KBYTES = 8 * 1024


def consumer_config(bus: ConfluentTickBus, group: str) -> dict[str, Any]:
    """librdkafka settings of a member of ``group`` (manual commits, earliest offsets, a fixed fetch wait)."""
    return {
        **bus.client_config(),
        "group.id": group,
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "auto.offset.reset": "earliest",
        "session.timeout.ms": bus.session_timeout_ms,
        "heartbeat.interval.ms": bus.heartbeat_interval_ms,
        # librdkafka cannot change the wait of an open consumer, so it is the configured maximum; on Tansu
        # that is also its time budget to find the records (kafka_fetch.py says why it must not be short
        # there), on Apache Kafka it costs nothing while records flow.
        "fetch.wait.max.ms": bus.fetch.fetch_max_wait_ms,
        "fetch.min.bytes": bus.fetch.fetch_min_bytes,
        "max.partition.fetch.bytes": bus.fetch.max_partition_fetch_bytes,
        "queued.max.messages.kbytes": _PREFETCH_KBYTES,
    }


class ConfluentTickConsumer(TickConsumer):
    """One member of a Kafka consumer group reading tick topics through librdkafka; not thread-safe."""

    def __init__(self, bus: ConfluentTickBus, group: str, topics: Sequence[str]) -> None:
        self._bus = bus
        self.group = group
        self.topics = list(topics)
        self._positions: dict[tuple[str, int], int] = {}
        """Per assigned partition: the next offset to hand out (from the records polled, else the group's
        committed offset at assignment); what ``commit()`` and ``lag()`` go by."""
        self._committed: dict[tuple[str, int], int] = {}
        self._assigned: set[tuple[str, int]] = set()
        """The partitions assigned to this member now (the rebalance callbacks keep it)."""
        # The synchronous commit of confluent-kafka has no timeout (it waits for the broker as long as it
        # takes, 45 s against a frozen one): it runs here, and the caller waits the request timeout.
        self._committer = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"commit-{group}")
        self._consumer = Consumer(consumer_config(bus, group))
        self._consumer.subscribe(
            self.topics, on_assign=self._on_assign, on_revoke=self._on_revoke, on_lost=self._on_revoke
        )

    def _context(self) -> str:
        return f"group {self.group!r} on topics {self.topics} at {self._bus.bootstrap!r}"

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        # The same words as kafka-python's log line, which operators (and the fault tests) look for.
        log.info("Setting newly assigned partitions %s for %s", _names(partitions), self._context())
        self._assigned.update((tp.topic, tp.partition) for tp in partitions)
        # Where this member starts in each partition, for lag(): librdkafka knows no position in a
        # partition until it handed out a record of it (an empty one never has).
        try:
            committed = consumer.committed(partitions, timeout=self._bus.request_timeout_ms / 1000)
        except KafkaException as exc:
            log.warning(
                "committed offsets unknown for %s (lag unknown until records arrive): %r",
                self._context(),
                exc,
            )
            return
        for tp in committed:
            if tp.offset >= 0:
                self._committed[(tp.topic, tp.partition)] = tp.offset

    def _on_revoke(self, _consumer: Consumer, partitions: list[TopicPartition]) -> None:
        log.info("Revoking partitions %s for %s", _names(partitions), self._context())
        for tp in partitions:
            self._assigned.discard((tp.topic, tp.partition))
            self._positions.pop((tp.topic, tp.partition), None)
            self._committed.pop((tp.topic, tp.partition), None)

    def _poll(self, *, timeout_s: float, max_records: int) -> list[RawRecord]:
        try:
            first = self._consumer.poll(max(0.0, timeout_s))
            messages = [] if first is None else [first]
            if first is not None and max_records > 1:
                messages += self._consumer.consume(max_records - 1, 0)
        except KafkaException as exc:
            raise BusError(f"poll failed for {self._context()}: {exc!r}") from exc
        records: list[RawRecord] = []
        for message in messages:
            error = message.error()
            if error is not None:
                if error.fatal():
                    raise BusError(f"poll failed for {self._context()}: {error}")
                # Not fatal (e.g. a topic whose metadata is not there yet): librdkafka keeps trying.
                log.warning("poll for %s: %s", self._context(), error)
                continue
            records.append(_raw(message))
        for key, offset in next_offsets(records).items():
            # A rebalance served inside consume() may have revoked a partition of the first record: its
            # position is no longer this member's to commit.
            if key in self._assigned:
                self._positions[key] = offset
        return records

    def poll_records(self, *, timeout_s: float, max_records: int = 500) -> list[RawRecord]:
        """Poll up to ``max_records`` records, undecoded."""
        return self._poll(timeout_s=timeout_s, max_records=max_records)

    def poll(self, *, timeout_s: float, max_records: int = 500) -> Delivery:
        """Poll up to ``max_records`` records; undecodable ones are written to the dead-letter topic first."""
        raw = self._poll(timeout_s=timeout_s, max_records=max_records)
        table, dead = decode_batch(raw)
        if dead:
            log_dead_letters(dead, self._context(), log)
            try:
                self._bus.send_dead_letters(dead)
            except (BusError, KafkaException) as exc:
                # Rewind, so a later commit cannot skip records whose dead letters were never written.
                # Only partitions still assigned: librdkafka refuses to seek one a rebalance took away, and
                # the records there are the new owner's to deliver again.
                firsts = first_offsets(raw)
                self._seek({key: offset for key, offset in firsts.items() if key in self._assigned})
                raise BusError(
                    f"cannot write {len(dead)} dead letters to {DEAD_LETTER_TOPIC!r} for {self._context()}; "
                    f"the poll was rewound: {exc!r}"
                ) from exc
        return Delivery(ticks=table, records=len(raw), dead_letters=tuple(dead), offsets=next_offsets(raw))

    def commit(self, offsets: Offsets | None = None) -> None:
        """Commit the positions of everything polled, or ``offsets`` (synchronously).

        The broker takes ``offsets`` as given, also for a partition a rebalance has since moved to another
        member: records are then delivered again (the store drops the repeats), never skipped.
        """
        given = dict(self._positions) if offsets is None else offsets
        if not given:
            return
        timeout_s = self._bus.request_timeout_ms / 1000
        commit = self._committer.submit(
            self._consumer.commit,
            offsets=[TopicPartition(t, p, o) for (t, p), o in given.items()],
            asynchronous=False,
        )
        try:
            result = commit.result(timeout=timeout_s)
        except FutureTimeout as exc:
            raise BusError(
                f"commit failed for {self._context()}: no answer from the broker in {timeout_s:.1f} s "
                "(it may still take the commit; what it does not is delivered again)"
            ) from exc
        except KafkaException as exc:
            raise BusError(f"commit failed for {self._context()}: {exc!r}") from exc
        failed = [tp for tp in result or [] if tp.error is not None]
        if failed:
            raise BusError(
                f"commit failed for {self._context()}: "
                + ", ".join(f"{tp.topic}[{tp.partition}]: {tp.error}" for tp in failed)
            )
        self._committed.update(given)

    def rewind(self) -> None:
        """Seek every assigned partition back to the group's committed offset (its beginning when the group
        committed nothing there); what was fetched past it is dropped and fetched again."""
        try:
            assigned = self._consumer.assignment()
            committed = self._consumer.committed(assigned, timeout=self._bus.request_timeout_ms / 1000)
        except KafkaException as exc:
            raise BusError(
                f"rewinding to the committed offsets failed for {self._context()}: {exc!r}"
            ) from exc
        self._seek(
            {(tp.topic, tp.partition): tp.offset if tp.offset >= 0 else OFFSET_BEGINNING for tp in committed}
        )

    def _seek(self, offsets: Offsets) -> None:
        try:
            for (topic, partition), offset in offsets.items():
                self._consumer.seek(TopicPartition(topic, partition, offset))
                if offset >= 0:
                    self._positions[(topic, partition)] = offset
                else:
                    self._positions.pop((topic, partition), None)
        except KafkaException as exc:
            # librdkafka refuses to seek a partition it assigned but does not fetch yet (a rebalance).
            raise BusError(f"seeking back failed for {self._context()}: {exc!r}") from exc

    def lag(self) -> int | None:
        """Records between this member's positions and the high watermarks of its partitions' last fetches
        (no request; None before the group assigned partitions or before the first fetch). A position is
        the next record to hand out, else the group's committed offset, else the partition's low
        watermark. An estimate on Tansu, as :meth:`resources.bus.kafka_consumer.KafkaTickConsumer.lag`
        explains."""
        try:
            assigned = self._consumer.assignment()
            if not assigned:
                return None
            total = 0
            for tp in assigned:
                low, high = self._consumer.get_watermark_offsets(tp, cached=True)
                if high < 0:
                    return None  # not fetched yet
                key = (tp.topic, tp.partition)
                position = self._positions.get(key, self._committed.get(key, max(low, 0)))
                total += max(high - position, 0)
            return total
        except KafkaException as exc:
            log.debug("partition positions unknown (a rebalance?): %r", exc)
            return None

    def close(self) -> None:
        """Leave the group without committing."""
        self._committer.shutdown(wait=False)
        try:
            self._consumer.close()
        except (KafkaException, RuntimeError) as exc:
            raise BusError(f"closing the consumer failed for {self._context()}: {exc!r}") from exc


def read_dead_letters(bus: ConfluentTickBus, *, timeout_s: float = 5.0) -> list[DeadLetter]:
    """Read ``bus``'s dead-letter topic from the start until it goes quiet.

    librdkafka needs a group id even for a consumer that assigns its partitions itself: it gets one of its
    own and commits nothing. Stops after about a second without new records (Tansu's end offsets cannot
    be trusted to say where the topic ends) or after ``timeout_s``.
    """
    deadline = time.monotonic() + timeout_s
    consumer = Consumer(consumer_config(bus, f"tradegraph-dead-letter-reader-{uuid.uuid4().hex}"))
    try:
        metadata = consumer.list_topics(DEAD_LETTER_TOPIC, timeout=timeout_s)
        partitions = sorted(metadata.topics[DEAD_LETTER_TOPIC].partitions)
        consumer.assign([TopicPartition(DEAD_LETTER_TOPIC, p, OFFSET_BEGINNING) for p in partitions])
        letters: list[tuple[int, int, DeadLetter]] = []
        quiet_since = time.monotonic()
        while (now := time.monotonic()) < deadline and now - quiet_since < min(1.0, timeout_s):
            for message in consumer.consume(1000, 0.2):
                if message.error() is None:
                    _, partition, offset, _, value = _raw(message)
                    letters.append((partition, offset, dead_letter_from_json(value or b"")))
                    quiet_since = time.monotonic()
    except KafkaException as exc:
        raise BusError(f"cannot read {DEAD_LETTER_TOPIC!r} from Kafka at {bus.bootstrap!r}: {exc!r}") from exc
    finally:
        consumer.close()
    return [letter for _, _, letter in sorted(letters, key=lambda item: item[:2])]


def _raw(message: Message) -> RawRecord:
    topic, partition, offset = message.topic(), message.partition(), message.offset()
    assert topic is not None and partition is not None and offset is not None  # set on every record
    return (topic, partition, offset, message.key(), message.value())


def _names(partitions: list[TopicPartition]) -> str:
    return ", ".join(f"{tp.topic}[{tp.partition}]" for tp in partitions) or "none"
