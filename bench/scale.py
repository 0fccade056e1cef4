"""Scale: a rolling window of ``--days`` x ``--ticks-per-day`` ticks (default 50 x 10,000,000 = 500M) in
ClickHouse 18.16, queried while the real ingestion path runs at 5,000 ticks/s.

1. Starts ClickHouse 18.16 (testkit launcher) with its data under ``--workdir`` (on disk) and creates the
   tick table with the store's own DDL (:class:`resources.tick_store.clickhouse.ClickHouseTickStore`).
2. Loads the window server-side, one ``INSERT INTO ticks SELECT ... FROM numbers(n)`` per day (the days
   before today, UTC): venue ``sim``, 5 symbols, trade ids increasing per symbol across days, trade times
   spread over the day (evenly with jitter, increasing per symbol), prices a sum of sinusoids with noise
   around each symbol's level, random quantities and sides. Each insert is written as one part per day
   (no merge left to wait for); the load time and ``system.parts`` (rows, bytes on disk per day) are
   reported.
3. Archives the oldest day to a local folder (the project's archive; not timed) so retention may drop it,
   and stores one day's bars in the table store (``bars_1m``, as the asset does; not timed).
4. Ingestion without queries: ``exchange-sim -> tradegraph stream -> Tansu -> tradegraph load`` into the
   same table at ``--rate`` for ``--ingest-trades`` trades, exchange-to-queryable latency measured as
   bench/ingest.py does (its ``kafka_run``; only the run's own ticks are polled and checked). The run's
   ticks are then dropped so the next run starts from the same window.
5. The same run with queries running from its first stored tick to its end, over and over, in a process
   of their own (bench/scale_queries.py: in the bench's process they would hold the GIL that the latency
   poller needs): one day's 1-minute bars for one symbol (the tick store's ``minute_bars``, computed on the
   server; then as before it, the tick store's ``read`` of that day + ``compute_bars_1m``; and the stored
   bars read from the table store), one symbol's week of ticks (the tick store's ``read``), and in the
   first such run once each the seal of the newest window day (``seal``) and retention dropping the
   oldest (``days_to_drop`` + ``drop``, the body of the ``hot_retention`` asset).
6. ``--pairs N`` repeats 4 and 5 N times each, in ABBA order, and compares the two sides: p99 pooled over
   each side's trades, each run's p99, and a Mann-Whitney U test of the per-run p99s (is the difference
   larger than the run-to-run noise?).

The stores and the loader run with the ClickHouse workload of ``--insert-priority``, ``--read-priority`` and
``--read-max-threads`` (default: the settings' defaults, inserts ahead of the reads; ``0 0 0`` runs
without priorities and with the server's threads, as before they existed).

By default everything shares the machine's cores. ``--cpu-split`` gives the queries (their process and the
ClickHouse threads serving them) the last core and the ingest the others, in the baselines too: the
deployment docs/SCALING.md prescribes, in which the ingest's p99 is unchanged by the queries (item 7 of
issue 11; on shared cores they add 8-20 % at any priority, docs/BENCHMARKS.md).

Prints the figures, then one JSON object as the last line. Deletes ``--workdir`` at the end unless
``--keep``.

    .venv/bin/python bench/scale.py [--days 50] [--ticks-per-day 10000000] [--pairs 1] [--workdir /var/tmp/tradegraph-scale]
    .venv/bin/python bench/scale.py --pairs 8 --cpu-split --poll-ms 1000 --kafka-client confluent --fetch-max-wait-ms 10   # item 7
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from clickhouse_driver import Client
from scipy.stats import mannwhitneyu

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from cpu_burn import IdleBurn, set_autogroups
from ingest import RunResult, kafka_run
from ingest_stages import STAGES, stages_line
from scale_queries import QueryProcess, QuerySpec, QueryTimings, timed
from server_thread_nice import pin_process, reset_server_threads
from settle import settle

from resources.archive.factory import TickArchiveConfig, open_tick_archive
from resources.clickhouse import ClickHouseWorkload
from resources.table_store.factory import TableStoreConfig, open_table_store
from resources.tick_store.clickhouse import ClickHouseTickStore
from testkit.harness import SYMBOLS, VENUE
from testkit.servers import ClickHouseServer, install_cleanup_handlers
from trading_assets.core.time import US_PER_DAY, day_bounds_us
from trading_assets.market.bars import BARS_TABLE, compute_bars_1m

DATABASE = "bench_scale"
# Price level and quantity scale per symbol, roughly the real ones.
LEVELS = dict(zip(SYMBOLS, [60_000.0, 3_000.0, 150.0, 0.5, 0.6], strict=True))
QUANTITY_SCALE = dict(zip(SYMBOLS, [0.5, 5.0, 50.0, 5_000.0, 4_000.0], strict=True))

# One day of the window. number k: symbol k / per_symbol, that symbol's (k % per_symbol)th trade of the
# day: rows come out in the table's sort order (venue, symbol, trade_id), which spares the server the sort
# of each inserted block (several times the cost of generating it, on 2 busy cores).
GENERATE_DAY = """
INSERT INTO {table} (venue, symbol, trade_id, price, quantity, side, trade_time_us, event_time_us,
                     receive_time_us)
