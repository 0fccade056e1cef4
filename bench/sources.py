"""Sources benchmark: many sources of every kind at once, replayed fast, through the bus into the store.

Setup (untimed): a Kafka-protocol broker (Tansu) on 127.0.0.1, the local servers each kind reads (see
``bench/source_servers.py``) and a sources file naming ``--sources`` sources spread over the kinds.

Timed, for ``--seconds``: every source's poller (threads of this process; the one named by ``--kill``
in a process of its own: ``tradegraph sources run --no-loader --only NAME``) publishes on Kafka and one
source loader stores them in the table store (embedded, or ClickHouse with ``--store clickhouse``). A
third of the way in, the separate poller is killed with SIGKILL and restarted two seconds later from
its saved cursor. Then the servers stop producing and the loader gets up to ``--drain-seconds`` to store
the rest.

Checked: each source's stored rows against what its server produced: ``lost`` (produced, never stored)
and ``doubled`` (stored more than once under one key) in total; both must be 0.

- ``datapoints_per_s``: rows stored / seconds from the first fetch to the last row stored;
  ``min_source_per_s``: the slowest source's datapoints produced / seconds its server produced;
- ``p99_ms``: from the poller's publish to the loader's stored write, per batch (the loader's
  ``tradegraph_source_loader_latency_seconds`` histogram, interpolated within its bucket);
- ``cpu_s`` and ``max_rss_mb`` of this process (pollers, loader, servers' threads) and its children.

Prints the figures, then one JSON object as the last line.

    .venv/bin/python bench/sources.py [--sources 10] [--seconds 120] [--speed 100] [--kill NAME]
"""

from __future__ import annotations

import argparse
import json
import logging
import resource
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.source_groups import BenchSource
from bench.source_servers import BenchServers
from resources.bus.kafka import KafkaTickBus
from resources.service_state.embedded import EmbeddedServiceState
from resources.sources.config import parse_sources
from resources.table_store.base import TableStore
from resources.table_store.embedded import EmbeddedTableStore
from testkit.harness import TradegraphProcess
from testkit.servers import ClickHouseServer, KafkaBroker
from trading_assets.services.source_loader import SourceLoaderConfig
from trading_assets.services.source_metrics import SourceLoaderMetrics
from trading_assets.services.source_poller import PollerConfig
from trading_assets.services.sources_runtime import run_source_loader, start_pollers
from trading_assets.sources.tables import source_table

log = logging.getLogger("bench.sources")


def _histogram_quantile(metrics: SourceLoaderMetrics, q: float) -> float | None:
    """The ``q`` quantile of the loader's latency histogram over all sources, interpolated in its bucket."""
    buckets: dict[float, float] = {}
    for family in metrics.registry.collect():
        if family.name != "tradegraph_source_loader_latency_seconds":
            continue
        for sample in family.samples:
            if sample.name.endswith("_bucket"):
                bound = float(sample.labels["le"])
                buckets[bound] = buckets.get(bound, 0.0) + sample.value
    if not buckets:
        return None
    bounds = sorted(buckets)
    total = buckets[bounds[-1]]
    if total == 0:
        return None
    rank, lower, below = q * total, 0.0, 0.0
    for bound in bounds:
        count = buckets[bound]
        if count >= rank:
            if bound == float("inf"):
                return lower
            return lower + (bound - lower) * (rank - below) / max(count - below, 1e-9)
        lower, below = bound, count
    return lower


