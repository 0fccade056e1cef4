"""How the Kafka bus's consumers fetch: typed, so the settings, the factory and the bus agree on it.

Why ``fetch_max_wait_ms`` defaults to 500 ms (Kafka's own default) and not lower: Tansu on memory (and
S3) storage lists every stored record batch of a partition, oldest first, on each fetch that has data
to return, and stops listing when the fetch's wait runs out. A fetch whose position lies beyond what
it listed in time returns nothing. The streamer stores about 20 batches a second per partition (one
per flush), so after about an hour at 5,000 ticks/s a partition holds some 70,000 batches; measured
with ``bench/bus_catchup.py`` on 60,000 one-record batches in one partition (load average 7-15): a 50
ms wait read 53 ticks/s from a backlog, 14 of 60,000 records in 5 s, and even a consumer at the head
waited 0.8-6.4 s for new records; 200 ms read 140,000 ticks/s, 500 ms 108,000 ticks/s. The soak of
2026-11-30 fell behind for this reason, with a 50 ms wait, and never caught up. Tansu listed about 1,000
batches a millisecond on a quiet machine (100,000 in ~120 ms), so 500 ms lasts to roughly 400,000
batches a partition (about 5 hours of the streamer), less under load: raise it for longer runs on Tansu.

What it costs: on Kafka nothing while records arrive (with ``fetch_min_bytes=1`` a fetch returns as soon
as there is a record; the wait only bounds how long the broker holds a fetch on a quiet topic). On Tansu,
publish-to-poll latency at the head was p50 7 ms / 7 ms / 11 ms with 50 / 500 / 1000 ms on a small
topic, and on the 60,000-batch partition p50 72 ms (200 ms wait) and 103 ms (500 ms): the listing itself.
``fetch_min_bytes`` above 1 makes every broker hold a fetch on a quiet topic for the whole wait, so it
stays 1.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class KafkaFetchConfig:
    """Fetch settings of every consumer the Kafka bus opens (kafka-python's names)."""

    fetch_max_wait_ms: int = 500
    """Longest time the broker may hold a fetch to gather ``fetch_min_bytes``; on Tansu also its time
    budget to find the records (see the module docstring before lowering it)."""
    fetch_min_bytes: int = 1
    """Bytes a fetch waits for before the broker answers; above 1 adds up to ``fetch_max_wait_ms`` of
    latency on a quiet topic."""
    max_partition_fetch_bytes: int = 1_048_576
    """Most bytes one fetch returns per partition (Kafka may exceed it for one large record batch)."""

    def __post_init__(self) -> None:
        if not 1 <= self.fetch_max_wait_ms <= 60_000:
            raise ValueError(f"fetch_max_wait_ms={self.fetch_max_wait_ms} must be between 1 and 60000")
        if self.fetch_min_bytes < 1:
            raise ValueError(f"fetch_min_bytes={self.fetch_min_bytes} must be at least 1")
        if self.max_partition_fetch_bytes < 1024:
            raise ValueError(
                f"max_partition_fetch_bytes={self.max_partition_fetch_bytes} must be at least 1024"
            )

    def consumer_kwargs(self) -> dict[str, int]:
        """The kafka-python ``KafkaConsumer`` keyword arguments."""
        return {
            "fetch_max_wait_ms": self.fetch_max_wait_ms,
            "fetch_min_bytes": self.fetch_min_bytes,
            "max_partition_fetch_bytes": self.max_partition_fetch_bytes,
        }
