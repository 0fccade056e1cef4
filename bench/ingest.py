"""End-to-end ingestion benchmark: exchange-sim -> tradegraph stream -> Kafka (Tansu) -> tradegraph load ->
ClickHouse, every piece a real process on 127.0.0.1 sharing this machine's cores; then `tradegraph run`.

Runs, each against a fresh exchange (it holds its clock until the streamers subscribed and stops after
``--max-trades``), a fresh Tansu broker (memory storage) and a fresh ClickHouse database:

1. Throughput: the exchange at ``--rate`` (far above what the pipeline takes: flat out; it pauses its clock
   while a client's send buffer is full, so nothing is dropped), Binance combined stream, one trade per
   frame. Sustained ticks/s = growth of the ClickHouse row count between 10% and 90% of the trades
   (``SELECT count()`` every 0.25 s), so start-up and the tail are not counted.
2. Latency at 5,000 ticks/s (the exchange's clock is wall time at speed 1, so a trade's time is when the
   exchange printed it): a poller asks ClickHouse every 20 ms (``--poll-ms``) for each symbol's highest stored trade id
   and row count; a trade counts as queryable at the end of the first poll whose contiguous prefix
   1..max(id) (count == max id) includes it. Latency = that moment - trade time: exchange batching,
   websocket, parsing, the streamer's flush, Kafka, the loader's batch wait, the insert and the poll
   interval (so the figures are upper bounds, by at most the poll interval plus one query; the figures
   ``*_at_send`` end when that poll was sent instead, leaving its own duration out; and exactly, with no
   poll in it, the stored latency ends when the loader's insert holding the trade returned, from the
   loaders' ``--insert-trace``). ``--runs N``
   repeats this run N times (fresh exchange, broker and database each) and reports each run and the
   pooled p50/p99/max; each run names when its slowest trade happened and how often the loaders joined
   their group after the trades started (a rebalance that stalled them). The trades start only once the
   loaders' group has settled: no (re)join for 4 s after the first join.
3. Lost and duplicated: after each run the services are stopped (SIGTERM, flush), every day is sealed and
   the store is compared with ``/sim/stats``: lost = ids 1..last per symbol not stored, duplicated = rows
   - distinct trades.
4. Embedded: ``tradegraph run --rate R --max-trades N`` (exchange, streamer, loader in one process; in-process
   bus; Parquet store). Ticks/s from the loader's heartbeat (ticks stored, written every second) between
   10% and 90%; lost/duplicated as above, from the ids the run prints.

Prints the figures, then one JSON object as the last line.

    .venv/bin/python bench/ingest.py [--trades 1500000] [--rate 1000000] [--latency-trades 60000] [--runs 5]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import re
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from clickhouse_driver import Client
from clickhouse_driver import errors as ch_errors

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cpu_burn import set_realtime
from ingest_stages import (
    TracedInsert,
    complete_prefixes,
    cpu_times,
    read_traces,
    stage_breakdown,
    stages_line,
    steal_pct,
)

from resources.tick_store.base import TickStore
from resources.tick_store.factory import TickStoreConfig, open_tick_store
from testkit.exchange_sim import ExchangeSimProcess
from testkit.harness import (
    SYMBOLS,
    VENUE,
    Processes,
    TradegraphProcess,
    expected_last_ids,
    log_lines,
    lost_and_duplicated,
    seed_streamer_state,
    sim_stats,
    stored_ids,
    wait_finished,
    wait_store_quiet,
)
from testkit.servers import ClickHouseServer, KafkaBroker, install_cleanup_handlers
from trading_assets.services.cpu_priority import apply_service_nice
from trading_assets.services.heartbeat import read_heartbeat

DEADLINE_S = 300.0
POLL_S = 0.02


def _size(path: Path) -> int:
    """Bytes in ``path`` so far (0 when it does not exist yet)."""
    return path.stat().st_size if path.exists() else 0


def cpu_seconds(pid: int | None) -> float:
    """User + system CPU seconds of a process so far (Linux /proc); 0 when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, TypeError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


INSERT_TRACE = "inserts.jsonl"
"""Each loader's insert trace, in its run directory."""

JOIN_LINE = {
    "kafka-python": r"Successfully joined group",
    "confluent": r"Setting newly assigned partitions",
}
"""Per TRADEGRAPH_KAFKA_CLIENT: the line a loader logs once per join of its group."""

GROUP_LINE = {
    "kafka-python": r"joining group|joined group",
    "confluent": r"Setting newly assigned partitions|Revoking partitions",
}
"""Per TRADEGRAPH_KAFKA_CLIENT: the lines a loader logs while its group (re)forms."""

Frontier = tuple[int, int, dict[str, tuple[int, int]]]
"""A latency poll: wall us when sent, wall us at its answer, symbol -> (max id stored, rows up to it)."""


