"""How the Kafka bus's consumers fetch: typed, so the settings, the factory and the bus agree on it; and
the wait each consumer asks the broker for, adapted to what its polls return (:class:`AdaptiveFetchWait`).

The fetch wait (``fetch.max.wait.ms``) is how long the broker may hold a fetch that found nothing. Apache
Kafka answers a held fetch as soon as a record arrives, so there the wait costs nothing while ticks flow.
Tansu (the broker the tests and benchmarks run) does not: a fetch that found nothing looks again after
half the time left, then half of what is left, and so on (``tansu-storage/src/service/fetch.rs``, the
``sleep(remaining / 2)`` of the commit the bundled ``tansu 0.6.0`` was built from, 2026-06), so a record
published just after a 500 ms fetch started waits about 250 ms. Tansu also passes the time left to its
storage, and on memory (and S3) storage a fetch lists every stored record batch of the partition, oldest
first, until that time runs out: once a partition holds tens of thousands of batches (the streamer stores
about 20 a second), a short wait finds nothing even at the head. Measured with ``bench/bus_catchup.py`` on
60,000 one-record batches in one partition: a fixed 50 ms wait read 53 ticks/s from the backlog, 200 ms
140,000 ticks/s, 500 ms 108,000 ticks/s (docs/BENCHMARKS.md, "Why the loader fell behind on Tansu").

So no fixed wait serves both: a short one keeps the latency low on a young partition and stalls an old
one; a long one never stalls (to about 400,000 batches a partition at 500 ms) and costs up to half of
itself of latency. :class:`AdaptiveFetchWait` asks for ``fetch_min_wait_ms`` while records flow, doubles
the wait (up to ``fetch_max_wait_ms``) after a poll returned fewer records than it asked for while more
were waiting beyond the consumer's position (the broker ran out of time before it reached them), and lets
a wait that had to grow shrink again slowly. Whether records wait comes from the high watermarks of the
last fetches (:func:`~resources.bus.kafka_consumer.records_may_wait`). A quiet topic keeps the short wait:
on Tansu a fetch at the head lists nothing, and on Kafka a consumer with nothing to read sends a fetch every
``fetch_min_wait_ms``, which is light. ``fetch_min_wait_ms`` equal to ``fetch_max_wait_ms`` turns the
adaptation off.
``fetch_min_bytes`` above 1 makes every broker hold a fetch on a quiet topic for the whole wait, so it
stays 1.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True, kw_only=True)
class KafkaFetchConfig:
    """Fetch settings of every consumer the Kafka bus opens (kafka-python's names)."""

    fetch_max_wait_ms: int = 500
    """Longest time the broker may hold a fetch to gather ``fetch_min_bytes`` (the wait on a quiet topic
    and the most an adapted wait grows to); on Tansu also its time budget to find the records."""
    fetch_min_wait_ms: int = 10
    """The wait asked for while records flow; it grows when the broker needs longer to find them (see
    the module docstring). Equal to ``fetch_max_wait_ms``: a fixed wait."""
    fetch_min_bytes: int = 1
    """Bytes a fetch waits for before the broker answers; above 1 adds up to ``fetch_max_wait_ms`` of
    latency on a quiet topic."""
    max_partition_fetch_bytes: int = 1_048_576
    """Most bytes one fetch returns per partition (Kafka may exceed it for one large record batch)."""
    retry_backoff_ms: int = 20
    """kafka-python's pause before retrying a failed request, and the most its ``poll`` sleeps when it
    finds no fetch in flight. kafka-python 3.0 finds none now and then just after an empty fetch response
    (the response handled, the next fetch not yet sent): with its default of 100 ms every such poll held
    the records that arrived meanwhile for 100 ms (docs/BENCHMARKS.md, "What stalled a tick for 100 ms")."""

    def __post_init__(self) -> None:
        if not 1 <= self.fetch_max_wait_ms <= 60_000:
            raise ValueError(f"fetch_max_wait_ms={self.fetch_max_wait_ms} must be between 1 and 60000")
        if not 1 <= self.fetch_min_wait_ms <= self.fetch_max_wait_ms:
            raise ValueError(
                f"fetch_min_wait_ms={self.fetch_min_wait_ms} must be between 1 and fetch_max_wait_ms="
                f"{self.fetch_max_wait_ms}"
            )
        if self.fetch_min_bytes < 1:
            raise ValueError(f"fetch_min_bytes={self.fetch_min_bytes} must be at least 1")
        if not 1 <= self.retry_backoff_ms <= 10_000:
            raise ValueError(f"retry_backoff_ms={self.retry_backoff_ms} must be between 1 and 10000")
        if self.max_partition_fetch_bytes < 1024:
            raise ValueError(
                f"max_partition_fetch_bytes={self.max_partition_fetch_bytes} must be at least 1024"
            )

    @property
    def adaptive(self) -> bool:
        """Whether a consumer adapts its wait (:class:`AdaptiveFetchWait`) between the two bounds."""
        return self.fetch_min_wait_ms < self.fetch_max_wait_ms

    def consumer_kwargs(self, *, adaptive: bool = False) -> dict[str, int]:
        """The kafka-python ``KafkaConsumer`` keyword arguments; an ``adaptive`` consumer's wait starts at
        ``fetch_min_wait_ms``, any other's is ``fetch_max_wait_ms``."""
        return {
            "fetch_max_wait_ms": self.fetch_min_wait_ms if adaptive else self.fetch_max_wait_ms,
            "fetch_min_bytes": self.fetch_min_bytes,
            "max_partition_fetch_bytes": self.max_partition_fetch_bytes,
            "retry_backoff_ms": self.retry_backoff_ms,
        }


# A wait that had to grow shrinks by this factor per poll that returned records: at 20 polls a second it
# halves in about 3.5 s, so a broker that needs the longer wait costs one empty fetch every few seconds.
_SHRINK = 0.99


@dataclass(slots=True)
class AdaptiveFetchWait:
    """The fetch wait a consumer asks for next, from what its polls return (see the module docstring)."""

    config: KafkaFetchConfig
    """The bounds: ``fetch_min_wait_ms`` while the broker finds records at once, ``fetch_max_wait_ms`` at
    most."""
    needed_ms: float = field(init=False)
    """The wait the broker has needed to find waiting records (the floor until a poll came back short
    with records waiting)."""

    def __post_init__(self) -> None:
        self.needed_ms = float(self.config.fetch_min_wait_ms)

    def after_poll(self, *, records: int, full: bool, behind: bool) -> int:
        """The wait for the next fetch, after a poll that returned ``records`` (``full``: as many as it
        asked for); ``behind``: records were waiting beyond the consumer's position after it."""
        if full:
            pass  # records from what a fetch buffered say nothing of the broker
        elif behind:
            # The broker returned less than was waiting: it ran out of time before it reached the rest.
            self.needed_ms = min(float(self.config.fetch_max_wait_ms), self.needed_ms * 2)
        elif records:
            self.needed_ms = max(float(self.config.fetch_min_wait_ms), self.needed_ms * _SHRINK)
        return round(self.needed_ms)