SELECT venue, symbol, trade_id, price, quantity, side, trade_time_us,
       trade_time_us + toInt64(intHash64(number + %(seed)s + 1) %% 5000) AS event_time_us,
       event_time_us + 2000 + toInt64(intHash64(number + %(seed)s + 2) %% 20000) AS receive_time_us
FROM (
    SELECT number, %(venue)s AS venue, intDiv(number, %(per_symbol)s) AS s, number %% %(per_symbol)s AS i,
           arrayElement(%(symbols)s, s + 1) AS symbol,
           toInt64(%(first_id)s + i) AS trade_id,
           toInt64(%(day_start_us)s + i * %(spacing_us)s + intHash64(number + %(seed)s) %% %(spacing_us)s)
               AS trade_time_us,
           trade_time_us / 86400000000.0 AS t,
           round(arrayElement(%(levels)s, s + 1) * (1
                 + 0.04 * sin(2 * pi() * (t / 9.7 + s * 0.21))
                 + 0.015 * sin(2 * pi() * (t * 1.3 + s * 0.37))
                 + 0.004 * sin(2 * pi() * (t * 24 * 2.1 + s))
                 + 0.0005 * ((intHash64(number + %(seed)s + 3) %% 2001) - 1000) / 1000), 4) AS price,
           round(0.0001 + (intHash64(number + %(seed)s + 4) %% 100000) / 100000.0
                 * arrayElement(%(quantity_scale)s, s + 1), 6) AS quantity,
           toInt8(if(intHash64(number + %(seed)s + 5) %% 2 = 0, 1, -1)) AS side
    FROM numbers(%(rows)s)
)
"""


def generate_day(url: str, day: dt.date, index: int, ticks: int) -> float:
    """Insert day number ``index`` of the window (``ticks`` rows, one part); the seconds it took."""
    per_symbol = ticks // len(SYMBOLS)
    symbols = sorted(SYMBOLS)  # the table's order
    params = {
        "seed": index * 1_000_003,
        "venue": VENUE,
        "symbols": symbols,
        "first_id": index * per_symbol + 1,
        "day_start_us": day_bounds_us(day)[0],
        "spacing_us": US_PER_DAY // per_symbol,
        "levels": [LEVELS[symbol] for symbol in symbols],
        "quantity_scale": [QUANTITY_SCALE[symbol] for symbol in symbols],
        "rows": per_symbol * len(SYMBOLS),
        "per_symbol": per_symbol,
    }
    settings = {
        "max_block_size": 1_048_576,
        # The whole day squashed into one block: one part per day, nothing left to merge.
        "min_insert_block_size_rows": ticks,
        "min_insert_block_size_bytes": 1 << 34,
        "max_threads": 1,
        "max_memory_usage": 8 << 30,
    }
    separator = "&" if "?" in url else "?"
    client = Client.from_url(f"{url}{separator}send_receive_timeout=3600")
    try:
        started = time.perf_counter()
        client.execute(GENERATE_DAY.format(table=f"{DATABASE}.ticks"), params, settings=settings)
        return time.perf_counter() - started
    finally:
        client.disconnect()


def parts(client: Client) -> list[tuple[str, int, int, int]]:
    """(partition id, rows, bytes on disk, parts) of the tick table's active parts, per partition."""
    return [
        (str(p), int(r), int(b), int(n))
        for p, r, b, n in client.execute(
            "SELECT partition_id, sum(rows), sum(bytes_on_disk), count() FROM system.parts "
            "WHERE database = %(database)s AND table = 'ticks' AND active GROUP BY partition_id "
            "ORDER BY partition_id",
            {"database": DATABASE},
        )
    ]


