"""Tick bus throughput: publish 1,000,000 ticks in 10k-tick tables, then consume them back with a group.

Runs the Kafka bus against a Tansu broker started here (memory storage) and the embedded bus.
Consume rates count from the start of the first poll that delivered records, so the group join
(about half the session timeout) is reported separately instead of diluting the rate.

kafka-python computes CRC32C in pure Python (about 13 ms per 100 KB record) unless the ``crc32c``
package is installed; the script says which one it runs with.

    .venv/bin/python bench/bus_throughput.py [--ticks 1000000] [--table 10000] [--symbols 5]

The last line printed is JSON with the four rates.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa
from kafka.record.util import crc32c_c

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.tick_tables import VENUE, make_tables
from resources.bus import TickBus, TickBusConfig, open_tick_bus
from testkit.servers import KafkaBroker, install_cleanup_handlers


def run(name: str, bus: TickBus, tables: list[pa.Table]) -> tuple[float, float]:
    total = sum(t.num_rows for t in tables)
    started = time.perf_counter()
    records = sum(bus.publish(table) for table in tables)
    bus.flush(timeout_s=120)
    publish_s = time.perf_counter() - started
    print(
        f"{name}: published {total:,} ticks in {records:,} records in {publish_s:.2f} s "
        f"= {total / publish_s:,.0f} ticks/s"
    )

    got = 0
    opened = time.perf_counter()
    first = None
    with bus.consumer(group=f"bench-{time.time_ns()}", venues=[VENUE]) as consumer:
        deadline = opened + 300
        while got < total and time.perf_counter() < deadline:
            polled = time.perf_counter()
            delivery = consumer.poll(timeout_s=1.0, max_records=100)
            if delivery.records and first is None:
                first = polled  # the rate counts from the start of the first poll that delivered
            got += delivery.ticks.num_rows
        consumer.commit()
        done = time.perf_counter()
    if got != total or first is None:
        raise SystemExit(f"{name}: consumed {got:,} of {total:,} ticks")
    consume_s = done - first
    print(
        f"{name}: consumed {got:,} ticks in {consume_s:.2f} s after a {first - opened:.2f} s group join "
        f"= {got / consume_s:,.0f} ticks/s"
    )
    return total / publish_s, got / consume_s


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--ticks", type=int, default=1_000_000)
    parser.add_argument("--table", type=int, default=10_000, help="ticks per published table")
    parser.add_argument("--symbols", type=int, default=5)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    install_cleanup_handlers()

    tables = make_tables(args.ticks, args.table, args.symbols)
    print(f"kafka-python CRC32C: {'crc32c (C)' if crc32c_c is not None else 'pure Python'}")
    with (
        tempfile.TemporaryDirectory() as tmp,
        KafkaBroker(Path(tmp) / "tansu") as broker,
        open_tick_bus(TickBusConfig(kind="kafka", kafka_bootstrap=broker.bootstrap)) as kafka_bus,
    ):
        kafka_publish, kafka_consume = run("kafka", kafka_bus, tables)
    with open_tick_bus(TickBusConfig()) as embedded_bus:
        embedded_publish, embedded_consume = run("embedded", embedded_bus, tables)
    print(
        json.dumps(
            {
                "kafka_publish_ticks_per_s": round(kafka_publish),
                "kafka_consume_ticks_per_s": round(kafka_consume),
                "embedded_publish_ticks_per_s": round(embedded_publish),
                "embedded_consume_ticks_per_s": round(embedded_consume),
            }
        )
    )


if __name__ == "__main__":
    main()
