"""Kafka client CPU at the pipeline's rate: kafka-python (the bus's client) against confluent-kafka
(librdkafka), on a Tansu broker started here.

Sends as the streamer does at 5,000 ticks/s: every 20 ms one record per symbol (5 symbols, about 800 B
each), a flush every 50 ms (acks all, linger 5 ms, one request in flight); a consumer in a group polls
them with a 10 ms fetch wait (the loader's shortest) and commits after each poll that returned records.
Producer and consumer run in processes of their own for ``--seconds``, alternately for each client;
printed per run: each side's CPU in cores and the records' age when consumed (p50/p99, ms).

Why: a profile of the streamer and the loader at 5,000 ticks/s put about 40 % of their CPU in
kafka-python (docs/BENCHMARKS.md). confluent-kafka is not a dependency of the project; install it
beside it to run this (the script says so if it is missing):

    .venv/bin/python -m pip install --target /tmp/ck confluent-kafka
    PYTHONPATH=/tmp/ck .venv/bin/python bench/kafka_clients.py [--seconds 20] [--rounds 2]

The last line printed is JSON with the medians per client.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from testkit.servers.kafka import KafkaBroker

SYMBOLS = [f"SYM{i}" for i in range(5)]
PAYLOAD = b"x" * 800
STAMP = 20  # bytes of the send time (ns) at the start of each value
CLIENTS = ("kafka-python", "confluent-kafka")


def _value() -> bytes:
    return str(time.time_ns()).encode().ljust(STAMP) + PAYLOAD


def produce(client: str, bootstrap: str, topic: str, seconds: float, out: mp.Queue[Any]) -> None:
    """Send for ``seconds`` at the streamer's cadence; put (side, client, cores, records)."""
    send: Callable[[str], object]
    flush: Callable[[], object]
    if client == "kafka-python":
        from kafka import KafkaProducer

        producer = KafkaProducer(
            bootstrap_servers=bootstrap, acks="all", linger_ms=5, max_in_flight_requests_per_connection=1
        )
        send = lambda symbol: producer.send(topic, key=symbol.encode(), value=_value())  # noqa: E731
        flush = producer.flush
    else:
        from confluent_kafka import Producer

        confluent = Producer(
            {
                "bootstrap.servers": bootstrap,
                "acks": "all",
                "linger.ms": 5,
                "max.in.flight.requests.per.connection": 1,
                "partitioner": "murmur2_random",  # keys on the partitions kafka-python would choose
            }
        )
        send = lambda symbol: confluent.produce(topic, key=symbol.encode(), value=_value())  # noqa: E731
        flush = confluent.flush
    cpu0, started = time.process_time(), time.monotonic()
    sent = 0
    next_send, next_flush = started, started + 0.05
    while time.monotonic() - started < seconds:
        now = time.monotonic()
        if now >= next_send:
            for symbol in SYMBOLS:
                send(symbol)
                sent += 1
            next_send += 0.02
        if now >= next_flush:
            flush()
            next_flush += 0.05
        time.sleep(max(0.0, min(next_send, next_flush) - time.monotonic()))
    flush()
    out.put(("producer", client, (time.process_time() - cpu0) / seconds, sent))