@dataclass
class RunResult:
    """What one run measured."""

    name: str
    trades: int
    ticks_per_s: float
    lost: int
    duplicated: int
    seconds: float
    cpu: dict[str, float] = field(default_factory=dict)
    latency_ms: dict[str, float] | None = None
    latencies: np.ndarray | None = None
    latencies_at_send: np.ndarray | None = None
    stored_latency_ms: dict[str, float] | None = None
    """Latency figures to when the loader's insert holding each trade returned (its insert trace)."""
    stored_latencies: np.ndarray | None = None
    stages_ms: dict[str, float] | None = None
    """Where the latency went: :func:`ingest_stages.stage_breakdown` of the insert traces."""
    steal_pct: float = 0.0
    """CPU time the hypervisor gave other guests during the run, % of the machine's."""
    sim_paused_s: float = 0.0
    group_joins: int = 0


class Poller(threading.Thread):
    """Polls ClickHouse in the background: the row count (throughput) or per-symbol frontiers (latency)."""

    def __init__(
        self,
        url: str,
        database: str,
        *,
        frontier: bool,
        since_us: int = 0,
        frontier_poll_s: float = POLL_S,
        table: str = "ticks",
    ) -> None:
        super().__init__(daemon=True)
        self.frontier_poll_s = frontier_poll_s
        self.client = Client.from_url(url)
        self.database = database
        # ``ticks_buffer`` when the loader inserts through the insert buffer: it answers with the
        # buffered rows too (``ticks`` has them only after the loader's next sync).
        self.table = table
        self.frontier = frontier
        # Only ticks traded from here on count: a table that already holds other days (bench/scale.py's
        # window) is pruned to the run's partition instead of scanned every 20 ms.
        self.since_us = since_us
        self.stop = threading.Event()
        self.counts: list[tuple[float, int]] = []  # (monotonic s, rows)
        # (wall us when the poll was sent, wall us at its answer, symbol -> (max id, rows))
        self.frontiers: list[Frontier] = []
        # Each symbol's highest id whose prefix 1..id was stored at the last poll.
        self._complete: dict[str, int] = {}

    def run(self) -> None:
        interval = self.frontier_poll_s if self.frontier else 0.25
        try:
            while not self.stop.wait(interval):
                try:
                    if self.frontier:
                        self.frontiers.append(self._poll_frontier())
                    else:
                        rows = self.client.execute(
                            f"SELECT count() FROM {self.database}.{self.table} WHERE trade_time_us >= %(since_us)s",
                            {"since_us": self.since_us},
                        )
                        self.counts.append((time.monotonic(), int(rows[0][0])))
                except ch_errors.ServerException:
                    continue  # the loader has not created the table yet
        finally:
            self.client.disconnect()

    def _poll_frontier(self) -> Frontier:
        """One frontier sample: (wall us when sent, wall us at the answer, symbol -> (max id, rows up to it)).

        Reads only the ids above the lowest complete prefix seen so far (the table's key ends in
        ``trade_id``), so a poll costs about what arrived since, not the whole run: the former full scan
        cost ClickHouse about 5 ms of CPU per poll at 60,000 rows, growing with the run, and at a 5 ms
        interval took most of a core from the pipeline it measured. A symbol's rows above that floor
        plus the floor (each symbol's ids 1..floor are stored) equal its max id when its prefix is
        complete, exactly what ``count() == max(id)`` said before.
        """
        floor = min(self._complete.values(), default=0)
        sent_us = time.time_ns() // 1_000
        rows = self.client.execute(
            f"SELECT symbol, max(trade_id), count() FROM {self.database}.{self.table} "
            "WHERE trade_time_us >= %(since_us)s AND trade_id > %(floor)s GROUP BY symbol",
            {"since_us": self.since_us, "floor": floor},
        )
        at_us = time.time_ns() // 1_000
        # A symbol without new rows is as complete as it was.
        sample = {s: (top, top) for s, top in self._complete.items() if top > 0}
        for symbol, top, count in rows:
            if symbol not in self._complete:
                self._complete[symbol] = 0  # the next poll counts it from id 1 (the floor drops to 0)
                if floor > 0:
                    continue  # its ids at or below the floor were not counted
            stored = floor + int(count)
            sample[symbol] = (int(top), stored)
            if stored == int(top):
                self._complete[symbol] = int(top)
        return sent_us, at_us, sample

    def rows(self) -> int:
        """The last row count seen."""
        return self.counts[-1][1] if self.counts else 0

    def frontier_rows(self) -> int:
        """Trades below the last frontier sample (the sum of each symbol's highest id)."""
        return sum(m for m, _ in self.frontiers[-1][2].values()) if self.frontiers else 0