def _stored(store: TableStore, source: BenchSource) -> tuple[int, int]:
    """Rows stored for ``source`` and how many distinct keys they hold."""
    table = source_table(source.spec)
    rows = store.read(table, start_us=0, end_us=2**62)
    keys = rows.group_by(list(source.spec.records.key)).aggregate([]).num_rows if rows.num_rows else 0
    return rows.num_rows, keys


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sources", type=int, default=10, help="sources in all, spread over the kinds (10)")
    parser.add_argument("--seconds", type=float, default=120.0, help="seconds the servers produce (120)")
    parser.add_argument("--speed", type=float, default=100.0, help="times real time the servers replay (100)")
    parser.add_argument(
        "--per-day", type=int, default=100_000, help="datapoints per source and day (100,000)"
    )
    parser.add_argument(
        "--kill", default="auto", help="source whose poller is killed and restarted (auto; none)"
    )
    parser.add_argument("--drain-seconds", type=float, default=60.0, help="time to store the rest (60)")
    parser.add_argument(
        "--warmup-seconds", type=float, default=6.0, help="loader's group join before producing"
    )
    parser.add_argument("--store", choices=["embedded", "clickhouse"], default="embedded")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    with tempfile.TemporaryDirectory(prefix="bench-sources-") as tmp:
        work = Path(tmp)
        broker = KafkaBroker(work / "kafka").start()
        clickhouse = ClickHouseServer(work / "clickhouse").start() if args.store == "clickhouse" else None
        servers = BenchServers(
            work / "servers", speed=args.speed, per_day=args.per_day, seconds_hint=args.seconds
        ).start()
        try:
            _run(args, work, broker, clickhouse, servers)
        finally:
            servers.stop()
            if clickhouse is not None:
                clickhouse.stop()
            broker.stop()