def ingest(
    name: str,
    workdir: Path,
    clickhouse: ClickHouseServer,
    args: argparse.Namespace,
    queries: QuerySpec | None,
) -> tuple[RunResult, QueryTimings | None]:
    """One bench/ingest.py latency run into the window's table, with ``queries`` running meanwhile.

    The queries run in their own process (:mod:`scale_queries`), started before the run so their imports
    and connections are done when the trades begin.
    """
    burn = queries is not None and args.burn > 0
    process = None if queries is None or burn else QueryProcess(queries)
    since_us = time.time_ns() // 1_000
    done = threading.Event()
    result: list[RunResult] = []
    failure: list[BaseException] = []

    def run() -> None:
        try:
            result.append(
                kafka_run(
                    name,
                    workdir,
                    clickhouse,
                    trades=args.ingest_trades,
                    rate=args.rate,
                    streamers=1,
                    loaders=1,
                    batch_rows=100_000,
                    batch_seconds=0.1,
                    batch_min_seconds=args.batch_min_seconds,
                    sync_seconds=args.sync_seconds,
                    measure_latency=True,
                    frontier_poll_s=args.poll_ms / 1000,
                    database=DATABASE,
                    since_us=since_us,
                    kafka_client=args.kafka_client,
                    service_nice=args.service_nice,
                    service_rt=args.service_rt,
                    loader_env={
                        "TRADEGRAPH_CLICKHOUSE_INSERT_PRIORITY": str(args.insert_priority),
                        "TRADEGRAPH_CLICKHOUSE_READ_PRIORITY": str(args.read_priority),
                        "TRADEGRAPH_CLICKHOUSE_READ_MAX_THREADS": str(args.read_max_threads),
                        **(
                            {}
                            if args.fetch_max_wait_ms is None
                            else {
                                "TRADEGRAPH_KAFKA_FETCH_MAX_WAIT_MS": str(args.fetch_max_wait_ms),
                                "TRADEGRAPH_KAFKA_FETCH_MIN_WAIT_MS": str(min(args.fetch_max_wait_ms, 10)),
                            }
                        ),
                    },
                )
            )
        except BaseException as exc:  # re-raised in the main thread
            failure.append(exc)
        finally:
            done.set()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    burner = IdleBurn(args.burn) if burn else None
    if process is not None:
        client = Client.from_url(clickhouse.url)
        try:
            # Start with the trades (kafka_run first waits for the loader's group to settle).
            while not done.is_set():
                counted = client.execute(
                    f"SELECT count() FROM {DATABASE}.ticks WHERE trade_time_us >= %(since_us)s",
                    {"since_us": since_us},
                )
                if counted[0][0] > 0:
                    break
                time.sleep(0.1)
        finally:
            client.disconnect()
        process.start()
    thread.join()
    if burner is not None:
        burner.stop()
    timings = None if process is None else process.finish()
    if queries is not None and queries.lowers_server_threads and clickhouse.pid is not None:
        reset_server_threads(clickhouse.pid)  # a thread the query process could not restore
    if failure:
        raise failure[0]
    return result[0], timings