def steady_rate(samples: Sequence[tuple[float, int]], total: int) -> tuple[float, float]:
    """(ticks/s, seconds) between the first samples at or above 10% and 90% of ``total``."""
    low = next(((t, n) for t, n in samples if n >= 0.1 * total), None)
    high = next(((t, n) for t, n in samples if n >= 0.9 * total), None)
    if low is None or high is None or high[0] <= low[0]:
        return 0.0, 0.0
    return (high[1] - low[1]) / (high[0] - low[0]), high[0] - low[0]


@dataclass(frozen=True)
class StoredTrades:
    """The trades a run stored, as numpy columns (one read serves every latency measure)."""

    symbols: np.ndarray
    ids: np.ndarray
    times: np.ndarray
    """Trade time (exchange), us."""
    received: np.ndarray
    """When the streamer read the trade off its socket, us."""


def read_stored_trades(url: str, database: str, since_us: int = 0, *, table: str = "ticks") -> StoredTrades:
    """The trades stored from ``since_us`` on."""
    client = Client.from_url(url + "?use_numpy=true")
    try:
        symbols, ids, times, received = client.execute(
            f"SELECT symbol, trade_id, trade_time_us, receive_time_us FROM {database}.{table} "
            "WHERE trade_time_us >= %(since_us)s",
            {"since_us": since_us},
            columnar=True,
        )
    finally:
        client.disconnect()
    return StoredTrades(
        symbols=np.asarray(symbols).astype(str),
        ids=np.asarray(ids, np.int64),
        times=np.asarray(times, np.int64),
        received=np.asarray(received, np.int64),
    )


def _spread(values: np.ndarray, key: str) -> dict[str, float]:
    """p50, p99 and max of ``values``, named by ``key`` (a format string such as ``"{}_at_send"``)."""
    return {
        key.format("p50"): float(np.percentile(values, 50)),
        key.format("p99"): float(np.percentile(values, 99)),
        key.format("max"): float(values.max()),
    }


def latency_ms(
    trades: StoredTrades, frontiers: list[Frontier]
) -> tuple[dict[str, float], np.ndarray, np.ndarray]:
    """Exchange-time-to-queryable latency per trade, from the frontier samples (see the module docstring):
    the figures, and the latencies (ms) to each trade's first poll's answer and to when it was sent.

    The latencies returned end at the answer of the first poll that saw the trade (as before); the figures
    also give them ending when that poll was sent (``*_at_send``): ClickHouse takes the parts a query reads
    when the query arrives, so a trade that poll saw was stored by about then, and the poll's own duration
    (which grows when other queries keep the server and the bench busy) is not counted as ingest time.
    """
    symbols, ids, times, received = trades.symbols, trades.ids, trades.times, trades.received
    latencies: list[np.ndarray] = []
    at_send: list[np.ndarray] = []
    trade_times: list[np.ndarray] = []
    unmeasured = 0
    for symbol in np.unique(symbols):
        mine = symbols == symbol
        # Only samples whose stored ids are exactly 1..max say which trades were queryable then.
        complete = [
            (sent, at, f[symbol][0])
            for sent, at, f in frontiers
            if symbol in f and f[symbol][0] == f[symbol][1]
        ]
        sent_us = np.array([sent for sent, _, _ in complete], np.int64)
        sample_us = np.array([at for _, at, _ in complete], np.int64)
        prefix = np.array([top for _, _, top in complete], np.int64)
        if not len(prefix):
            unmeasured += int(mine.sum())
            continue
        prefix = np.maximum.accumulate(prefix)
        first = np.searchsorted(prefix, ids[mine], side="left")
        seen = first < len(prefix)
        unmeasured += int((~seen).sum())
        latencies.append((sample_us[first[seen]] - times[mine][seen]) / 1_000)
        at_send.append((sent_us[first[seen]] - times[mine][seen]) / 1_000)
        trade_times.append(times[mine][seen])
    every = np.concatenate(latencies) if latencies else np.empty(0)
    if not len(every):
        return (
            {
                "p50": float("nan"),
                "p99": float("nan"),
                "max": float("nan"),
                "trades": 0,
                "unmeasured": unmeasured,
            },
            every,
            every,
        )
    every_time = np.concatenate(trade_times)
    every_at_send = np.concatenate(at_send)
    poll_ms = np.array([(at - sent) / 1_000 for sent, at, _ in frontiers])
    worst = int(np.argmax(every))
    # The part up to the streamer's socket read (exchange batching, websocket), for the breakdown.
    to_streamer = (received - times) / 1_000
    return (
        {
            "to_streamer_p50": float(np.percentile(to_streamer, 50)),
            "to_streamer_p99": float(np.percentile(to_streamer, 99)),
            **_spread(every, "{}"),
            **_spread(every_at_send, "{}_at_send"),
            # How long the latency polls themselves took (answer - sent).
            **_spread(poll_ms, "poll_{}"),
            # When the slowest trade happened, seconds after the run's first trade: a stall shows as a
            # cluster of slow trades at one moment (a rebalance at the start, a merge or flush later).
            "max_at_s": float((every_time[worst] - every_time.min()) / 1e6),
            "over_100ms": int(np.count_nonzero(every > 100)),
            "trades": len(every),
            "unmeasured": unmeasured,
        },
        every,
        every_at_send,
    )


