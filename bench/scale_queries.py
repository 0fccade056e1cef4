"""bench/scale.py's query set, run in a process of its own while ingestion runs.

The queries decode millions of rows in Python (a week of one symbol's ticks, a day read for client-side
bars). Run as threads of the bench process, they held the GIL that the latency poller (bench/ingest.py's
``Poller``, a thread of the same process) needs to take its 20 ms samples on time, so a late sample showed
as ingest latency that the pipeline never had. In their own process they compete with the pipeline for the
cores only, as a Dagster run worker or an analyst's notebook does.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing as mp
import os
import queue
import sys
import time
from dataclasses import dataclass, field
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from server_thread_nice import pin_clients, pin_process, renice_clients, restore, unpin

from resources.archive.factory import TickArchiveConfig, open_tick_archive
from resources.clickhouse import ClickHouseWorkload
from resources.table_store.factory import TableStoreConfig, open_table_store
from resources.tick_store.clickhouse import ClickHouseTickStore
from testkit.harness import SYMBOLS
from trading_assets.archive.retention import days_to_drop
from trading_assets.core.time import day_bounds_us
from trading_assets.market.bars import BARS_TABLE, compute_bars_1m

# How long the query process may take to finish its current query once the ingest run has ended.
FINISH_TIMEOUT_S = 600.0


@dataclass(frozen=True, kw_only=True)
class QuerySpec:
    """What the query process connects to and asks."""

    url: str
    """ClickHouse URL of the window."""
    database: str
    """Database holding the tick table and the table store's tables."""
    workload: ClickHouseWorkload
    """Priorities and threads the stores send with their statements."""
    archive: str
    """Archive location (retention drops only archived days)."""
    window: tuple[dt.date, ...]
    """The window's days, oldest first."""
    client_bars: bool
    """Also compute the day's bars from ticks read into the query process, the way before minute_bars."""
    once: bool
    """Seal the newest day and run retention in this run (the day's one-off work), besides the loop."""
    nice: int = 0
    """Niceness added to the query process (0: the pipeline's own CPU priority)."""
    idle: bool = False
    """Run the query process and the server threads serving it under ``SCHED_IDLE`` (CPU only when no
    other thread wants it), as well as at their nice values."""
    server_thread_nice: int = 0
    """Nice value of the server threads serving the query process's connections (0: left alone); what a
    current ClickHouse's ``os_thread_priority`` does, set from outside on 18.16 (:mod:`server_thread_nice`)."""

    cpus: tuple[int, ...] = ()
    """CPUs the query process and the server threads serving it run on (empty: wherever the bench runs)."""
    server_cpus: tuple[int, ...] = ()
    """CPUs the server's threads run on otherwise (where a pinned thread goes back before it disconnects)."""

    @property
    def lowers_server_threads(self) -> bool:
        """Whether the server threads serving the query process run below the normal priority."""
        return bool(self.server_thread_nice or self.idle)


@dataclass(kw_only=True)
class QueryTimings:
    """Seconds per query kind, and what the queries returned (rows, days dropped)."""

    timings: dict[str, list[float]] = field(
        default_factory=lambda: {
            name: []
            for name in (
                "day_bars",
                "day_bars_client",
                "day_bars_read",
                "day_bars_stored",
                "week_read",
                "seal",
                "retention",
            )
        }
    )
    notes: dict[str, Any] = field(default_factory=dict)

    def extend(self, other: QueryTimings) -> None:
        """Add ``other``'s timings; its notes replace these."""
        for name, values in other.timings.items():
            self.timings[name].extend(values)
        self.notes |= other.notes


def timed(step: Any) -> tuple[float, Any]:
    """(seconds, result) of ``step()``."""
    started = time.perf_counter()
    result = step()
    return time.perf_counter() - started, result