def _run(
    args: argparse.Namespace,
    work: Path,
    broker: KafkaBroker,
    clickhouse: ClickHouseServer | None,
    servers: BenchServers,
) -> None:
    sources = servers.sources(args.sources)
    killed_name = _pick_killed(args.kill, sources)
    sources_file = work / "sources.toml"
    sources_file.write_text("\n".join(source.toml for source in sources))
    entries = {entry.name: entry for entry in parse_sources(sources_file.read_text())}
    home = work / "home"
    state = EmbeddedServiceState(home / "state" / "service_state.sqlite")
    if clickhouse is None:
        store: TableStore = EmbeddedTableStore(home / "tables")
    else:
        from resources.table_store.clickhouse import ClickHouseTableStore

        store = ClickHouseTableStore(clickhouse.url, database="bench_sources")
    env = {
        "TRADEGRAPH_HOME": str(home),
        "TRADEGRAPH_BUS": "kafka",
        "TRADEGRAPH_KAFKA_BOOTSTRAP": broker.bootstrap,
        **servers.environment(),
    }
    kinds = sorted({source.spec.kind for source in sources})
    for note in servers.notes():
        print(note)
    print(
        f"{len(sources)} sources of {len(kinds)} kinds ({', '.join(kinds)}), {args.per_day:,} datapoints a day "
        f"each at {args.speed:g}x for {args.seconds:g} s; killed and restarted: {killed_name or 'none'}"
    )

    stop, loader_stop = threading.Event(), threading.Event()
    metrics = SourceLoaderMetrics()
    with KafkaTickBus(broker.bootstrap) as bus:
        loader_box: list[object] = []
        loader_thread = threading.Thread(
            target=lambda: loader_box.append(
                run_source_loader(
                    [source.spec for source in sources],
                    bus,
                    store,
                    state,
                    loader_stop,
                    config=SourceLoaderConfig(max_wait_s=0.2),
                    metrics=metrics,
                )
            ),
            name="source-loader",
        )
        loader_thread.start()
        # Kafka's group join takes seconds: let the loader join before anything is produced, so the
        # latency figures are of the running pipeline, not of its start.
        time.sleep(args.warmup_seconds)
        in_process = [entries[s.name].build() for s in sources if s.name != killed_name]
        started = time.monotonic()
        usage_before = (
            resource.getrusage(resource.RUSAGE_SELF),
            resource.getrusage(resource.RUSAGE_CHILDREN),
        )
        pollers = start_pollers(in_process, bus, state, stop, config=PollerConfig(poll_interval_s=0.5))
        producing_from = time.monotonic()
        servers.produce()
        killed = None
        if killed_name is not None:
            killed = TradegraphProcess(
                work / "killed",
                name=f"poller-{killed_name}",
                args=[
                    "sources",
                    "run",
                    "--no-loader",
                    "--only",
                    killed_name,
                    "--file",
                    str(sources_file),
                    "--poll-seconds",
                    "0.5",
                ],
                env=env,
                service="source",
            ).start()
        kill_at, restarted = started + args.seconds / 3, False
        while time.monotonic() - started < args.seconds:
            time.sleep(0.5)
            if killed is not None and not restarted and time.monotonic() >= kill_at:
                killed.sigkill()
                print(f"killed the poller of {killed_name} (SIGKILL) at {time.monotonic() - started:.0f} s")
                time.sleep(2)
                killed.start()
                restarted = True
        producing_s = time.monotonic() - producing_from
        servers.stop_producing()
        # Let the pollers read the rest, then the loader store it. A server may finish what it started
        # (the exchange plays out its trade budget), so what was produced is read again each time.
        deadline = time.monotonic() + args.drain_seconds
        while time.monotonic() < deadline:
            produced = {source.name: source.produced() for source in sources}
            stored = {source.name: _stored(store, source)[1] for source in sources}
            if all(stored[name] >= produced[name] for name in produced):
                break
            time.sleep(1.0)
        finished = time.monotonic()
        produced = {source.name: source.produced() for source in sources}
        stop.set()
        if killed is not None:
            killed.terminate()
        for _, thread in pollers:
            thread.join(timeout=30)
        loader_stop.set()
        loader_thread.join(timeout=60)
        usage_after = (resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN))

    lost = doubled = total = 0
    # Each source's rate as its server produced it over the producing seconds.
    rates = {name: count / producing_s for name, count in produced.items()}
    print(f"{'source':<26}{'kind':<11}{'produced':>10}{'per s':>7}{'stored':>10}{'lost':>7}{'doubled':>9}")
    for source in sources:
        rows, keys = _stored(store, source)
        source_lost = max(produced[source.name] - keys, 0)
        source_doubled = rows - keys
        lost, doubled, total = lost + source_lost, doubled + source_doubled, total + rows
        print(
            f"{source.name:<26}{source.spec.kind:<11}{produced[source.name]:>10,}{rates[source.name]:>7.1f}{rows:>10,}"
            f"{source_lost:>7,}{source_doubled:>9,}"
        )
    seconds = finished - started
    cpu = sum(
        (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
        for before, after in zip(usage_before, usage_after, strict=True)
    )
    rss_mb = max(usage_after[0].ru_maxrss, usage_after[1].ru_maxrss) / 1024
    p99 = _histogram_quantile(metrics, 0.99)
    p50 = _histogram_quantile(metrics, 0.50)
    result = {
        "sources": len(sources),
        "kinds": kinds,
        "datapoints": total,
        "datapoints_per_s": round(total / seconds, 1),
        "min_source_per_s": round(min(rates.values()), 1),
        "p50_ms": None if p50 is None else round(p50 * 1000, 1),
        "p99_ms": None if p99 is None else round(p99 * 1000, 1),
        "lost": lost,
        "doubled": doubled,
        "killed": killed_name,
        "speed": args.speed,
        "per_day": args.per_day,
        "seconds": round(seconds, 1),
        "cpu_s": round(cpu, 1),
        "max_rss_mb": round(rss_mb, 1),
        "store": args.store,
    }
    print(
        f"stored {total:,} datapoints in {seconds:.1f} s ({total / seconds:,.0f}/s); publish-to-stored "
        f"p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms; lost {lost}, doubled {doubled}; "
        f"CPU {cpu:.1f} s, max RSS {rss_mb:.0f} MB"
    )
    print(json.dumps(result))


def _pick_killed(choice: str, sources: list[BenchSource]) -> str | None:
    if choice == "none":
        return None
    if choice != "auto":
        if choice not in {source.name for source in sources}:
            raise SystemExit(
                f"--kill {choice}: no such source; sources: {', '.join(s.name for s in sources)}"
            )
        return choice
    # A source with a cursor: a live websocket has no replay, so a killed websocket poller loses what
    # arrives while it is down, by the nature of the stream, not of the pipeline.
    resumable = [source for source in sources if source.resumable]
    return resumable[0].name if resumable else None


if __name__ == "__main__":
    main()