def trace_frontiers(inserts: Sequence[TracedInsert]) -> list[Frontier]:
    """The loaders' inserts (:func:`ingest_stages.read_traces` of their ``--insert-trace`` files) as frontier
    samples, in the order the inserts returned: per symbol the highest id inserted so far and the ticks
    inserted so far (the prefix 1..max is stored once they are equal), at the moment the insert returned."""
    return [
        (insert.done_us, insert.done_us, prefix)
        for insert, prefix in zip(inserts, complete_prefixes(inserts), strict=True)
    ]


def stored_ids_since(store: TickStore, first_day: dt.date) -> dict[str, np.ndarray]:
    """:func:`testkit.harness.stored_ids` of the days from ``first_day`` on (a window's older days are
    neither exported nor sealed)."""
    tables = [store.export(part.day) for part in store.partitions() if part.day >= first_day]
    tables = [t.select(["venue", "symbol", "trade_id"]) for t in tables if t.num_rows]
    if not tables:
        return {}
    table = pa.concat_tables(tables)
    table = table.filter(pc.equal(table["venue"], VENUE))
    return {
        symbol: np.sort(table.filter(pc.equal(table["symbol"], symbol))["trade_id"].to_numpy())
        for symbol in pc.unique(table["symbol"]).to_pylist()
    }