def consume(client: str, bootstrap: str, topic: str, seconds: float, out: mp.Queue[Any]) -> None:
    """Join the group, then poll and commit for ``seconds`` from the first record; put (side, client,
    cores, records, age p50 ms, age p99 ms)."""
    poll: Callable[[], list[bytes]]
    commit: Callable[[], object]
    if client == "kafka-python":
        from kafka import KafkaConsumer

        consumer = KafkaConsumer(
            topic,
            bootstrap_servers=bootstrap,
            group_id=f"bench-{client}",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            fetch_max_wait_ms=10,
            retry_backoff_ms=20,
            session_timeout_ms=6000,
            heartbeat_interval_ms=2000,
        )

        def poll() -> list[bytes]:
            batches = consumer.poll(timeout_ms=100, max_records=2000)
            return [record.value for records in batches.values() for record in records]

        commit = consumer.commit
    else:
        from confluent_kafka import Consumer

        confluent = Consumer(
            {
                "bootstrap.servers": bootstrap,
                "group.id": f"bench-{client}",
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
                "fetch.wait.max.ms": 10,
                "session.timeout.ms": 6000,
                "heartbeat.interval.ms": 2000,
            }
        )
        confluent.subscribe([topic])

        def poll() -> list[bytes]:
            first = confluent.poll(0.1)
            if first is None:
                return []
            # Then what is already fetched, without waiting (consume()'s timeout semantics moved in 2.13).
            messages = [first, *confluent.consume(1999, 0)]
            return [m.value() for m in messages if m.error() is None]

        commit = lambda: confluent.commit(asynchronous=False)  # noqa: E731
    deadline = time.monotonic() + 30
    values = poll()
    while not values and time.monotonic() < deadline:
        values = poll()
    ages: list[float] = []
    received = 0
    cpu0, started = time.process_time(), time.monotonic()
    while time.monotonic() - started < seconds:
        now_ns = time.time_ns()
        ages.extend((now_ns - int(value[:STAMP])) / 1e6 for value in values)
        received += len(values)
        if values:
            commit()
        values = poll()
    cores = (time.process_time() - cpu0) / seconds
    steady = np.array(ages[len(ages) // 10 :] or [float("nan")])
    out.put(
        (
            "consumer",
            client,
            cores,
            received,
            float(np.percentile(steady, 50)),
            float(np.percentile(steady, 99)),
        )
    )


def one_run(client: str, bootstrap: str, seconds: float) -> dict[str, float]:
    """Producer and consumer of ``client`` on a new topic; their figures."""
    from kafka.admin import KafkaAdminClient, NewTopic

    topic = f"bench-{client}-{time.monotonic_ns()}"
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    admin.create_topics([NewTopic(topic, num_partitions=len(SYMBOLS), replication_factor=-1)])
    admin.close()
    context = mp.get_context("spawn")
    out: mp.Queue[Any] = context.Queue()
    consumer = context.Process(target=consume, args=(client, bootstrap, topic, seconds, out))
    consumer.start()
    time.sleep(6)  # the consumer joins its group first (about half the session timeout on Tansu)
    producer = context.Process(target=produce, args=(client, bootstrap, topic, seconds, out))
    producer.start()
    producer.join(seconds + 60)
    consumer.join(seconds + 90)
    results = [out.get(timeout=10) for _ in range(2)]
    sent = next(r for r in results if r[0] == "producer")
    got = next(r for r in results if r[0] == "consumer")
    return {
        "producer_cores": sent[2],
        "consumer_cores": got[2],
        "sent": sent[3],
        "received": got[3],
        "age_p50_ms": got[4],
        "age_p99_ms": got[5],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="seconds per run (20)")
    parser.add_argument("--rounds", type=int, default=2, help="runs per client, alternating (2)")
    args = parser.parse_args()
    try:
        import confluent_kafka
    except ImportError:
        raise SystemExit(
            "confluent-kafka is not installed (it is not a dependency of the project): "
            "`.venv/bin/python -m pip install --target /tmp/ck confluent-kafka`, then run this with "
            "PYTHONPATH=/tmp/ck"
        ) from None
    print(f"confluent-kafka {confluent_kafka.__version__}, librdkafka {confluent_kafka.libversion()[0]}")
    runs: dict[str, list[dict[str, float]]] = {client: [] for client in CLIENTS}
    with tempfile.TemporaryDirectory(prefix="bench-kafka-clients-") as tmp:
        broker = KafkaBroker(Path(tmp) / "tansu")
        with broker:
            for _ in range(args.rounds):
                for client in CLIENTS:
                    run = one_run(client, broker.bootstrap, args.seconds)
                    runs[client].append(run)
                    print(
                        f"{client:<16} producer {run['producer_cores']:.3f} cores, consumer "
                        f"{run['consumer_cores']:.3f} cores; {run['sent']:.0f} records sent, "
                        f"{run['received']:.0f} received; age p50 {run['age_p50_ms']:.1f} ms, "
                        f"p99 {run['age_p99_ms']:.1f} ms"
                    )
    print(
        json.dumps(
            {
                client: {key: round(statistics.median(r[key] for r in result), 4) for key in result[0]}
                for client, result in runs.items()
            }
        )
    )


if __name__ == "__main__":
    main()