def ms(values: list[float]) -> float | None:
    """Median of ``values`` seconds, in ms (None when empty)."""
    return round(statistics.median(values) * 1000, 1) if values else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=50, help="days in the window (50)")
    parser.add_argument("--ticks-per-day", type=int, default=10_000_000, help="ticks per day (10,000,000)")
    parser.add_argument("--workdir", type=Path, default=Path("/var/tmp/tradegraph-scale"), help="on disk")
    parser.add_argument("--parallel", type=int, default=2, help="days generated at once (2)")
    parser.add_argument("--rate", type=float, default=5_000.0, help="ingestion rate, ticks/s (5,000)")
    parser.add_argument("--ingest-trades", type=int, default=300_000, help="trades per ingest run (300,000)")
    parser.add_argument(
        "--pairs",
        type=int,
        default=1,
        help="ingest runs without and with queries, this many of each, in ABBA order (1); 4 or more to say "
        "whether the queries change the ingest's p99 beyond the run-to-run noise",
    )
    parser.add_argument(
        "--query-nice",
        type=int,
        default=0,
        help="niceness of the query process (0: the pipeline's CPU priority)",
    )
    parser.add_argument(
        "--server-thread-nice",
        type=int,
        default=0,
        help="nice value of the ClickHouse threads serving the queries (0: left alone; 19: what a current "
        "server's os_thread_priority does, set by the bench from outside on 18.16; needs root)",
    )
    parser.add_argument(
        "--query-idle",
        action="store_true",
        help="run the query process and the ClickHouse threads serving it under SCHED_IDLE (CPU only when "
        "nothing else wants it; set by the bench from outside, needs root)",
    )
    parser.add_argument(
        "--service-nice",
        type=int,
        default=None,
        help="TRADEGRAPH_SERVICE_NICE of the streamer and the loader (e.g. -10: the ingest ahead of the "
        "queries; needs root), and the same nice value for the exchange and the broker, set by the bench "
        "from outside (default: unset, everything at the priority it started with)",
    )
    parser.add_argument(
        "--service-rt",
        type=int,
        choices=range(1, 100),
        metavar="1-99",
        default=None,
        help="run the exchange, the broker, the streamer and the loader under SCHED_RR at this priority "
        "(1-99; as `chrt --rr 1 tradegraph stream` starts a service; set by the bench from outside, needs "
        "root; default: unset, the normal class)",
    )
    parser.add_argument(
        "--burn",
        type=int,
        default=0,
        help="in the runs 'with queries', run this many busy loops under SCHED_IDLE instead of the queries "
        "(bench/cpu_burn.py: what sharing the cores costs the ingest below any priority; default 0: the "
        "queries)",
    )
    parser.add_argument(
        "--no-autogroups",
        action="store_true",
        help="turn the kernel's autogroups off for the bench (root; restored at the end): with them on, "
        "nice values and SCHED_IDLE weigh only inside a session (bench/cpu_burn.py)",
    )
    parser.add_argument(
        "--cpu-split",
        action="store_true",
        help="run the queries (the query process and the ClickHouse threads serving it) on the last core and "
        "everything else (exchange, streamer, broker, loader, the rest of ClickHouse, this process) on the "
        "others, in the runs without queries too (set by the bench from outside)",
    )
    parser.add_argument(
        "--poll-ms",
        type=float,
        default=20.0,
        help="how often the latency poller asks ClickHouse which trades are stored (20); its queries load "
        "the server and its figures end at its answers; the exact figures come from the insert traces",
    )
    parser.add_argument("--keep", action="store_true", help="keep --workdir (the ClickHouse data) at the end")
    parser.add_argument(
        "--load-only", action="store_true", help="load the window, keep it and stop (measure later: --reuse)"
    )
    parser.add_argument(
        "--reuse", action="store_true", help="measure the window a --load-only run left in --workdir"
    )
    parser.add_argument(
        "--resume", action="store_true", help="load only the days missing from the window in --workdir"
    )
    parser.add_argument(
        "--client-bars",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also compute the day's bars from read ticks in this process each round (the way before "
        "minute_bars; default on)",
    )
    parser.add_argument(
        "--batch-min-seconds",
        type=float,
        default=0.02,
        help="the loader's --batch-min-seconds (0.02, its default): larger means fewer inserts a second, "
        "less ClickHouse CPU for the merges and fewer pauses of the reads, and a later queryable tick",
    )
    parser.add_argument(
        "--sync-seconds",
        type=float,
        default=None,
        help="the loader's --sync-seconds: insert through ClickHouse's insert buffer, one part per sync "
        "instead of one per insert (off)",
    )
    parser.add_argument(
        "--kafka-client",
        choices=("kafka-python", "confluent"),
        default="kafka-python",
        help="TRADEGRAPH_KAFKA_CLIENT of the streamer and loader (kafka-python)",
    )
    parser.add_argument(
        "--fetch-max-wait-ms",
        type=int,
        default=None,
        help="TRADEGRAPH_KAFKA_FETCH_MAX_WAIT_MS of the loader (the bus's default when not given; the "
        "confluent client's consumers keep it fixed)",
    )
    default = ClickHouseWorkload()
    parser.add_argument(
        "--insert-priority", type=int, default=default.insert_priority, help="ClickHouse priority of inserts"
    )
    parser.add_argument(
        "--read-priority", type=int, default=default.read_priority, help="ClickHouse priority of the reads"
    )
    parser.add_argument(
        "--read-max-threads", type=int, default=default.read_max_threads, help="max_threads of the reads"
    )
    args = parser.parse_args()
    workload = ClickHouseWorkload(
        insert_priority=args.insert_priority,
        read_priority=args.read_priority,
        read_max_threads=args.read_max_threads,
    )
    if args.days < 9 or args.ticks_per_day % len(SYMBOLS):
        raise SystemExit(f"--days must be >= 9 and --ticks-per-day a multiple of {len(SYMBOLS)}")
    install_cleanup_handlers()
    cores = sorted(os.sched_getaffinity(0))
    query_cpus, pipeline_cpus = (cores[-1:], cores[:-1]) if args.cpu_split else ([], [])
    if pipeline_cpus:
        # Before anything starts: ClickHouse, the broker, the services and their threads inherit it.
        pin_process(set(pipeline_cpus))
    # A load kept for a later --reuse is never deleted, not even when it fails half way (--resume).
    args.keep = args.keep or args.load_only
    load_record = args.workdir / "load.json"
    if not (args.reuse or args.resume):
        shutil.rmtree(args.workdir, ignore_errors=True)
        args.workdir.mkdir(parents=True)
    today = dt.datetime.now(dt.UTC).date()
    window = [today - dt.timedelta(days=args.days - i) for i in range(args.days)]
    figures: dict[str, Any] = {"days": args.days, "ticks_per_day": args.ticks_per_day, "cpus": os.cpu_count()}
    workload_figures = {
        "insert_priority": workload.insert_priority,
        "read_priority": workload.read_priority,
        "read_max_threads": workload.read_max_threads,
        "loader_batch_min_seconds": args.batch_min_seconds,
        "loader_sync_seconds": args.sync_seconds,
    }
    print(
        f"cores {os.cpu_count()}, load average before {os.getloadavg()[0]:.2f}; window {window[0]}..{window[-1]}"
    )
    # Before anything starts: a process stays in the scheduler group it started in.
    autogroups_before = set_autogroups(False) if args.no_autogroups else None
    try:
        server = ClickHouseServer(args.workdir / "clickhouse")
        # A kept 500M-row window loads its parts' metadata from disk at start: 38 s with a cold page cache.
        server.ready_timeout_s = 300.0
        with server as clickhouse:
            assert isinstance(clickhouse, ClickHouseServer)
            store = ClickHouseTickStore(clickhouse.url, database=DATABASE, workload=workload)
            store.partitions()  # creates the database and the table with the store's DDL
            admin = Client.from_url(clickhouse.url)

            if args.reuse:
                if load_record.exists():  # absent when the load was stopped before its end
                    figures |= json.loads(load_record.read_text())
                present = {p.day for p in store.partitions()}
                window = [day for day in window if day in present]
                figures["days"] = len(window)
            else:
                started = time.perf_counter()
                loaded = {p.day for p in store.partitions() if p.rows == args.ticks_per_day}
                todo = [(i, day) for i, day in enumerate(window) if day not in loaded]
                print(f"{len(loaded)} days loaded before, {len(todo)} to load")
                with ThreadPoolExecutor(args.parallel) as pool:
                    # Newest first: a load cut short still leaves a window that ends yesterday.
                    per_day = list(
                        pool.map(
                            lambda item: generate_day(clickhouse.url, item[1], item[0], args.ticks_per_day),
                            reversed(todo),
                        )
                    )
                figures["load_s"] = round(time.perf_counter() - started, 1)
                figures["load_day_s_median"] = round(statistics.median(per_day), 1)
                figures["load_avg_after_load"] = round(os.getloadavg()[0], 2)
            # Merges: a day is one part already; wait for any the server still runs.
            started = time.perf_counter()
            while admin.execute("SELECT count() FROM system.merges")[0][0]:
                time.sleep(1)
            figures["merge_wait_s"] = round(time.perf_counter() - started, 1)
            window_parts = parts(admin)
            rows = sum(r for _, r, _, _ in window_parts)
            disk = sum(b for _, _, b, _ in window_parts)
            figures |= {
                "rows": rows,
                "parts": sum(n for *_, n in window_parts),
                "disk_bytes": disk,
                "disk_bytes_per_day": round(disk / len(window_parts)),
                "bytes_per_tick": round(disk / rows, 2),
            }
            load = (
                f"in {figures['load_s']} s ({rows / figures['load_s']:,.0f} ticks/s, {args.parallel} at once; "
                f"load average {figures['load_avg_after_load']})"
                if "load_s" in figures
                else "(load time: see the --load-only run)"
            )
            print(
                f"{rows:,} ticks in {len(window_parts)} partitions ({figures['parts']} parts) {load}; "
                f"{disk / 1e9:.2f} GB on disk, {disk / len(window_parts) / 1e6:.0f} MB per day, "
                f"{figures['bytes_per_tick']} bytes per tick"
            )
            if args.load_only:
                load_record.write_text(json.dumps(figures))
                print(json.dumps(figures))
                return

            # Not timed: the oldest day archived (retention drops only archived days), one day's bars stored.
            archive_location = str(args.workdir / "archive")
            archive = open_tick_archive(TickArchiveConfig(location=archive_location))
            table_store = open_table_store(
                TableStoreConfig(
                    kind="clickhouse",
                    clickhouse_url=clickhouse.url,
                    clickhouse_database=DATABASE,
                    workload=workload,
                )
            )
            seconds, _ = timed(lambda: archive.write_day(window[0], store.export(window[0])))
            print(f"archived {window[0]} in {seconds:.1f} s (not timed)")
            # The days before yesterday are sealed in production (tick_partition seals each past day):
            # the week's days are sealed here too, so their reads are those of sealed days.
            seconds, _ = timed(lambda: [store.seal(day) for day in window[-8:-1]])
            print(f"sealed {window[-8]}..{window[-2]} in {seconds:.1f} s (not timed)")
            bars_day = window[-2]
            seconds, _ = timed(
                lambda: table_store.write_partition(
                    BARS_TABLE, bars_day, compute_bars_1m(store.export(bars_day))
                )
            )
            print(f"stored the bars of {bars_day} in {seconds:.1f} s (not timed)")
            table_store.close()

            runs: dict[bool, list[RunResult]] = {False: [], True: []}
            load_avgs: dict[bool, list[float]] = {False: [], True: []}
            timings = QueryTimings()
            for with_queries in run_order(args.pairs):
                # The day's one-off work (seal, retention) in the first run with queries only.
                spec = QuerySpec(
                    url=clickhouse.url,
                    database=DATABASE,
                    workload=workload,
                    archive=archive_location,
                    window=tuple(window),
                    client_bars=args.client_bars,
                    once=not runs[True],
                    nice=args.query_nice,
                    server_thread_nice=args.server_thread_nice,
                    idle=args.query_idle,
                    cpus=tuple(query_cpus),
                    server_cpus=tuple(pipeline_cpus),
                )
                name = f"{'queries' if with_queries else 'baseline'}-{len(runs[with_queries]) + 1}"
                # Not after the last run's or the setup's seal: its merges and writeback slowed the run.
                waited = settle(admin)
                if waited >= 1.0:
                    print(f"waited {waited:.1f} s for merges and writeback to finish")
                run, run_timings = ingest(
                    name, args.workdir, clickhouse, args, spec if with_queries else None
                )
                runs[with_queries].append(run)
                load_avgs[with_queries].append(round(os.getloadavg()[0], 2))
                if run_timings is not None:
                    timings.extend(run_timings)
                lat = run.latency_ms or {}
                print(
                    f"ingest {name:<11} p50 {lat['p50']:.0f} ms, p99 {lat['p99']:.0f} ms, max {lat['max']:.0f} ms "
                    f"(to the insert's return: p99 {(run.stored_latency_ms or {}).get('p99', float('nan')):.0f} ms; "
                    f"to the polls' sending: p99 {lat['p99_at_send']:.0f} ms; polls p50 {lat['poll_p50']:.1f}, "
                    f"p99 {lat['poll_p99']:.1f}, max {lat['poll_max']:.0f} ms); "
                    f"lost {run.lost}, duplicated {run.duplicated}; load average {load_avgs[with_queries][-1]}"
                )
                print(f"            {stages_line(run.stages_ms, run.steal_pct)}")
                print("            CPU (cores): " + ", ".join(f"{k} {v:.2f}" for k, v in run.cpu.items()))
                for part in store.partitions():
                    if part.day >= today:
                        store.drop(part.day)  # the next run's exchange starts its trade ids at 1 again
            admin.disconnect()
            store.close()
    finally:
        if autogroups_before is not None:
            set_autogroups(autogroups_before)
        if not args.keep:
            shutil.rmtree(args.workdir, ignore_errors=True)
    for name, values in timings.timings.items():
        print(f"{name:<16} {len(values)} runs: " + ", ".join(f"{v * 1000:.0f}" for v in values) + " ms")
    print(f"notes: {timings.notes}; load average after {os.getloadavg()[0]:.2f}")
    figures |= workload_figures
    if not args.burn:
        figures |= query_figures(timings, client_bars=args.client_bars)
    figures |= ingest_figures(runs[False], runs[True])
    figures |= {
        "load_avg_baseline": statistics.median(load_avgs[False]),
        "load_avg_queries": statistics.median(load_avgs[True]),
        "ingest_trades": args.ingest_trades,
        "query_nice": args.query_nice,
        "server_thread_nice": args.server_thread_nice,
        "query_idle": args.query_idle,
        "service_nice": args.service_nice,
        "service_rt": args.service_rt,
        "burn": args.burn,
        "no_autogroups": args.no_autogroups,
        "poll_ms": args.poll_ms,
        "query_cpus": query_cpus,
        "pipeline_cpus": pipeline_cpus,
        "kafka_client": args.kafka_client,
        "fetch_max_wait_ms": args.fetch_max_wait_ms,
    }
    print(
        f"ingest p99 over {args.pairs} pair(s): {figures['ingest_p99_ms_no_queries']} ms without queries, "
        f"{figures['ingest_p99_ms']} ms with ({figures['ingest_p99_change_pct']:+.1f} %); per run "
        f"{figures['ingest_p99_runs_ms_no_queries']} -> {figures['ingest_p99_runs_ms']}; "
        f"Mann-Whitney p = {figures['ingest_p99_mannwhitney_p']}"
    )
    print(
        f"ending when the polls were sent: {figures['ingest_p99_at_send_ms_no_queries']} ms without, "
        f"{figures['ingest_p99_at_send_ms']} ms with ({figures['ingest_p99_at_send_change_pct']:+.1f} %); per run "
        f"{figures['ingest_p99_at_send_runs_ms_no_queries']} -> {figures['ingest_p99_at_send_runs_ms']}; "
        f"Mann-Whitney p = {figures['ingest_p99_at_send_mannwhitney_p']}; the polls' p99 per run "
        f"{figures['poll_p99_runs_ms_no_queries']} -> {figures['poll_p99_runs_ms']} ms"
    )
    print(
        f"to the loader's insert returning (exact): {figures['ingest_p99_stored_ms_no_queries']} ms without, "
        f"{figures['ingest_p99_stored_ms']} ms with ({figures['ingest_p99_stored_change_pct']:+.1f} %); per run "
        f"{figures['ingest_p99_stored_runs_ms_no_queries']} -> {figures['ingest_p99_stored_runs_ms']}; "
        f"Mann-Whitney p = {figures['ingest_p99_stored_mannwhitney_p']}"
    )
    print(json.dumps(figures))