def kafka_run(
    name: str,
    workdir: Path,
    clickhouse: ClickHouseServer,
    *,
    trades: int,
    rate: float,
    streamers: int,
    loaders: int,
    batch_rows: int,
    batch_seconds: float,
    batch_min_seconds: float,
    measure_latency: bool,
    database: str | None = None,
    since_us: int = 0,
    loader_env: Mapping[str, str] | None = None,
    frontier_poll_s: float = POLL_S,
    sync_seconds: float | None = None,
    kafka_client: str = "kafka-python",
    service_nice: int | None = None,
    service_rt: int | None = None,
) -> RunResult:
    """One run of the Kafka path; every process it starts is stopped before it returns.

    ``database``: where the loader writes (default ``bench_<name>``, fresh); ``since_us``: only ticks
    traded from then on are polled, measured, sealed and compared (the days before it are left alone);
    ``loader_env``: more settings for the loaders (e.g. ``TRADEGRAPH_CLICKHOUSE_INSERT_PRIORITY``);
    ``frontier_poll_s``: how often the latency run asks ClickHouse what is queryable; ``kafka_client``:
    the services' TRADEGRAPH_KAFKA_CLIENT; ``service_nice``: the streamers' and loaders'
    TRADEGRAPH_SERVICE_NICE, and the nice value the bench gives the exchange and the broker from outside
    (they stand for a remote exchange and a broker an operator starts at the ingest's priority);
    ``service_rt``: ``SCHED_RR`` at that priority for the exchange, the broker, the loaders and the
    streamers, set by the bench from outside as ``chrt`` would start them.
    """
    joined, forming = JOIN_LINE[kafka_client], GROUP_LINE[kafka_client]
    run_dir = workdir / name
    database = database or f"bench_{name.replace('-', '_')}"
    processes = Processes()
    try:
        broker = processes.start(KafkaBroker(run_dir / "tansu"))
        sim = processes.start(
            ExchangeSimProcess(
                run_dir / "sim",
                [
                    "--symbols",
                    ",".join(SYMBOLS),
                    "--rate",
                    str(rate),
                    "--max-trades",
                    str(trades),
                    "--wait-for-clients",
                    str(streamers),
                ],
            )
        )
        assert isinstance(broker, KafkaBroker) and isinstance(sim, ExchangeSimProcess)
        for pid in (sim.pid, broker.pid):
            apply_service_nice(service_nice, pid)
            set_realtime(service_rt, pid)
        env = {
            **({} if service_nice is None else {"TRADEGRAPH_SERVICE_NICE": str(service_nice)}),
            "TRADEGRAPH_BUS": "kafka",
            "TRADEGRAPH_KAFKA_BOOTSTRAP": broker.bootstrap,
            "TRADEGRAPH_KAFKA_CLIENT": kafka_client,
            "TRADEGRAPH_STORE": "clickhouse",
            "TRADEGRAPH_CLICKHOUSE_URL": clickhouse.url,
            "TRADEGRAPH_CLICKHOUSE_DATABASE": database,
            "TRADEGRAPH_VENUES": "sim",
            "TRADEGRAPH_SIM_WS_URL": sim.ws_url,
            "TRADEGRAPH_SIM_REST_URL": sim.rest_url,
        }
        traces = [run_dir / f"loader{i}" / INSERT_TRACE for i in range(loaders)]
        loader_procs = [
            TradegraphProcess(
                run_dir / f"loader{i}",
                name=f"loader{i}",
                service=None,
                env={**env, **(loader_env or {}), "TRADEGRAPH_HOME": str(run_dir / f"loader{i}" / "home")},
                args=[
                    "load",
                    "--batch-rows",
                    str(batch_rows),
                    "--batch-seconds",
                    str(batch_seconds),
                    "--batch-min-seconds",
                    str(batch_min_seconds),
                    *([] if sync_seconds is None else ["--sync-seconds", str(sync_seconds)]),
                    *(["--insert-trace", str(traces[i])] if measure_latency else []),
                ],
            )
            for i in range(loaders)
        ]
        for trace in traces:
            # The loader appends to its trace: a kept run directory's trace of an earlier run would match
            # that run's inserts to this run's trade ids (each run's ids start at 1).
            trace.unlink(missing_ok=True)
        # A kept run directory's logs hold earlier runs' lines: read only what this run's loaders write.
        offsets = {p.name: _size(p.log_path) for p in loader_procs}
        for loader in loader_procs:
            processes.start(loader)
            set_realtime(service_rt, loader.pid)
        # A loader that has not joined its group yet would add its join time (seconds) to the first trades.
        deadline = time.monotonic() + 30
        while not all(log_lines(p.log_path, joined, offset=offsets[p.name]) for p in loader_procs):
            if time.monotonic() > deadline:
                raise RuntimeError(
                    "the loaders did not join their group within 30 s\n" + processes.diagnostics()
                )
            time.sleep(0.1)
        # The first join is often followed by a second one about 3 s later (Tansu holds each join for its
        # rebalance delay); trades that arrive during it wait those seconds, which once made a run's p99
        # read 2.5 s. Start the trades only once no loader has (re)joined for longer than that delay.
        settled_s = 4.0
        while True:
            joins = sum(len(log_lines(p.log_path, forming, offset=offsets[p.name])) for p in loader_procs)
            time.sleep(settled_s)
            if (
                sum(len(log_lines(p.log_path, forming, offset=offsets[p.name])) for p in loader_procs)
                == joins
            ):
                break
            if time.monotonic() > deadline:
                raise RuntimeError(
                    "the loaders' group did not settle within 30 s\n" + processes.diagnostics()
                )
        time.sleep(0.5)  # the partition assignment follows the join
        joined_before = sum(len(log_lines(p.log_path, joined, offset=offsets[p.name])) for p in loader_procs)
        table = "ticks" if sync_seconds is None else "ticks_buffer"
        poller = Poller(
            clickhouse.url,
            database,
            frontier=measure_latency,
            since_us=since_us,
            frontier_poll_s=frontier_poll_s,
            table=table,
        )
        counter = (
            poller
            if not measure_latency
            else Poller(clickhouse.url, database, frontier=False, since_us=since_us, table=table)
        )
        streamer_procs = []
        for i in range(streamers):
            # Each streamer its own symbols and its own home: the restart state is one file per home.
            symbols = SYMBOLS[i::streamers]
            home = run_dir / f"streamer{i}" / "home"
            seed_streamer_state(home, symbols)
            streamer_procs.append(
                TradegraphProcess(
                    run_dir / f"streamer{i}",
                    name=f"streamer{i}",
                    service="streamer",
                    args=["stream"],
                    env={**env, "TRADEGRAPH_HOME": str(home), "TRADEGRAPH_SYMBOLS": ",".join(symbols)},
                )
            )
        pids = {"exchange-sim": sim.pid, "tansu": broker.pid, "clickhouse": clickhouse.pid}
        pids |= {p.name: p.pid for p in loader_procs}
        for streamer in streamer_procs:
            processes.start(streamer)
            pids[streamer.name] = streamer.pid
            set_realtime(service_rt, streamer.pid)
        for thread in {poller, counter}:
            thread.start()
        started = time.monotonic()
        cpu0 = {k: cpu_seconds(v) for k, v in pids.items()}
        machine0 = cpu_times()
        stats = wait_finished(sim, timeout_s=DEADLINE_S)
        while counter.rows() < trades and time.monotonic() - started < DEADLINE_S:
            time.sleep(0.1)
        seconds = time.monotonic() - started
        while measure_latency and poller.frontier_rows() < trades and time.monotonic() - started < DEADLINE_S:
            time.sleep(0.02)  # the frontier poller's view of the last batch
        cpu = {k: (cpu_seconds(v) - cpu0[k]) / seconds for k, v in pids.items()}
        steal = steal_pct(machine0, cpu_times())
        for thread in {poller, counter}:
            thread.stop.set()
            thread.join(5)
        rate_seen, _ = steady_rate(counter.counts, trades)
        latency = latencies = latencies_at_send = stored_latency = stored_latencies = stages = None
        if measure_latency:
            stored_trades = read_stored_trades(clickhouse.url, database, since_us, table=table)
            latency, latencies, latencies_at_send = latency_ms(stored_trades, poller.frontiers)
            # Exactly, from the loaders' own record of when each insert returned (no poll in it).
            inserts = read_traces(traces)
            stored_latency, stored_latencies, _ = latency_ms(stored_trades, trace_frontiers(inserts))
            stages = stage_breakdown(stored_trades, inserts)
        # Any join once the trades started: the group rebalanced during the run (seconds without polls).
        joins = (
            sum(len(log_lines(p.log_path, joined, offset=offsets[p.name])) for p in loader_procs)
            - joined_before
        )
        if joins:
            # Say why: a rejoin stops every loader's polls for the broker's rebalance delay (seconds).
            for loader in loader_procs:
                for line in log_lines(
                    loader.log_path,
                    rf"{forming}|[Rr]ebalanc|Heartbeat|session|[Rr]evoking|dead",
                    offset=offsets[loader.name],
                ):
                    print(f"         {loader.name}: {line}")
        # Stop the services (streamers first, loaders once the store is quiet), seal, compare.
        for streamer in streamer_procs:
            streamer.terminate()
        with open_tick_store(
            TickStoreConfig(kind="clickhouse", clickhouse_url=clickhouse.url, database=database)
        ) as store:
            wait_store_quiet(store, quiet_s=1.5, timeout_s=60)
            for loader in loader_procs:
                loader.terminate()
            first_day = dt.datetime.fromtimestamp(since_us / 1e6, dt.UTC).date()
            for part in store.partitions():
                if part.day >= first_day:
                    store.seal(part.day)
            rows = sum(part.rows for part in store.partitions() if part.day >= first_day)
            lost, duplicated = lost_and_duplicated(
                stored_ids_since(store, first_day), rows, expected_last_ids(stats)
            )
        return RunResult(
            name=name,
            trades=trades,
            ticks_per_s=rate_seen,
            lost=lost,
            duplicated=duplicated,
            seconds=seconds,
            cpu=cpu,
            latency_ms=latency,
            latencies=latencies,
            latencies_at_send=latencies_at_send,
            stored_latency_ms=stored_latency,
            stored_latencies=stored_latencies,
            stages_ms=stages,
            steal_pct=steal,
            sim_paused_s=float(sim_stats(sim)["paused_s"]),
            group_joins=joins,
        )
    finally:
        processes.close()


