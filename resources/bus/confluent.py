"""Tick bus on Kafka (any Kafka-protocol broker) through confluent-kafka (librdkafka).

The same bus as :class:`resources.bus.kafka.KafkaTickBus`, with the same topics, keys, partitioning and
delivery guarantees, on a client that does the protocol work in C threads: at the streamer's cadence it
took a fifth of kafka-python's CPU to produce and an eighth to consume (docs/BENCHMARKS.md, "The two
Kafka clients at this rate"). ``TRADEGRAPH_KAFKA_CLIENT=confluent`` selects it.

Where the two clients differ, this one keeps the bus's contract as follows:
- partitioning: ``murmur2_random`` hashes keys as the Java client and kafka-python do (librdkafka's
  default does not), so both clients put a symbol in the same partition of a topic they share;
- delivery reports come through callbacks that librdkafka runs inside ``poll``/``flush`` on the calling
  thread; each record carries a sequence number, so a ``flush`` reports the failures of the records
  queued before it started, and a later flush those of the records queued after;
- a full send buffer raises ``BufferError`` in librdkafka instead of blocking: ``publish`` serves delivery
  reports and tries again until the request timeout, then raises :class:`BusError`;
- librdkafka connects lazily, so the dead-letter topic is created at construction with a bounded wait,
  which makes a dead broker fail at once as it does with kafka-python;
- its consumers (:mod:`resources.bus.confluent_consumer`) cannot change their fetch wait once open, so the
  wait is fixed (:class:`~resources.bus.kafka_fetch.KafkaFetchConfig` says which).
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Message, Producer
from confluent_kafka.admin import AdminClient, NewTopic

from resources.bus.base import DEAD_LETTER_TOPIC, BusError, DeadLetter
from resources.bus.codec import MAX_REQUEST_BYTES, dead_letter_to_json
from resources.bus.confluent_consumer import ConfluentTickConsumer, read_dead_letters
from resources.bus.kafka_common import KafkaBusBase

log = logging.getLogger(__name__)


class ConfluentTickBus(KafkaBusBase[ConfluentTickConsumer]):
    """Publishes tick tables to Kafka with confluent-kafka and opens consumer-group members.

    Takes the options of :class:`~resources.bus.kafka_common.KafkaBusBase`, with the same meaning and
    defaults as for :class:`resources.bus.kafka.KafkaTickBus` (idempotence off for the same reason: a
    retried batch written twice is absorbed by the tick store's dedup, and one request in flight keeps a
    symbol's records in order).
    """

    def _open_clients(self) -> None:
        self._sequence = 0
        self._failed: list[tuple[int, str, KafkaError]] = []
        self._admin = AdminClient(self.client_config())
        self._producer = Producer(
            {
                **self.client_config(),
                "acks": "all",
                "enable.idempotence": self.idempotence,
                "max.in.flight.requests.per.connection": 5 if self.idempotence else 1,
                "linger.ms": self.linger_ms,
                # librdkafka retries until message.timeout.ms, so a broker restart of a few seconds loses
                # nothing, and a record still fails within a bounded time so flush() can report it.
                "retry.backoff.ms": 200,
                "message.timeout.ms": 2 * self.request_timeout_ms + self.linger_ms,
                "request.timeout.ms": self.request_timeout_ms,
                "batch.size": 512 * 1024,
                "message.max.bytes": MAX_REQUEST_BYTES,
                # As Java and kafka-python hash keys; librdkafka's default (CRC32) puts them elsewhere.
                "partitioner": "murmur2_random",
            }
        )

    def _abandon_clients(self) -> None:
        self._producer.close()

    def client_config(self) -> dict[str, Any]:
        """The librdkafka settings every client of this bus shares."""
        return {
            "bootstrap.servers": self.bootstrap,
            "client.id": self.client_id,
            "socket.timeout.ms": self.request_timeout_ms,
            # Topics come from ensure_topics() with our partition count.
            "allow.auto.create.topics": False,
            # librdkafka logs connection trouble (and retries by itself) through this logger, served
            # inside poll/flush; the operations that depend on the broker fail with their own errors once
            # their timeouts pass.
            "logger": log,
        }

    def _create_topics(self, missing: list[str]) -> None:
        timeout_s = self.request_timeout_ms / 1000
        new = [
            NewTopic(topic, num_partitions=self.partitions, replication_factor=self.replication_factor or -1)
            for topic in missing
        ]
        try:
            futures = self._admin.create_topics(new, operation_timeout=timeout_s, request_timeout=timeout_s)
        except KafkaException as exc:
            raise BusError(f"cannot create topics {missing} on Kafka at {self.bootstrap!r}: {exc!r}") from exc
        for topic, future in futures.items():
            try:
                future.result(timeout=timeout_s + 1)
            except KafkaException as exc:
                if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                    raise BusError(
                        f"cannot create topic {topic!r} on Kafka at {self.bootstrap!r}: {exc}"
                    ) from exc
            except TimeoutError as exc:
                raise BusError(
                    f"cannot create topic {topic!r} on Kafka at {self.bootstrap!r}: no answer in {timeout_s:.1f} s"
                ) from exc

    def _serve_delivery_reports(self) -> None:
        self._producer.poll(0)

    def _send(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        report: Callable[[KafkaError | None, Message], None] | None = None,
    ) -> None:
        """Queue one record; its delivery report goes to ``report``, or to the next flush when None."""
        if self._closed:
            raise BusError(
                f"cannot queue a record for topic {topic!r}: the bus for {self.bootstrap!r} is closed"
            )
        if report is None:
            with self._lock:
                self._sequence += 1
                sequence = self._sequence
            report = partial(self._delivered, sequence, topic)
        deadline = time.monotonic() + self.request_timeout_ms / 1000
        while True:
            try:
                self._producer.produce(topic, value=value, key=key, on_delivery=report)
                return
            except BufferError as exc:
                # The send buffer is full: serve delivery reports (which frees it) and try again.
                if time.monotonic() >= deadline:
                    raise BusError(
                        f"cannot queue a record for topic {topic!r} on Kafka at {self.bootstrap!r}: the send "
                        f"buffer stayed full for {self.request_timeout_ms / 1000:.1f} s"
                    ) from exc
                self._producer.poll(0.1)
            except KafkaException as exc:
                raise BusError(
                    f"cannot queue a record for topic {topic!r} on Kafka at {self.bootstrap!r}: {exc!r}"
                ) from exc

    def _delivered(self, sequence: int, topic: str, error: KafkaError | None, _message: Message) -> None:
        if error is not None:
            with self._lock:
                self._failed.append((sequence, topic, error))

    def flush(self, timeout_s: float = 30.0) -> None:
        """Wait until every record queued so far is acknowledged; raise :class:`BusError` naming failed
        topics. librdkafka waits also for records other threads queue meanwhile; a failure is reported by
        the first flush that started after its record was queued, whichever thread calls it."""
        with self._lock:
            last = self._sequence
        self._admin.poll(0)  # serve the admin client's log lines
        waiting = self._producer.flush(timeout_s)
        if waiting:
            raise BusError(
                f"flush to Kafka at {self.bootstrap!r} timed out after {timeout_s:.1f} s "
                f"with {waiting} records unacknowledged"
            )
        with self._lock:
            failed = [(topic, error) for sequence, topic, error in self._failed if sequence <= last]
            self._failed = [entry for entry in self._failed if entry[0] > last]
            if failed:
                # The topic may be gone (e.g. a broker replaced with empty storage): check it again.
                self._known_topics.difference_update(topic for topic, _ in failed)
        if failed:
            per_topic = Counter(topic for topic, _ in failed)
            topic, first = failed[0]
            raise BusError(
                f"{len(failed)} records were not acknowledged by Kafka at {self.bootstrap!r} "
                f"(per topic: {dict(per_topic)}); first error, topic {topic!r}: {first}"
            )

    def _open_consumer(self, group: str, topics: Sequence[str]) -> ConfluentTickConsumer:
        return ConfluentTickConsumer(self, group, topics)

    def dead_letters(self, *, timeout_s: float = 5.0) -> list[DeadLetter]:
        """Read the dead-letter topic from the start until it goes quiet
        (:func:`~resources.bus.confluent_consumer.read_dead_letters`)."""
        return read_dead_letters(self, timeout_s=timeout_s)

    def send_dead_letters(self, letters: Sequence[DeadLetter]) -> None:
        """Write ``letters`` to the dead-letter topic now and wait for each to be acknowledged (a
        consumer does before its poll returns); raise if one failed."""
        errors: list[KafkaError] = []

        def report(error: KafkaError | None, _message: Message) -> None:
            if error is not None:
                errors.append(error)

        for letter in letters:
            self._send(DEAD_LETTER_TOPIC, letter.key, dead_letter_to_json(letter), report)
        waiting = self._producer.flush(self.request_timeout_ms / 1000)
        if waiting or errors:
            raise BusError(
                f"{len(errors) or waiting} of {len(letters)} dead letters were not acknowledged by Kafka at "
                f"{self.bootstrap!r}: {errors[0] if errors else 'timed out'}"
            )

    def close(self) -> None:
        """Flush, then close the producer (even if the flush fails); idempotent."""
        if self._closed:
            return
        self._closed = True
        try:
            self.flush(timeout_s=self.request_timeout_ms / 1000)
        finally:
            # Records still queued after the flush are in doubt (its error says how many): drop them
            # rather than let close() wait for them without a bound.
            self._producer.purge()
            self._producer.close()