def run_order(pairs: int) -> list[bool]:
    """Without (False) and with (True) queries, ``pairs`` times, alternating ABBA so a drift of the machine
    over the runs weighs on both sides alike."""
    return [
        with_queries
        for i in range(pairs)
        for with_queries in ((False, True) if i % 2 == 0 else (True, False))
    ]


def query_figures(timings: QueryTimings, *, client_bars: bool) -> dict[str, Any]:
    """The JSON figures of the queries (medians in ms unless named ``_s``)."""
    t, notes = timings.timings, timings.notes
    return {
        "day_bars_ms": ms(t["day_bars"]),
        "day_bars_max_ms": round(max(t["day_bars"]) * 1000, 1),
        "day_bars_over_1s": sum(1 for v in t["day_bars"] if v >= 1.0),
        "client_bars": client_bars,
        "day_bars_client_ms": ms(t["day_bars_client"]),
        "day_bars_client_max_ms": round(max(t["day_bars_client"], default=0) * 1000, 1),
        "day_bars_client_over_1s": sum(1 for v in t["day_bars_client"] if v >= 1.0),
        "day_bars_read_ms": ms(t["day_bars_read"]),
        "day_bars_equal": notes.get("day_bars_equal"),
        "day_bars_stored_ms": ms(t["day_bars_stored"]),
        "week_read_s": round(statistics.median(t["week_read"]), 2),
        "week_rows": notes.get("week_rows"),
        "seal_s": round(t["seal"][0], 2),
        "retention_s": round(t["retention"][0], 3),
        "retention_dropped": notes.get("retention_dropped"),
        "query_rounds": len(t["day_bars"]),
    }