def embedded_run(workdir: Path, *, trades: int, rate: float) -> RunResult:
    """``tradegraph run`` (exchange, streamer, loader in one process) flat out; stopped before returning."""
    run_dir = workdir / "embedded"
    home = run_dir / "home"
    processes = Processes()
    try:
        run = TradegraphProcess(
            run_dir,
            name="run",
            service=None,
            args=["run", "--rate", str(rate), "--max-trades", str(trades)],
            env={"TRADEGRAPH_HOME": str(home), "TRADEGRAPH_SYMBOLS": ",".join(SYMBOLS)},
        )
        processes.start(run)
        samples: list[tuple[float, int]] = []
        started = time.monotonic()
        cpu0 = cpu_seconds(run.pid)
        cpu = 0.0
        while run.exit_code is None and time.monotonic() - started < DEADLINE_S:
            beat = read_heartbeat(home, "loader")
            if beat is not None and (not samples or beat.wall_time_us / 1e6 != samples[-1][0]):
                samples.append((beat.wall_time_us / 1e6, beat.ticks))
            cpu = cpu_seconds(run.pid) - cpu0 or cpu
            time.sleep(0.05)
        seconds = time.monotonic() - started
        exit_code = run.wait_exit(timeout_s=60)
        if exit_code != 0:
            raise RuntimeError(f"tradegraph run exited with {exit_code}\n{processes.diagnostics()}")
        output = run.log_path.read_text()
        expected = {
            m[1]: int(m[2].replace(",", ""))
            for m in re.finditer(r"sim (\w+) +trade ids 1\.\.([\d,]+)", output)
        }
        with open_tick_store(TickStoreConfig(embedded_dir=home / "ticks")) as store:
            for part in store.partitions():
                store.seal(part.day)
            rows = sum(part.rows for part in store.partitions())
            lost, duplicated = lost_and_duplicated(stored_ids(store), rows, expected)
        rate_seen, _ = steady_rate(samples, trades)
        return RunResult(
            name="embedded",
            trades=trades,
            ticks_per_s=rate_seen,
            lost=lost,
            duplicated=duplicated,
            seconds=seconds,
            cpu={"tradegraph run": cpu / seconds},
        )
    finally:
        processes.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--trades", type=int, default=1_500_000, help="trades of the throughput runs (1,500,000)"
    )
    parser.add_argument(
        "--rate",
        type=float,
        default=1_000_000.0,
        help="exchange rate of the throughput runs, trades/s; above what the pipeline takes "
        "means flat out (1,000,000)",
    )
    parser.add_argument("--latency-trades", type=int, default=60_000, help="trades of the 5k/s run (60,000)")
    parser.add_argument("--latency-rate", type=float, default=5_000.0, help="rate of the latency run (5,000)")
    parser.add_argument("--streamers", type=int, default=1, help="streamer processes, symbols split (1)")
    parser.add_argument("--loaders", type=int, default=1, help="loader processes in the group (1)")
    parser.add_argument("--batch-rows", type=int, default=100_000, help="loader --batch-rows (100,000)")
    parser.add_argument("--batch-seconds", type=float, default=0.1, help="loader --batch-seconds (0.1)")
    parser.add_argument(
        "--batch-min-seconds", type=float, default=0.02, help="loader --batch-min-seconds (0.02)"
    )
    parser.add_argument(
        "--runs",
        type=int,
        default=1,
        help="latency runs, each on a fresh exchange, broker and database; p50/p99/max per run and "
        "over all their trades (1)",
    )
    parser.add_argument(
        "--fetch-max-wait-ms",
        type=int,
        default=None,
        help="TRADEGRAPH_KAFKA_FETCH_MAX_WAIT_MS for the loaders (the bus's default, 500, when not given; "
        "on Tansu the wait adds to the latency, see resources/bus/kafka_fetch.py)",
    )
    parser.add_argument(
        "--poll-ms",
        type=float,
        default=POLL_S * 1000,
        help="how often the latency run asks ClickHouse what is queryable; the figures are upper bounds by "
        "about this much (20)",
    )
    parser.add_argument(
        "--sync-seconds",
        type=float,
        default=None,
        help="loader --sync-seconds: insert through ClickHouse's insert buffer, synced this often; the "
        "latency is then measured on ticks_buffer (off)",
    )
    parser.add_argument(
        "--kafka-client",
        choices=sorted(JOIN_LINE),
        default="kafka-python",
        help="TRADEGRAPH_KAFKA_CLIENT of the streamers and loaders (kafka-python)",
    )
    parser.add_argument("--no-throughput", action="store_true", help="skip the flat-out Kafka run")
    parser.add_argument("--no-embedded", action="store_true", help="skip the `tradegraph run` run")
    parser.add_argument(
        "--embedded-trades", type=int, default=None, help="trades of the embedded run (--trades)"
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    install_cleanup_handlers()
    print(
        f"cores: {os.cpu_count()}; exchange-sim, {args.streamers} streamer(s), Tansu, {args.loaders} loader(s), "
        f"ClickHouse all on them; load average before: {os.getloadavg()[0]:.2f}"
    )
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        workdir = Path(tmp)
        with ClickHouseServer(workdir / "clickhouse") as clickhouse:
            assert isinstance(clickhouse, ClickHouseServer)
            common = {
                "streamers": args.streamers,
                "loaders": args.loaders,
                "batch_rows": args.batch_rows,
                "batch_seconds": args.batch_seconds,
                "batch_min_seconds": args.batch_min_seconds,
                "sync_seconds": args.sync_seconds,
                "kafka_client": args.kafka_client,
            }
            # The services get a fresh environment (testkit.harness.TradegraphProcess): pass the wait.
            loader_env = (
                None
                if args.fetch_max_wait_ms is None
                else {
                    "TRADEGRAPH_KAFKA_FETCH_MAX_WAIT_MS": str(args.fetch_max_wait_ms),
                    "TRADEGRAPH_KAFKA_FETCH_MIN_WAIT_MS": str(min(args.fetch_max_wait_ms, 10)),
                }
            )
            throughput = (
                None
                if args.no_throughput
                else kafka_run(
                    "throughput",
                    workdir,
                    clickhouse,
                    trades=args.trades,
                    rate=args.rate,
                    measure_latency=False,
                    loader_env=loader_env,
                    **common,
                )
            )
            if throughput is not None:
                print(
                    f"kafka    throughput: {throughput.ticks_per_s:,.0f} ticks/s sustained (store growth 10%..90% of "
                    f"{throughput.trades:,} trades); run {throughput.seconds:.1f} s, exchange paused "
                    f"{throughput.sim_paused_s:.1f} s for a full client buffer"
                )
                print("         CPU (cores): " + ", ".join(f"{k} {v:.2f}" for k, v in throughput.cpu.items()))
                print(f"         lost {throughput.lost}, duplicated {throughput.duplicated} after sealing")
            latency_runs = []
            for run in range(args.runs):
                latency = kafka_run(
                    f"latency-{run + 1}",
                    workdir,
                    clickhouse,
                    trades=args.latency_trades,
                    rate=args.latency_rate,
                    measure_latency=True,
                    loader_env=loader_env,
                    frontier_poll_s=args.poll_ms / 1000,
                    **common,
                )
                latency_runs.append(latency)
                lat = latency.latency_ms or {}
                print(
                    f"kafka    latency run {run + 1}/{args.runs} at {args.latency_rate:,.0f} ticks/s, exchange time -> "
                    f"queryable in ClickHouse (poll every {args.poll_ms:.0f} ms): p50 {lat['p50']:.0f} ms, p99 "
                    f"{lat['p99']:.0f} ms, max {lat['max']:.0f} ms (at {lat.get('max_at_s', float('nan')):.1f} s) "
                    f"over {lat['trades']:,} trades ({lat['unmeasured']} unmeasured, "
                    f"{lat.get('over_100ms', 0)} over 100 ms); exchange -> streamer socket read p50 "
                    f"{lat.get('to_streamer_p50', float('nan')):.0f} ms, p99 {lat.get('to_streamer_p99', float('nan')):.0f} ms; "
                    f"loader group joins during the run {latency.group_joins}, load average {os.getloadavg()[0]:.2f}"
                )
                print(f"         {stages_line(latency.stages_ms, latency.steal_pct)}")
                print(f"         lost {latency.lost}, duplicated {latency.duplicated} after sealing")
        pooled = np.concatenate([r.latencies for r in latency_runs if r.latencies is not None])
        overall = {
            "p50": float(np.percentile(pooled, 50)) if len(pooled) else float("nan"),
            "p99": float(np.percentile(pooled, 99)) if len(pooled) else float("nan"),
            "max": float(pooled.max()) if len(pooled) else float("nan"),
        }
        if args.runs > 1:
            per_run_p99 = [round((r.latency_ms or {}).get("p99", float("nan"))) for r in latency_runs]
            print(
                f"kafka    latency over {args.runs} runs ({len(pooled):,} trades): p50 {overall['p50']:.0f} ms, "
                f"p99 {overall['p99']:.0f} ms, max {overall['max']:.0f} ms; p99 per run {per_run_p99} ms"
            )
        embedded = (
            None
            if args.no_embedded
            else embedded_run(workdir, trades=args.embedded_trades or args.trades, rate=args.rate)
        )
        if embedded is not None:
            print(
                f"embedded tradegraph run: {embedded.ticks_per_s:,.0f} ticks/s sustained (loader heartbeat 10%..90% of "
                f"{embedded.trades:,}); run {embedded.seconds:.1f} s, CPU {embedded.cpu['tradegraph run']:.2f} cores"
            )
            print(f"         lost {embedded.lost}, duplicated {embedded.duplicated} after sealing")
    print(f"load average after: {os.getloadavg()[0]:.2f} (other work on this machine shares the cores)")
    print(
        json.dumps(
            {
                "ticks_per_s": round(throughput.ticks_per_s) if throughput else None,
                "p50_ms_at_5k": round(overall["p50"], 1),
                "p99_ms_at_5k": round(overall["p99"], 1),
                "max_ms_at_5k": round(overall["max"], 1),
                "p99_ms_at_5k_per_run": [round((r.latency_ms or {})["p99"], 1) for r in latency_runs],
                "max_ms_at_5k_per_run": [round((r.latency_ms or {})["max"], 1) for r in latency_runs],
                "lost": sum(r.lost for r in (throughput, *latency_runs, embedded) if r is not None),
                "duplicated": sum(
                    r.duplicated for r in (throughput, *latency_runs, embedded) if r is not None
                ),
                "embedded_ticks_per_s": round(embedded.ticks_per_s) if embedded else None,
                "embedded_lost": embedded.lost if embedded else None,
                "embedded_duplicated": embedded.duplicated if embedded else None,
                "runs": args.runs,
                "trades": args.trades,
                "latency_trades": args.latency_trades,
                "streamers": args.streamers,
                "loaders": args.loaders,
                "loader_batch_seconds": args.batch_seconds,
                "loader_batch_min_seconds": args.batch_min_seconds,
                "loader_sync_seconds": args.sync_seconds,
                "loader_fetch_max_wait_ms": args.fetch_max_wait_ms,
                "kafka_client": args.kafka_client,
                "poll_ms": args.poll_ms,
            }
        )
    )


if __name__ == "__main__":
    main()
