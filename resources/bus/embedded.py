"""In-process tick bus: the embedded default, for services that run in one process with the assets.

Same semantics as Kafka where the contract suite looks (records packed by :mod:`resources.bus.codec`,
per-group offsets, redelivery of what was polled but not committed, dead letters), with these
simplifications:

- each topic is one in-memory log (one partition, so every record keeps publish order);
- **one open consumer per group at a time**: a second ``consumer()`` for a group whose consumer is still
  open raises :class:`BusError` (in Kafka it would share the partitions; here there is nothing to share);
- nothing is persisted.

Memory stays bounded (a day of 20,000 ticks/s must fit), unlike a log that only grows:

- **trimming**: a record that every group which ever consumed its topic has committed is dropped at
  once. A group that joins later starts at the oldest record still held (as on a Kafka topic whose
  retention removed the older ones); a group that stops consuming for good holds its topic's records
  (and, through the bound below, its producers) until it is gone with the bus;
- **a bounded backlog**: the tick topics hold at most ``max_backlog_bytes`` of records not yet trimmed
  (plus the one publish that crossed the limit). A publish beyond it waits for consumers to commit, up
  to ``publish_timeout_s``, then raises :class:`BusError` naming the backlog and the groups behind it;
  nothing is dropped. The streamer's restart state only advances once ticks are stored, so a feed that
  fails such a publish gets those trades again from the venue's history;
- **dead letters**: nothing consumes the dead-letter topic as a group (operators read it whole), so it
  keeps the newest ``max_dead_letters``; older ones are dropped and counted in
  :attr:`EmbeddedTickBus.dead_letters_dropped`.
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
    Offsets,
    RawRecord,
    TickBus,
    TickConsumer,
    next_offsets,
    topic_for,
)
from resources.bus.codec import (
    DEFAULT_MAX_TICKS_PER_RECORD,
    check_venue,
    dead_letter_from_json,
    dead_letter_to_json,
    decode_batch,
    encode_table,
    log_dead_letters,
)

log = logging.getLogger(__name__)

_Record = tuple[bytes | None, bytes | None]  # (key, value)
DEFAULT_MAX_BACKLOG_BYTES = 256 * 1024 * 1024
"""About 5M ticks (49 bytes a tick, packed): minutes of a stalled loader at the fastest feeds."""
_RECORD_OVERHEAD_BYTES = 8 + 56 + 2 * 33


class EmbeddedTickBus(TickBus):
    """Thread-safe in-process bus; share one instance between the producers and consumers of a process."""

    def __init__(
        self,
        *,
        max_ticks_per_record: int = DEFAULT_MAX_TICKS_PER_RECORD,
        max_backlog_bytes: int = DEFAULT_MAX_BACKLOG_BYTES,
        publish_timeout_s: float = 30.0,
        max_dead_letters: int = 100_000,
    ) -> None:
        """``max_backlog_bytes``: untrimmed tick records held at most (a publish beyond waits up to
        ``publish_timeout_s``, then fails); ``max_dead_letters``: dead letters kept (the newest)."""
        if max_ticks_per_record < 1:
            raise ValueError(f"max_ticks_per_record must be at least 1, got {max_ticks_per_record}")
        if max_backlog_bytes < 1 or max_dead_letters < 1 or publish_timeout_s < 0:
            raise ValueError(
                "max_backlog_bytes and max_dead_letters must be at least 1 and publish_timeout_s at least 0, "
                f"got {max_backlog_bytes}, {max_dead_letters}, {publish_timeout_s}"
            )
        self.max_ticks_per_record = max_ticks_per_record
        self.max_backlog_bytes = max_backlog_bytes
        self.publish_timeout_s = publish_timeout_s
        self.max_dead_letters = max_dead_letters
        # One lock for logs, offsets and membership; consumers wait on it for new records, producers
        # for room in the backlog.
        self._changed = threading.Condition()
        self._logs: dict[str, list[_Record]] = {}
        # Offset of each log's first held record (records before it were trimmed).
        self._base: dict[str, int] = {}
        self._backlog_bytes = 0
        self._committed: dict[str, dict[str, int]] = {}
        # Groups that ever consumed each topic: a record is trimmed once all of them committed it.
        self._readers: dict[str, set[str]] = {}
        self._open_groups: set[str] = set()
        self._closed = False
        self.trimmed_records = 0
        """Records dropped because every group reading their topic had committed them."""
        self.dead_letters_dropped = 0
        """Oldest dead letters dropped to keep ``max_dead_letters``."""

    def __repr__(self) -> str:
        return f"EmbeddedTickBus(topics={sorted(self._logs)})"

    def publish(self, ticks: pa.Table) -> int:
        """Append ``ticks`` to their venues' topics, packed per symbol; return the records appended.

        Waits while the backlog is full (see the module docstring); raises :class:`BusError` when it
        stays full for ``publish_timeout_s``.
        """
        encoded = encode_table(ticks, self.max_ticks_per_record)
        if not encoded:
            return 0
        with self._changed:
            self._wait_for_room()
            for venue, symbol, value in encoded:
                self._append(topic_for(venue), symbol.encode(), value)
            self._changed.notify_all()
        return len(encoded)

    def publish_dead_letter(self, letter: DeadLetter) -> None:
        """Append ``letter`` to the dead-letter topic."""
        self._dead_letter([letter])

    def publish_raw(self, topic: str, key: bytes | None, value: bytes | None) -> None:
        """Append one record as given, bypassing the codec (tests inject malformed records with it)."""
        with self._changed:
            if topic == DEAD_LETTER_TOPIC:
                self._check_open()
                self._append_dead_letters([(key, value)])
            else:
                self._wait_for_room()
                self._append(topic, key, value)
            self._changed.notify_all()

    def flush(self, timeout_s: float = 30.0) -> None:
        """Nothing to wait for: ``publish`` appends before it returns."""
        with self._changed:
            self._check_open()

    def consumer(self, *, group: str, venues: Sequence[str]) -> EmbeddedTickConsumer:
        """Open the one consumer of ``group``; it starts at the group's committed offsets (a new group at
        the oldest record still held)."""
        for venue in venues:
            check_venue(venue)
        return self.record_consumer(group=group, topics=[topic_for(venue) for venue in venues])

    def record_consumer(self, *, group: str, topics: Sequence[str]) -> EmbeddedTickConsumer:
        """Open the one consumer of ``group`` on ``topics``, at the group's committed offsets (a new group
        at the oldest record still held)."""
        if DEAD_LETTER_TOPIC in topics:
            raise BusError(
                f"{DEAD_LETTER_TOPIC!r} is read whole with dead_letters(), not by a consumer group"
            )
        with self._changed:
            self._check_open()
            if group in self._open_groups:
                raise BusError(
                    f"consumer group {group!r} already has an open consumer on the embedded bus, which "
                    "allows one consumer per group at a time: close it first"
                )
            self._open_groups.add(group)
            committed = self._committed.setdefault(group, {})
            positions = {}
            for topic in topics:
                self._readers.setdefault(topic, set()).add(group)
                # Trimming never passes a reader's commit, so only a group new to the topic starts
                # before the oldest held record; it starts at it.
                positions[topic] = committed.setdefault(topic, self._base.get(topic, 0))
        return EmbeddedTickConsumer(self, group, positions)

    def dead_letters(self, *, timeout_s: float = 5.0) -> list[DeadLetter]:
        """Every dead letter still held (the newest ``max_dead_letters``), oldest first."""
        with self._changed:
            values = [value for _, value in self._logs.get(DEAD_LETTER_TOPIC, [])]
        return [dead_letter_from_json(value or b"") for value in values]

    def retained(self) -> tuple[int, int]:
        """Records and bytes the tick topics hold now (not yet committed by every reading group)."""
        with self._changed:
            records = sum(len(log) for topic, log in self._logs.items() if topic != DEAD_LETTER_TOPIC)
            return records, self._backlog_bytes

    def close(self) -> None:
        """Refuse further publishing and new consumers; polls and publishes that are waiting return at once."""
        with self._changed:
            self._closed = True
            self._changed.notify_all()

    def _check_open(self) -> None:
        if self._closed:
            raise BusError("the embedded tick bus is closed")

    # Called with the lock held.
    def _wait_for_room(self) -> None:
        self._check_open()
        if self._backlog_bytes < self.max_backlog_bytes:
            return
        room = self._changed.wait_for(
            lambda: self._closed or self._backlog_bytes < self.max_backlog_bytes,
            timeout=self.publish_timeout_s,
        )
        self._check_open()
        if not room:
            behind = {
                topic: {group: self._committed.get(group, {}).get(topic, 0) for group in sorted(groups)}
                for topic, groups in self._readers.items()
            }
            raise BusError(
                f"the embedded tick bus is full: {self._backlog_bytes:,} bytes held, limit "
                f"{self.max_backlog_bytes:,}, and no consumer committed for {self.publish_timeout_s:g} s "
                f"(committed offsets per topic and group: {behind}); is the loader stuck?"
            )

    def _append(self, topic: str, key: bytes | None, value: bytes | None) -> None:
        self._logs.setdefault(topic, []).append((key, value))
        self._base.setdefault(topic, 0)
        self._backlog_bytes += _size(key, value)

    def _append_dead_letters(self, records: Sequence[_Record]) -> None:
        log_ = self._logs.setdefault(DEAD_LETTER_TOPIC, [])
        log_.extend(records)
        excess = len(log_) - self.max_dead_letters
        if excess > 0:
            del log_[:excess]
            self._base[DEAD_LETTER_TOPIC] = self._base.get(DEAD_LETTER_TOPIC, 0) + excess
            self.dead_letters_dropped += excess

    def _trim(self, topic: str) -> None:
        readers = self._readers.get(topic)
        if not readers or topic == DEAD_LETTER_TOPIC:
            return
        base = self._base.get(topic, 0)
        floor = min(self._committed.get(group, {}).get(topic, base) for group in readers)
        if floor <= base:
            return
        log_ = self._logs[topic]
        dropped = log_[: floor - base]
        del log_[: floor - base]
        self._base[topic] = floor
        self._backlog_bytes -= sum(_size(key, value) for key, value in dropped)
        self.trimmed_records += len(dropped)
        self._changed.notify_all()  # producers may wait for room

    # Called by consumers, which hold no lock of their own.
    def _take(self, positions: dict[str, int], *, timeout_s: float, max_records: int) -> list[RawRecord]:
        def available() -> bool:
            return self._closed or any(self._end(t) > p for t, p in positions.items())

        with self._changed:
            self._changed.wait_for(available, timeout=max(0.0, timeout_s))
            taken: list[RawRecord] = []
            for topic, held_from in positions.items():
                base = self._base.get(topic, 0)
                position = max(held_from, base)
                start = position - base
                records = self._logs.get(topic, [])[start : start + max_records - len(taken)]
                taken.extend((topic, 0, position + i, key, value) for i, (key, value) in enumerate(records))
                positions[topic] = position + len(records)
            return taken

    def _end(self, topic: str) -> int:
        return self._base.get(topic, 0) + len(self._logs.get(topic, ()))

    def _lag(self, positions: dict[str, int]) -> int:
        with self._changed:
            return sum(max(self._end(topic) - position, 0) for topic, position in positions.items())

    def _commit(self, group: str, positions: dict[str, int]) -> None:
        with self._changed:
            committed = self._committed.setdefault(group, {})
            # Never back: the records before a group's commit may be trimmed already.
            committed.update({t: max(p, committed.get(t, p)) for t, p in positions.items()})
            for topic in positions:
                self._trim(topic)

    def _rewind(self, group: str, positions: dict[str, int]) -> None:
        with self._changed:
            committed = self._committed.get(group, {})
            for topic in positions:
                positions[topic] = committed.get(topic, self._base.get(topic, 0))

    def _leave(self, group: str) -> None:
        with self._changed:
            self._open_groups.discard(group)

    def _dead_letter(self, letters: Sequence[DeadLetter]) -> None:
        with self._changed:
            self._check_open()
            self._append_dead_letters([(letter.key, dead_letter_to_json(letter)) for letter in letters])
            self._changed.notify_all()


def _size(key: bytes | None, value: bytes | None) -> int:
    # Payload bytes plus the list slot, tuple and two bytes objects that hold them (CPython, 64-bit).
    return len(key or b"") + len(value or b"") + _RECORD_OVERHEAD_BYTES


class EmbeddedTickConsumer(TickConsumer):
    """The open consumer of one group on an :class:`EmbeddedTickBus`; not thread-safe."""

    def __init__(self, bus: EmbeddedTickBus, group: str, positions: dict[str, int]) -> None:
        self._bus = bus
        self.group = group
        self._positions = positions
        self._closed = False

    def poll_records(self, *, timeout_s: float, max_records: int = 500) -> list[RawRecord]:
        """Wait up to ``timeout_s`` for records past this consumer's position; take up to ``max_records``."""
        if self._closed:
            raise BusError(f"consumer of group {self.group!r} is closed")
        return self._bus._take(self._positions, timeout_s=timeout_s, max_records=max_records)

    def poll(self, *, timeout_s: float, max_records: int = 500) -> Delivery:
        """:meth:`poll_records`, decoded into ticks; undecodable records go to the dead letters."""
        started = time.monotonic()
        raw = self.poll_records(timeout_s=timeout_s, max_records=max_records)
        table, dead = decode_batch(raw)
        if dead:
            log_dead_letters(dead, f"group {self.group!r}", log)
            self._bus._dead_letter(dead)
        log.debug("group %s polled %d records in %.3f s", self.group, len(raw), time.monotonic() - started)
        return Delivery(ticks=table, records=len(raw), dead_letters=tuple(dead), offsets=next_offsets(raw))

    def lag(self) -> int | None:
        """Records past this consumer's position (exact: the embedded bus knows every log's end)."""
        return self._bus._lag(self._positions)

    def commit(self, offsets: Offsets | None = None) -> None:
        """Commit this consumer's positions, or ``offsets``, for its group; records every reading group
        committed are trimmed.

        ``offsets`` must name partition 0 of this consumer's topics, at most its positions; one below
        what the group committed already leaves that commit (its records may be trimmed already).
        """
        if self._closed:
            raise BusError(f"consumer of group {self.group!r} is closed: nothing to commit")
        if offsets is None:
            self._bus._commit(self.group, dict(self._positions))
            return
        given: dict[str, int] = {}
        for (topic, partition), offset in offsets.items():
            if topic not in self._positions or partition != 0 or not 0 <= offset <= self._positions[topic]:
                raise BusError(
                    f"group {self.group!r} cannot commit offset {offset} of {topic}[{partition}]: it reads "
                    f"partition 0 of {sorted(self._positions)} and polled up to {self._positions}"
                )
            given[topic] = offset
        self._bus._commit(self.group, given)

    def rewind(self) -> None:
        """Back to the group's committed offsets (where this consumer started, if nothing was committed)."""
        if self._closed:
            raise BusError(f"consumer of group {self.group!r} is closed: nothing to rewind")
        self._bus._rewind(self.group, self._positions)

    def close(self) -> None:
        """Leave the group; what was polled but not committed goes to the group's next consumer."""
        if not self._closed:
            self._closed = True
            self._bus._leave(self.group)
