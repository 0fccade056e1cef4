"""In-process tick bus: the embedded default, for services that run in one process with the assets.

Same semantics as Kafka where the contract suite looks (records packed by :mod:`resources.bus.codec`,
per-group offsets, redelivery of what was polled but not committed, dead letters), with these
simplifications:

- each topic is one append-only in-memory log (one partition, so every record keeps publish order);
- **one open consumer per group at a time**: a second ``consumer()`` for a group whose consumer is still
  open raises :class:`BusError` (in Kafka it would share the partitions; here there is nothing to share);
- nothing is persisted or trimmed: the logs live and grow as long as the bus object.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence

import pyarrow as pa

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
    RawRecord,
    check_venue,
    dead_letter_from_json,
    dead_letter_to_json,
    decode_batch,
    encode_table,
)

log = logging.getLogger(__name__)

_Record = tuple[bytes | None, bytes | None]  # (key, value)


class EmbeddedTickBus(TickBus):
    """Thread-safe in-process bus; share one instance between the producers and consumers of a process."""

    def __init__(self, *, max_ticks_per_record: int = DEFAULT_MAX_TICKS_PER_RECORD) -> None:
        if max_ticks_per_record < 1:
            raise ValueError(f"max_ticks_per_record must be at least 1, got {max_ticks_per_record}")
        self.max_ticks_per_record = max_ticks_per_record
        # One lock for logs, offsets and membership; consumers wait on it for new records.
        self._changed = threading.Condition()
        self._logs: dict[str, list[_Record]] = {}
        self._committed: dict[str, dict[str, int]] = {}
        self._open_groups: set[str] = set()
        self._closed = False

    def __repr__(self) -> str:
        return f"EmbeddedTickBus(topics={sorted(self._logs)})"

    def publish(self, ticks: pa.Table) -> int:
        """Append ``ticks`` to their venues' topics, packed per symbol; return the records appended."""
        encoded = encode_table(ticks, self.max_ticks_per_record)
        with self._changed:
            self._check_open()
            for venue, symbol, value in encoded:
                self._logs.setdefault(topic_for(venue), []).append((symbol.encode(), value))
            if encoded:
                self._changed.notify_all()
        return len(encoded)

    def publish_dead_letter(self, letter: DeadLetter) -> None:
        """Append ``letter`` to the dead-letter topic."""
        self._dead_letter([letter])

    def publish_raw(self, topic: str, key: bytes | None, value: bytes | None) -> None:
        """Append one record as given, bypassing the codec (tests inject malformed records with it)."""
        with self._changed:
            self._check_open()
            self._logs.setdefault(topic, []).append((key, value))
            self._changed.notify_all()

    def flush(self, timeout_s: float = 30.0) -> None:
        """Nothing to wait for: ``publish`` appends before it returns."""
        with self._changed:
            self._check_open()

    def consumer(self, *, group: str, venues: Sequence[str]) -> EmbeddedTickConsumer:
        """Open the one consumer of ``group``; it starts at the group's committed offsets."""
        for venue in venues:
            check_venue(venue)
        topics = [topic_for(venue) for venue in venues]
        with self._changed:
            self._check_open()
            if group in self._open_groups:
                raise BusError(
                    f"consumer group {group!r} already has an open consumer on the embedded bus, which "
                    "allows one consumer per group at a time: close it first"
                )
            self._open_groups.add(group)
            committed = self._committed.setdefault(group, {})
            positions = {topic: committed.get(topic, 0) for topic in topics}
        return EmbeddedTickConsumer(self, group, positions)

    def dead_letters(self, *, timeout_s: float = 5.0) -> list[DeadLetter]:
        """Every dead letter so far, oldest first."""
        with self._changed:
            values = [value for _, value in self._logs.get(DEAD_LETTER_TOPIC, [])]
        return [dead_letter_from_json(value or b"") for value in values]

    def close(self) -> None:
        """Refuse further publishing and new consumers; polls that are waiting return at once."""
        with self._changed:
            self._closed = True
            self._changed.notify_all()

    def _check_open(self) -> None:
        if self._closed:
            raise BusError("the embedded tick bus is closed")

    # Called by consumers, which hold no lock of their own.
    def _take(self, positions: dict[str, int], *, timeout_s: float, max_records: int) -> list[RawRecord]:
        def available() -> bool:
            return self._closed or any(len(self._logs.get(t, ())) > p for t, p in positions.items())

        with self._changed:
            self._changed.wait_for(available, timeout=max(0.0, timeout_s))
            taken: list[RawRecord] = []
            for topic, position in positions.items():
                records = self._logs.get(topic, [])[position : position + max_records - len(taken)]
                taken.extend((topic, 0, position + i, key, value) for i, (key, value) in enumerate(records))
                positions[topic] = position + len(records)
            return taken

    def _commit(self, group: str, positions: dict[str, int]) -> None:
        with self._changed:
            self._committed.setdefault(group, {}).update(positions)

    def _leave(self, group: str) -> None:
        with self._changed:
            self._open_groups.discard(group)

    def _dead_letter(self, letters: Sequence[DeadLetter]) -> None:
        with self._changed:
            self._logs.setdefault(DEAD_LETTER_TOPIC, []).extend(
                (letter.key, dead_letter_to_json(letter)) for letter in letters
            )
            self._changed.notify_all()


class EmbeddedTickConsumer(TickConsumer):
    """The open consumer of one group on an :class:`EmbeddedTickBus`; not thread-safe."""

    def __init__(self, bus: EmbeddedTickBus, group: str, positions: dict[str, int]) -> None:
        self._bus = bus
        self.group = group
        self._positions = positions
        self._closed = False

    def poll(self, *, timeout_s: float, max_records: int = 500) -> Delivery:
        """Wait up to ``timeout_s`` for records past this consumer's position; take up to ``max_records``."""
        if self._closed:
            raise BusError(f"consumer of group {self.group!r} is closed")
        started = time.monotonic()
        raw = self._bus._take(self._positions, timeout_s=timeout_s, max_records=max_records)
        table, dead = decode_batch(raw)
        if dead:
            for letter in dead:
                log.warning(
                    "dead letter from %s offset %d (group %s): %s",
                    letter.topic,
                    letter.offset,
                    self.group,
                    letter.reason,
                )
            self._bus._dead_letter(dead)
        log.debug("group %s polled %d records in %.3f s", self.group, len(raw), time.monotonic() - started)
        return Delivery(ticks=table, records=len(raw), dead_letters=tuple(dead))

    def commit(self) -> None:
        """Commit this consumer's positions for its group."""
        if self._closed:
            raise BusError(f"consumer of group {self.group!r} is closed: nothing to commit")
        self._bus._commit(self.group, dict(self._positions))

    def close(self) -> None:
        """Leave the group; what was polled but not committed goes to the group's next consumer."""
        if not self._closed:
            self._closed = True
            self._bus._leave(self.group)