class Queries:
    """The query set over one window; timings per query in :attr:`result`."""

    def __init__(self, spec: QuerySpec) -> None:
        self.spec = spec
        self.store = ClickHouseTickStore(spec.url, database=spec.database, workload=spec.workload)
        self.table_store = open_table_store(
            TableStoreConfig(
                kind="clickhouse",
                clickhouse_url=spec.url,
                clickhouse_database=spec.database,
                workload=spec.workload,
            )
        )
        self.archive = open_tick_archive(TickArchiveConfig(location=spec.archive))
        self.symbol = SYMBOLS[0]
        self.bars_day = spec.window[-2]  # one of the week's days
        self.result = QueryTimings()

    def close(self) -> None:
        """Close the stores' connections."""
        self.store.close()
        self.table_store.close()

    def day_bars(self) -> None:
        timings, notes = self.result.timings, self.result.notes
        start, end = day_bounds_us(self.bars_day)
        seconds, bars = timed(lambda: self.store.minute_bars(symbol=self.symbol, start_us=start, end_us=end))
        timings["day_bars"].append(seconds)
        notes["day_bars_rows"] = bars.num_rows
        seconds, stored = timed(
            lambda: self.table_store.read(
                BARS_TABLE, start_us=start, end_us=end, filters={"symbol": self.symbol}
            )
        )
        timings["day_bars_stored"].append(seconds)
        notes["day_bars_stored_rows"] = stored.num_rows
        if not self.spec.client_bars:
            return
        read_s, ticks = timed(lambda: self.store.read(symbol=self.symbol, start_us=start, end_us=end))
        compute_s, client_bars = timed(lambda: compute_bars_1m(ticks))
        timings["day_bars_client"].append(read_s + compute_s)
        timings["day_bars_read"].append(read_s)
        columns = ["minute_us", "open", "close", "trades"]
        notes["day_bars_equal"] = notes.get("day_bars_equal", True) and bars.select(columns).equals(
            client_bars.select(columns)
        )

    def week_read(self) -> None:
        week = self.spec.window[-8:-1]  # seven full days, not the one the seal rewrites
        start, end = day_bounds_us(week[0])[0], day_bounds_us(week[-1])[1]
        seconds, ticks = timed(lambda: self.store.read(symbol=self.symbol, start_us=start, end_us=end))
        self.result.timings["week_read"].append(seconds)
        self.result.notes["week_rows"] = ticks.num_rows

    def seal(self) -> None:
        day = self.spec.window[-1]
        seconds, rows = timed(lambda: self.store.seal(day))
        self.result.timings["seal"].append(seconds)
        self.result.notes |= {"seal_day": day.isoformat(), "seal_rows": rows}

    def retention(self) -> None:
        today = dt.datetime.now(dt.UTC).date()

        def drop() -> list[dt.date]:
            # The body of the hot_retention asset: counts from the store, records from the archive.
            store_rows = {p.day: p.rows for p in self.store.partitions()}
            archived = {record.day: record for record in self.archive.days()}
            dropped = days_to_drop(
                sorted(store_rows),
                archived,
                store_rows,
                today=today,
                hot_retention_days=(today - self.spec.window[0]).days - 1,
            )
            for day in dropped:
                self.store.drop(day)
            return dropped

        seconds, dropped = timed(drop)
        self.result.timings["retention"].append(seconds)
        self.result.notes["retention_dropped"] = [day.isoformat() for day in dropped]

    def run_until(self, done: Event) -> None:
        """Every query once (seal and retention only when ``once``), then bars and week until ``done``."""
        self.day_bars()
        self.week_read()
        if self.spec.once:
            self.seal()
            self.retention()
        while not done.is_set():
            self.day_bars()
            if not done.is_set():
                self.week_read()


def _serve(spec: QuerySpec, go: Event, done: Event, results: mp.Queue[QueryTimings]) -> None:
    """The query process: connect, wait for ``go``, query until ``done``, send the timings."""
    if spec.nice:
        os.nice(spec.nice)  # as a deployment gives its analytics less CPU weight than the ingest
    if spec.idle:
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))  # the threads it starts inherit it
    if spec.cpus:
        pin_process(set(spec.cpus))  # before it starts threads of its own: they inherit the CPUs
    queries = Queries(spec)
    threads = renice_clients(spec.server_thread_nice, idle=spec.idle) if spec.lowers_server_threads else []
    queries.result.notes["server_threads_reniced"] = len(threads)
    pinned = pin_clients(set(spec.cpus)) if spec.cpus else []
    queries.result.notes["server_threads_pinned"] = len(pinned)
    try:
        go.wait()
        queries.run_until(done)
    finally:
        restore(threads)  # before the connections close: their threads go back to the server's pool
        unpin(pinned, set(spec.server_cpus))
        queries.close()
    results.put(queries.result)


class QueryProcess:
    """Starts the query process (spawned: no fork of a process with threads), :meth:`start` and :meth:`finish`."""

    def __init__(self, spec: QuerySpec) -> None:
        context = mp.get_context("spawn")
        self._go, self._done = context.Event(), context.Event()
        self._results: mp.Queue[QueryTimings] = context.Queue()
        self._process = context.Process(
            target=_serve, args=(spec, self._go, self._done, self._results), name="scale-queries", daemon=True
        )
        self._process.start()

    def start(self) -> None:
        """Let the queries begin."""
        self._go.set()

    def finish(self) -> QueryTimings:
        """Stop after the current query; its timings (raises when the process failed)."""
        self._go.set()
        self._done.set()
        deadline = time.monotonic() + FINISH_TIMEOUT_S
        while time.monotonic() < deadline:
            try:
                result = self._results.get(timeout=1.0)
            except queue.Empty:
                if not self._process.is_alive() and self._results.empty():
                    break  # it died without sending: its traceback is on stderr
                continue
            self._process.join(timeout=30)
            return result
        self._process.kill()
        raise RuntimeError(
            f"the query process sent no timings (exit code {self._process.exitcode}); see its traceback above"
        )