def ingest_figures(without: list[RunResult], with_queries: list[RunResult]) -> dict[str, Any]:
    """Ingest latency without and with the queries: pooled over each side's trades, per run, and whether
    the with-query runs' p99s differ from the others' (two-sided Mann-Whitney U over the per-run p99s;
    with 4 runs a side the smallest p it can give is 0.029)."""
    figures: dict[str, Any] = {}
    for suffix, runs in (("_no_queries", without), ("", with_queries)):
        pooled = np.concatenate([run.latencies for run in runs if run.latencies is not None])
        at_send = np.concatenate([run.latencies_at_send for run in runs if run.latencies_at_send is not None])
        stored = np.concatenate([run.stored_latencies for run in runs if run.stored_latencies is not None])
        figures |= {
            f"ingest_p50_ms{suffix}": round(float(np.percentile(pooled, 50)), 1),
            f"ingest_p99_ms{suffix}": round(float(np.percentile(pooled, 99)), 1),
            f"ingest_max_ms{suffix}": round(float(pooled.max()), 1),
            f"ingest_p99_runs_ms{suffix}": [round((run.latency_ms or {})["p99"], 1) for run in runs],
            # The same ending when the first poll that saw each trade was sent (its own time not counted).
            f"ingest_p99_at_send_ms{suffix}": round(float(np.percentile(at_send, 99)), 1),
            f"ingest_p99_at_send_runs_ms{suffix}": [
                round((run.latency_ms or {})["p99_at_send"], 1) for run in runs
            ],
            f"poll_p99_runs_ms{suffix}": [round((run.latency_ms or {})["poll_p99"], 1) for run in runs],
            # Exactly: to when the loader's insert holding each trade returned (its insert trace).
            f"ingest_p50_stored_ms{suffix}": round(float(np.percentile(stored, 50)), 1),
            f"ingest_p99_stored_ms{suffix}": round(float(np.percentile(stored, 99)), 1),
            f"ingest_p99_stored_runs_ms{suffix}": [
                round((run.stored_latency_ms or {})["p99"], 1) for run in runs
            ],
            # Per run, where the slowest 1 % of trades spent their time, and the inserts' own p99.
            **{
                f"tail_{stage}_runs_ms{suffix}": [
                    round((run.stages_ms or {}).get(f"tail_{stage}", float("nan")), 1) for run in runs
                ]
                for stage in STAGES
            },
            f"insert_p99_runs_ms{suffix}": [
                round((run.stages_ms or {}).get("insert_ms_p99", float("nan")), 1) for run in runs
            ],
            f"steal_pct_runs{suffix}": [round(run.steal_pct, 2) for run in runs],
        }
    for kind in ("", "_at_send", "_stored"):
        base = figures[f"ingest_p99{kind}_ms_no_queries"]
        figures[f"ingest_p99{kind}_change_pct"] = round(
            (figures[f"ingest_p99{kind}_ms"] - base) / base * 100, 1
        )
        figures[f"ingest_p99{kind}_mannwhitney_p"] = (
            round(
                float(
                    mannwhitneyu(
                        figures[f"ingest_p99{kind}_runs_ms"],
                        figures[f"ingest_p99{kind}_runs_ms_no_queries"],
                        alternative="two-sided",
                    ).pvalue
                ),
                3,
            )
            if len(without) > 1
            else None
        )
    figures["lost"] = sum(run.lost for run in without + with_queries)
    figures["duplicated"] = sum(run.duplicated for run in without + with_queries)
    return figures


if __name__ == "__main__":
    main()
