"""Tick bus on Kafka (any Kafka-protocol broker) through kafka-python.

Topics ``ticks.<venue>`` are created on first use with ``partitions`` partitions (records are keyed by
symbol, so one symbol stays in one partition and in order). Producing uses ``acks='all'`` with retries
bounded by ``delivery_timeout_ms``; ``flush`` reports every record the broker did not acknowledge, naming
its topic. The consumers (:mod:`resources.bus.kafka_consumer`) commit manually, so what a crashed
consumer polled but did not commit is delivered again.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Sequence
from typing import TypeVar

import kafka.errors as kerrors
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.producer.future import FutureRecordMetadata
from kafka.record.util import crc32c_c

from resources.bus.base import DEAD_LETTER_TOPIC, BusError, DeadLetter
from resources.bus.codec import MAX_REQUEST_BYTES, dead_letter_to_json
from resources.bus.kafka_common import KafkaBusBase
from resources.bus.kafka_consumer import KafkaTickConsumer, read_dead_letters

log = logging.getLogger(__name__)

_PRUNE_PENDING_AT = 10_000
_T = TypeVar("_T")


class KafkaTickBus(KafkaBusBase[KafkaTickConsumer]):
    """Publishes tick tables to Kafka through kafka-python and opens consumer-group members; takes the
    options of :class:`~resources.bus.kafka_common.KafkaBusBase` (``fetch``'s docstring says why its wait
    is 500 ms).

    ``idempotence`` is off by default: when a broker loses its producer state (Tansu restarted on
    memory storage), kafka-python 3.0.12's idempotent producer loops on UnknownProducerIdError and its
    later records never complete, so ``flush`` could only time out. Without it a retried batch may be
    written twice, which the tick store's dedup by (venue, symbol, trade_id) absorbs; one request in
    flight per connection keeps retries from reordering a symbol's records.
    """

    def _open_clients(self) -> None:
        self._pending: list[tuple[str, FutureRecordMetadata]] = []
        if crc32c_c is None:
            log.warning(
                "kafka-python computes CRC32C in pure Python (about 13 ms per 100 KB record): "
                "install the 'crc32c' package for about 15x the throughput"
            )
        common = {
            "bootstrap_servers": self.bootstrap,
            "client_id": self.client_id,
            "request_timeout_ms": self.request_timeout_ms,
            "bootstrap_timeout_ms": self.request_timeout_ms,
        }
        self._admin = self._connect("admin client", lambda: KafkaAdminClient(**common))
        self._producer = self._connect(
            "producer",
            lambda: KafkaProducer(
                **common,
                acks="all",
                enable_idempotence=self.idempotence,
                max_in_flight_requests_per_connection=5 if self.idempotence else 1,
                linger_ms=self.linger_ms,
                # Retried until delivery_timeout_ms (kafka-python's default), so a broker restart of a
                # few seconds loses nothing; five retries 0.2 s apart gave up during one.
                retries=float("inf"),
                retry_backoff_ms=200,
                # A record must fail within a bounded time so flush() can report it.
                delivery_timeout_ms=2 * self.request_timeout_ms + self.linger_ms,
                max_block_ms=self.request_timeout_ms,
                batch_size=512 * 1024,
                max_request_size=MAX_REQUEST_BYTES,
                # Topics come from ensure_topics() with our partition count (Tansu still creates
                # topics on produce whatever the client asks).
                allow_auto_create_topics=False,
            ),
            on_error=self._admin.close,
        )

    def _abandon_clients(self) -> None:
        try:
            self._producer.close(timeout=0)
        except kerrors.KafkaError as exc:
            log.warning("Kafka producer for %r did not close cleanly: %r", self.bootstrap, exc)
        finally:
            self._admin.close()

    def _connect(self, what: str, make: Callable[[], _T], on_error: Callable[[], None] | None = None) -> _T:
        try:
            return make()
        except kerrors.KafkaError as exc:
            if on_error is not None:
                on_error()
            raise BusError(f"cannot start Kafka {what} for bootstrap {self.bootstrap!r}: {exc!r}") from exc

    def _create_topics(self, missing: list[str]) -> None:
        spec = {"num_partitions": self.partitions, "replication_factor": self.replication_factor or -1}
        try:
            result = self._admin.create_topics(
                {topic: dict(spec) for topic in missing},
                timeout_ms=self.request_timeout_ms,
                raise_errors=False,
                wait_for_metadata=True,
            )
        except kerrors.KafkaError as exc:
            raise BusError(f"cannot create topics {missing} on Kafka at {self.bootstrap!r}: {exc!r}") from exc
        for entry in result["topics"]:
            error = kerrors.for_code(entry["error_code"])
            if error is not kerrors.NoError and error is not kerrors.TopicAlreadyExistsError:
                raise BusError(
                    f"cannot create topic {entry['name']!r} on Kafka at {self.bootstrap!r}: "
                    f"{error.__name__} {entry.get('error_message') or ''}".rstrip()
                )

    def _send(
        self, topic: str, key: bytes | None, value: bytes | None, *, track: bool = True
    ) -> FutureRecordMetadata:
        try:
            future = self._producer.send(topic, key=key, value=value)
        except kerrors.KafkaError as exc:
            raise BusError(
                f"cannot queue a record for topic {topic!r} on Kafka at {self.bootstrap!r}: {exc!r}"
            ) from exc
        if not track:
            return future
        with self._lock:
            self._pending.append((topic, future))
            if len(self._pending) >= _PRUNE_PENDING_AT:
                # Acknowledged records need no report; failed and unfinished ones wait for flush().
                self._pending = [(t, f) for t, f in self._pending if not f.succeeded()]
        return future

    def flush(self, timeout_s: float = 30.0) -> None:
        """Wait until every record queued before this call is acknowledged; raise :class:`BusError` naming
        failed topics. Records queued by other threads while it waits are judged by the next flush."""
        # Take the records to judge BEFORE flushing: the producer's flush completes only what was queued
        # when it started, and another thread (e.g. a feed's gap filler) may queue more meanwhile; those
        # are not done yet and must not be reported as failed.
        with self._lock:
            pending, self._pending = self._pending, []
        try:
            self._producer.flush(timeout=timeout_s)
        except kerrors.KafkaTimeoutError as exc:
            with self._lock:
                self._pending = pending + self._pending
                waiting = sum(not f.is_done for _, f in self._pending)
            raise BusError(
                f"flush to Kafka at {self.bootstrap!r} timed out after {timeout_s:.1f} s "
                f"with {waiting} records unacknowledged"
            ) from exc
        failed = [(topic, f.exception) for topic, f in pending if not f.succeeded()]
        if failed:
            per_topic = Counter(topic for topic, _ in failed)
            with self._lock:
                # The topic may be gone (e.g. a broker replaced with empty storage): check it again
                # on the next publish instead of trusting the cache.
                self._known_topics.difference_update(per_topic)
            topic, first = failed[0]
            raise BusError(
                f"{len(failed)} of {len(pending)} records were not acknowledged by Kafka at "
                f"{self.bootstrap!r} (per topic: {dict(per_topic)}); first error, topic {topic!r}: {first!r}"
            ) from first

    def _open_consumer(self, group: str, topics: Sequence[str]) -> KafkaTickConsumer:
        return KafkaTickConsumer(self, group, topics)

    def dead_letters(self, *, timeout_s: float = 5.0) -> list[DeadLetter]:
        """Read the dead-letter topic from the start with a group-less consumer until it goes quiet
        (:func:`~resources.bus.kafka_consumer.read_dead_letters`)."""
        return read_dead_letters(self, timeout_s=timeout_s)

    def new_kafka_consumer(
        self, *, group: str | None, topics: Sequence[str] = (), adaptive_wait: bool = False
    ) -> KafkaConsumer:
        """A kafka-python consumer configured like the bus's own (manual commits, earliest offsets);
        ``adaptive_wait``: its fetch wait starts short, for a caller that adapts it (kafka_fetch.py)."""
        return self._connect(
            f"consumer (group {group!r}, topics {list(topics)})",
            lambda: KafkaConsumer(
                *topics,
                bootstrap_servers=self.bootstrap,
                client_id=self.client_id,
                group_id=group,
                enable_auto_commit=False,
                auto_offset_reset="earliest",
                session_timeout_ms=self.session_timeout_ms,
                heartbeat_interval_ms=self.heartbeat_interval_ms,
                request_timeout_ms=self.request_timeout_ms,
                bootstrap_timeout_ms=self.request_timeout_ms,
                # On Tansu the wait is also the broker's time budget to find the records: too short and
                # a consumer far from a partition's oldest batch gets nothing (kafka_fetch.py says more).
                **self.fetch.consumer_kwargs(adaptive=adaptive_wait),
                allow_auto_create_topics=False,
            ),
        )

    def send_dead_letters(self, letters: Sequence[DeadLetter]) -> None:
        """Write ``letters`` to the dead-letter topic now and wait for each to be acknowledged (a
        consumer does before its poll returns); raise the error of one that failed."""
        futures = [
            self._send(DEAD_LETTER_TOPIC, letter.key, dead_letter_to_json(letter), track=False)
            for letter in letters
        ]
        self._producer.flush(timeout=self.request_timeout_ms / 1000)
        for future in futures:
            # flush() has completed every future; get() raises the error of a failed one.
            future.get(timeout=0)

    def close(self) -> None:
        """Flush, then close the producer and admin client (both even if the flush fails); idempotent."""
        if self._closed:
            return
        self._closed = True
        timeout_s = self.request_timeout_ms / 1000
        error: BusError | None = None
        try:
            self.flush(timeout_s=timeout_s)
        except BusError as exc:
            error = exc
        try:
            self._producer.close(timeout=timeout_s)
        except kerrors.KafkaError as exc:
            # kafka-python's close() raises when records are still unfinished (its daemon sender
            # thread stays behind); the flush error, if any, already names the records in doubt.
            log.warning("Kafka producer for %r did not close cleanly: %r", self.bootstrap, exc)
            if error is None:
                error = BusError(f"Kafka producer for {self.bootstrap!r} did not close cleanly: {exc!r}")
                error.__cause__ = exc
        finally:
            self._admin.close()
        if error is not None:
            raise error
