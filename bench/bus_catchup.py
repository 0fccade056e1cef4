"""Catch-up from a backlog on Tansu: how fast a consumer far behind the head reads, per fetch setting.

Publishes ``--ticks`` ticks the way the streamer does (``--symbols`` symbols, one table per
``--flush-ms`` of trades at ``--rate``, a ``flush`` after each, so the broker stores one small record
batch per partition per flush) to a Tansu broker started here (memory storage), then reads the whole
backlog from the start with fresh consumers, one per fetch setting, each for at most ``--read-s``
seconds, and reports records, ticks and fetches per second for each (kafka-python's fetch metrics:
latency, fetches per second, records per fetch). ``--latency-samples N`` then times publish-to-poll at
the head, one 50-tick table at a time. ``--batch-per-record`` builds a long backlog faster (a producer
whose batches hold one record each, no flush: the same stored shape), ``--partitions 1`` puts it all in
one partition, ``--rounds`` publishes and reads again on the growing topic.

What it shows (docs/BENCHMARKS.md, resources/bus/kafka_fetch.py): Tansu lists a partition's stored
batches, oldest first, on every fetch that has records to return, and only for as long as the fetch's
``fetch_max_wait_ms``; past some tens of thousands of batches a 50 ms fetch finds nothing.

    .venv/bin/python bench/bus_catchup.py [--ticks 300000] [--read-s 8] [--settings NAME ...]
    .venv/bin/python bench/bus_catchup.py --ticks 600000 --flush-ms 10 --batch-per-record --partitions 1 \
        --read-s 5 --latency-samples 10 --settings min1-wait50 min1-wait200 min1-wait500-part5M min1-wait1000

The last line printed is one JSON object: per setting (and topic size), the rates and latencies.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.tick_tables import VENUE, make_tables
from resources.bus import topic_for
from resources.bus.codec import decode_batch, encode_table
from resources.bus.kafka import KafkaTickBus
from resources.bus.kafka_consumer import adapt_fetch_wait
from resources.bus.kafka_fetch import AdaptiveFetchWait, KafkaFetchConfig
from testkit.servers import KafkaBroker, install_cleanup_handlers

# name -> kafka-python consumer settings (besides bootstrap); "ours" is what the bus configures.
ADAPT_UP_TO = "adapt_up_to_ms"  # not a kafka-python option: adapt the wait as the bus's consumers do

SETTINGS: dict[str, dict[str, Any]] = {
    "min1-wait10": {"fetch_min_bytes": 1, "fetch_max_wait_ms": 10},
    # The bus's default: 10 ms while the broker finds records, doubling up to 500 ms when it does not.
    "adaptive10-500": {"fetch_min_bytes": 1, "fetch_max_wait_ms": 10, ADAPT_UP_TO: 500},
    "min1-wait50": {"fetch_min_bytes": 1, "fetch_max_wait_ms": 50},
    "min1-wait500": {"fetch_min_bytes": 1, "fetch_max_wait_ms": 500},
    "min1M-wait50": {"fetch_min_bytes": 1_000_000, "fetch_max_wait_ms": 50},
    "min1M-wait500": {"fetch_min_bytes": 1_000_000, "fetch_max_wait_ms": 500},
    "min1-wait200": {"fetch_min_bytes": 1, "fetch_max_wait_ms": 200},
    "min1-wait1000": {"fetch_min_bytes": 1, "fetch_max_wait_ms": 1000},
    "min1-wait500-part5M": {
        "fetch_min_bytes": 1,
        "fetch_max_wait_ms": 500,
        "max_partition_fetch_bytes": 5_000_000,
    },
    "min1-wait50-part10M": {
        "fetch_min_bytes": 1,
        "fetch_max_wait_ms": 50,
        "max_partition_fetch_bytes": 10_000_000,
    },
}


def publish(
    bootstrap: str,
    ticks: int,
    rate: int,
    flush_ms: int,
    symbols: int,
    linger_ms: int,
    batch_per_record: bool,
    partitions: int,
) -> int:
    """Publish like the streamer: one table per flush interval, flushed; return the records written.

    ``batch_per_record``: no flush, a producer whose batches hold one record each (the same stored
    shape as flushing after every record, much faster to build a long backlog)."""
    table_rows = max(1, rate * flush_ms // 1000)
    records = 0
    started = time.perf_counter()
    with KafkaTickBus(bootstrap, linger_ms=linger_ms, partitions=partitions) as bus:
        bus.ensure_topics([topic_for(VENUE)])
        if batch_per_record:
            producer = KafkaProducer(
                bootstrap_servers=bootstrap, batch_size=1, linger_ms=0, acks=1, delivery_timeout_ms=600_000
            )
            for table in make_tables(ticks, table_rows, symbols):
                for venue, symbol, value in encode_table(table):
                    producer.send(topic_for(venue), key=symbol.encode(), value=value)
                    records += 1
            producer.flush(timeout=300)
            producer.close()
        for table in make_tables(ticks, table_rows, symbols) if not batch_per_record else []:
            records += bus.publish(table)
            bus.flush(timeout_s=60)
    print(
        f"published {ticks:,} ticks in {records:,} records ({table_rows} ticks a table, {symbols} symbols, "
        f"linger {linger_ms} ms) in {time.perf_counter() - started:.1f} s",
        flush=True,
    )
    return records


class Consumer:
    """A group-less kafka-python consumer with ``config``; with ``adapt_up_to_ms`` its fetch wait adapts
    after each poll the way the bus's group members' does (resources/bus/kafka_fetch.py)."""

    def __init__(self, bootstrap: str, config: dict[str, Any]) -> None:
        options = {k: v for k, v in config.items() if k != ADAPT_UP_TO}
        self.kafka = KafkaConsumer(
            bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None, **options
        )
        self.wait = (
            AdaptiveFetchWait(
                KafkaFetchConfig(
                    fetch_min_wait_ms=options["fetch_max_wait_ms"], fetch_max_wait_ms=config[ADAPT_UP_TO]
                )
            )
            if ADAPT_UP_TO in config
            else None
        )

    def poll(self, timeout_ms: int, max_records: int = 500) -> dict[TopicPartition, list[Any]]:
        batch = self.kafka.poll(timeout_ms=timeout_ms, max_records=max_records)
        if self.wait is not None:
            records = sum(len(rs) for rs in batch.values())
            adapt_fetch_wait(self.kafka, self.wait, records=records, max_records=max_records)
        return batch


def read(bootstrap: str, name: str, config: dict[str, Any], total: int, read_s: float) -> dict[str, float]:
    """Read the topic from the start with ``config`` for at most ``read_s``; rates from the first data."""
    topic = topic_for(VENUE)
    adapting = Consumer(bootstrap, config)
    consumer = adapting.kafka
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic))]
        consumer.assign(partitions)
        consumer.seek_to_beginning()
        ticks = records = polls = 0
        first: float | None = None
        deadline = time.perf_counter() + read_s
        while ticks < total and time.perf_counter() < deadline:
            batch = adapting.poll(timeout_ms=1000, max_records=config.get("max_poll_records", 500))
            polls += 1
            raw = [(r.topic, r.partition, r.offset, r.key, r.value) for rs in batch.values() for r in rs]
            if raw and first is None:
                first = time.perf_counter()
            table, _ = decode_batch(raw)
            ticks += table.num_rows
            records += len(raw)
        elapsed = time.perf_counter() - (first or time.perf_counter())
        fetch = consumer.metrics().get("consumer-fetch-manager-metrics", {})
    finally:
        consumer.close(autocommit=False)
    result = {
        "ticks": ticks,
        "records": records,
        "seconds": round(elapsed, 2),
        "ticks_per_s": round(ticks / elapsed) if elapsed else 0,
        "records_per_s": round(records / elapsed) if elapsed else 0,
        "fetch_latency_ms": round(fetch.get("fetch-latency-avg", 0), 1),
        "fetches_per_s": round(fetch.get("fetch-rate", 0), 1),
        "records_per_fetch": round(fetch.get("records-per-request-avg", 0), 1),
    }
    print(f"{name}: {json.dumps(result)}", flush=True)
    return result


def latency(bootstrap: str, name: str, config: dict[str, Any], samples: int) -> dict[str, float]:
    """Publish one 50-tick table at a time to a consumer at the head; time from publish to poll."""
    topic = topic_for(VENUE)
    rng = random.Random(1)
    waits: list[float] = []
    adapting = Consumer(bootstrap, config)
    consumer = adapting.kafka
    try:
        with KafkaTickBus(bootstrap) as bus:
            consumer.assign([TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic))])
            consumer.seek_to_end()
            adapting.poll(timeout_ms=200)
            for table in make_tables(samples * 50, 50, 1)[:samples]:
                time.sleep(rng.uniform(0.05, 0.3))
                started = time.perf_counter()
                bus.publish(table)
                bus.flush(timeout_s=10)
                got = 0
                while got < table.num_rows and time.perf_counter() - started < 10:
                    batch = adapting.poll(timeout_ms=100)
                    got += sum(len(records) for records in batch.values()) * 50
                waits.append((time.perf_counter() - started) * 1000)
    finally:
        consumer.close(autocommit=False)
    waits.sort()
    result = {"p50_ms": round(waits[len(waits) // 2], 1), "p90_ms": round(waits[int(len(waits) * 0.9)], 1)}
    print(f"{name} latency at the head: {json.dumps(result)}", flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--ticks", type=int, default=300_000)
    parser.add_argument("--rate", type=int, default=5_000, help="trades/s the tables stand for")
    parser.add_argument("--flush-ms", type=int, default=50, help="the streamer's flush interval")
    parser.add_argument("--symbols", type=int, default=5)
    parser.add_argument("--linger-ms", type=int, default=5, help="producer linger")
    parser.add_argument("--batch-per-record", action="store_true", help="one record per stored batch")
    parser.add_argument("--partitions", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=1, help="publish --ticks and read, this many times")
    parser.add_argument("--read-s", type=float, default=8.0, help="bound of each read")
    parser.add_argument("--latency-samples", type=int, default=0, help="publish-to-poll samples at the head")
    parser.add_argument("--settings", nargs="*", default=list(SETTINGS), choices=list(SETTINGS))
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    install_cleanup_handlers()
    with tempfile.TemporaryDirectory() as tmp, KafkaBroker(Path(tmp) / "tansu") as broker:
        records = 0
        results: dict[str, dict[str, float]] = {}
        for round_ in range(1, args.rounds + 1):
            records += publish(
                broker.bootstrap,
                args.ticks,
                args.rate,
                args.flush_ms,
                args.symbols,
                args.linger_ms,
                args.batch_per_record,
                args.partitions,
            )
            print(f"round {round_}: {records:,} records on the topic", flush=True)
            for name in args.settings:
                results[f"{name}@{records}"] = read(
                    broker.bootstrap, name, SETTINGS[name], args.ticks * round_, args.read_s
                )
        for name in args.settings if args.latency_samples else []:
            results[f"{name}@head"] = latency(broker.bootstrap, name, SETTINGS[name], args.latency_samples)
    print(json.dumps({"ticks": args.ticks * args.rounds, "results": results}))


if __name__ == "__main__":
    main()
