"""Seal + bars + archive of one day through the Dagster assets, on ClickHouse and on the embedded store.

Starts a ClickHouse server on 127.0.0.1, simulates one UTC day of ``--ticks`` trades over 5 symbols
(``simulate_day``; not timed) and loads it into ClickHouse and into an embedded store in loader-sized
batches (not timed: that is the loader's job). The seal asks the venue's REST history for trades past
the day's first and last ids; a simulated exchange that printed nothing stands in for the venue, so those
lookups cost what a real venue's few REST calls would and add nothing. Then, for each store, materializes ``tick_partition``,
``bars_1m`` and ``tick_archive`` for that day in-process with ``dagster.materialize`` (one run, in-process
executor, archive in a local folder) and times the run and each asset's step. Memory: the peak resident
set of this process during each run (``VmHWM`` reset through ``/proc/self/clear_refs`` before the run;
where that is not allowed, a 20 ms sampler of ``VmRSS``), and the whole process's ``ru_maxrss``.
Parquet bytes per tick come from ``tick_archive``'s metadata. Prints the figures, then one JSON line
(the last line) for docs/BENCHMARKS.md.

    .venv/bin/python bench/graph.py [--ticks 10000000] [--stores clickhouse,embedded]

Targets: at most 10 Parquet bytes per tick; the whole day in under 60 s on ClickHouse (issue 4), at most
15 s at 10,000,000 ticks (issue 7).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import gc
import json
import os
import resource
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dagster as dg
import pyarrow as pa
from clickhouse_driver import Client
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from resources.exchange_feed.resource import VenueHistoryResource
from resources.tick_store.base import TickStore
from resources.tick_store.factory import TickStoreConfig, open_tick_store
from testkit.servers import ClickHouseServer, install_cleanup_handlers
from trading_assets.archive.assets import tick_archive
from trading_assets.core.settings import Settings
from trading_assets.core.time import day_bounds_us
from trading_assets.definitions import resources as graph_resources
from trading_assets.market.assets import bars_1m, tick_partition
from trading_assets.market.simulation import simulate_day
from trading_assets.services.exchange_sim import ExchangeSim, ExchangeSimConfig

DAY = dt.date(2024, 3, 1)
SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT", "ADAUSDT", "XRPUSDT")
ASSETS = ("tick_partition", "bars_1m", "tick_archive")
DATABASE = "bench_graph"
MERGE_WAIT_S = 300.0


# -- memory -------------------------------------------------------------------------------------------


def _status_kb(field_name: str) -> int:
    """A ``kB`` field of /proc/self/status (VmRSS, VmHWM)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
    raise KeyError(field_name)


def _reset_peak() -> bool:
    """Reset this process's peak RSS (VmHWM) to its current RSS; False where the kernel refuses."""
    try:
        with open("/proc/self/clear_refs", "w") as clear:
            clear.write("5")
        return True
    except OSError:
        return False


@dataclass
class PhasePeak:
    """Peak RSS of this process over one phase, in MB."""

    mb: float = 0.0
    method: str = ""


@contextmanager
def peak_rss() -> Iterator[PhasePeak]:
    """Measure the peak RSS over the block: exact through VmHWM when it can be reset, else sampled."""
    peak = PhasePeak()
    gc.collect()
    if _reset_peak():
        peak.method = "VmHWM"
        yield peak
        peak.mb = _status_kb("VmHWM") / 1024
        return
    # Fallback: sample VmRSS; short spikes between samples are missed, so this can read low.
    peak.method = "sampled VmRSS"
    stop = threading.Event()
    highest = [_status_kb("VmRSS")]

    def sample() -> None:
        while not stop.wait(0.02):
            highest[0] = max(highest[0], _status_kb("VmRSS"))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        yield peak
    finally:
        stop.set()
        sampler.join()
        peak.mb = max(highest[0], _status_kb("VmRSS")) / 1024


def max_rss_mb() -> float:
    """Peak RSS of the whole process so far (Linux reports ru_maxrss in kB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# -- loading (not timed) ----------------------------------------------------------------------------


def load(store: TickStore, ticks: pa.Table, batch_rows: int, name: str) -> None:
    """Insert ``ticks`` in loader-sized batches, as the loader would have during the day."""
    with tqdm(
        total=ticks.num_rows, desc=f"load {name}", unit="tick", unit_scale=True, file=sys.stdout
    ) as bar:
        for offset in range(0, ticks.num_rows, batch_rows):
            bar.update(store.insert(ticks.slice(offset, batch_rows)))


def wait_for_merges(url: str, database: str, timeout_s: float) -> None:
    """Wait until ClickHouse runs no merge in ``database``, as hours after the loader wrote the day."""
    client = Client.from_url(url)
    try:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            (busy,) = client.execute(
                "SELECT count() FROM system.merges WHERE database = %(db)s", {"db": database}
            )
            if busy[0] == 0:
                return
            time.sleep(0.5)
        print(f"warning: merges still running after {timeout_s:.0f} s; the seal may wait for them")
    finally:
        client.disconnect()


# -- the timed part ---------------------------------------------------------------------------------


@dataclass
class StoreRun:
    """What one store's run of the three assets took."""

    store: str
    day_s: float
    step_s: dict[str, float]
    rss_before_mb: float
    peak_rss_mb: float
    peak_method: str
    metadata: dict[str, dict[str, Any]] = field(default_factory=dict)
    checks: dict[str, bool] = field(default_factory=dict)


def _step_seconds(result: dg.ExecuteInProcessResult) -> dict[str, float]:
    """Wall time of each successful step, as Dagster measured it (STEP_SUCCESS ``duration_ms``)."""
    return {
        event.step_key: event.event_specific_data.duration_ms / 1000
        for event in result.all_events
        if event.event_type_value == "STEP_SUCCESS" and event.step_key is not None
    }


def run_assets(name: str, resources: dict[str, Any]) -> StoreRun:
    """Materialize the three assets for DAY in one in-process run; time it and each step."""
    # Hand freed memory back first: Arrow's allocator keeps what an earlier run (or the load) used, which
    # would otherwise count towards this run's resident set.
    gc.collect()
    pa.default_memory_pool().release_unused()
    rss_before = _status_kb("VmRSS") / 1024
    print(
        f"{name}: materializing {', '.join(ASSETS)} for {DAY} (RSS before: {rss_before:,.0f} MB) ...",
        flush=True,
    )
    with peak_rss() as peak:
        started = time.perf_counter()
        result = dg.materialize(
            [tick_partition, bars_1m, tick_archive],
            partition_key=DAY.isoformat(),
            resources=resources,
            raise_on_error=False,
            # The console logger prints every event at DEBUG; keep the output to the figures.
            run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
        )
        day_s = time.perf_counter() - started
    if not result.success:
        failures = [
            str(e.event_specific_data) for e in result.all_events if e.event_type_value == "STEP_FAILURE"
        ]
        raise SystemExit(f"{name}: the run failed:\n" + "\n".join(failures))
    run = StoreRun(
        store=name,
        day_s=day_s,
        step_s=_step_seconds(result),
        rss_before_mb=rss_before,
        peak_rss_mb=peak.mb,
        peak_method=peak.method,
    )
    for event in result.get_asset_materialization_events():
        materialization = event.materialization
        run.metadata[materialization.asset_key.to_user_string()] = {
            key: value.value for key, value in materialization.metadata.items() if key != "chart"
        }
    run.checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    if not all(run.checks.values()):
        raise SystemExit(f"{name}: checks failed on clean simulated data: {run.checks}")
    print(f"{name}: day {day_s:.2f} s, peak RSS {peak.mb:,.0f} MB ({peak.method})")
    for step, seconds in sorted(
        run.step_s.items(), key=lambda item: ASSETS.index(item[0]) if item[0] in ASSETS else 9
    ):
        print(f"  {step:<15} {seconds:7.2f} s")
    archived = run.metadata["tick_archive"]
    print(
        f"  archive: {archived['rows']:,} rows, {archived['bytes']:,} bytes, {archived['bytes_per_tick']} B/tick"
    )
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ticks", type=int, default=10_000_000, help="simulated ticks in the day")
    parser.add_argument("--batch", type=int, default=100_000, help="ticks per insert (the loader's max_rows)")
    parser.add_argument(
        "--stores", default="clickhouse,embedded", help="comma-separated: clickhouse, embedded"
    )
    args = parser.parse_args()
    stores = [s.strip() for s in args.stores.split(",") if s.strip()]
    unknown = set(stores) - {"clickhouse", "embedded"}
    if unknown:
        raise SystemExit(f"--stores: unknown {sorted(unknown)}; use clickhouse and/or embedded")

    install_cleanup_handlers()
    with tempfile.TemporaryDirectory(prefix="bench-graph-") as tmp:
        work = Path(tmp)
        started = time.perf_counter()
        ticks = simulate_day(day_start_us=day_bounds_us(DAY)[0], ticks=args.ticks, symbols=SYMBOLS)
        print(
            f"simulated {ticks.num_rows:,} ticks of {len(SYMBOLS)} symbols in {time.perf_counter() - started:.1f} s (not timed)"
        )
        runs: dict[str, StoreRun] = {}
        with contextlib.ExitStack() as stack:
            exchange = stack.enter_context(ExchangeSim(ExchangeSimConfig(symbols=SYMBOLS, max_trades=0)))
            venue = VenueHistoryResource(rest_urls={"sim": exchange.rest_url}, max_attempts=1)
            server = (
                stack.enter_context(ClickHouseServer(work / "clickhouse")) if "clickhouse" in stores else None
            )
            # Each store as production configures it: settings -> the one factory and the Dagster resources.
            settings = {
                kind: Settings.from_env(
                    {
                        "TRADEGRAPH_HOME": str(work / kind),
                        "TRADEGRAPH_ARCHIVE": str(work / f"archive-{kind}"),
                        "TRADEGRAPH_STORE": kind,
                        "TRADEGRAPH_CLICKHOUSE_URL": server.url if server is not None else "",
                        "TRADEGRAPH_CLICKHOUSE_DATABASE": DATABASE,
                    }
                )
                for kind in stores
            }
            if server is not None:
                with open_tick_store(TickStoreConfig.from_settings(settings["clickhouse"])) as store:
                    load(store, ticks, args.batch, "clickhouse")
                wait_for_merges(server.url, DATABASE, MERGE_WAIT_S)
            if "embedded" in stores:
                with open_tick_store(TickStoreConfig.from_settings(settings["embedded"])) as store:
                    load(store, ticks, args.batch, "embedded")
            # The assets read the day from the stores; holding the generated table would only inflate RSS.
            del ticks
            if server is not None:
                runs["clickhouse"] = run_assets(
                    "clickhouse", graph_resources(settings["clickhouse"], venue_history=venue)
                )
            if "embedded" in stores:
                runs["embedded"] = run_assets(
                    "embedded", graph_resources(settings["embedded"], venue_history=venue)
                )

    first = next(iter(runs.values()))
    figures: dict[str, Any] = {
        "ticks": args.ticks,
        "symbols": len(SYMBOLS),
        "cpus": os.cpu_count(),
        "day_seconds_clickhouse": round(runs["clickhouse"].day_s, 2) if "clickhouse" in runs else None,
        "day_seconds_embedded": round(runs["embedded"].day_s, 2) if "embedded" in runs else None,
        "parquet_bytes_per_tick": first.metadata["tick_archive"]["bytes_per_tick"],
        "peak_rss_mb": round(max(run.peak_rss_mb for run in runs.values())),
        "process_max_rss_mb": round(max_rss_mb()),
    }
    for name, run in runs.items():
        figures[f"steps_s_{name}"] = {step: round(seconds, 2) for step, seconds in run.step_s.items()}
        figures[f"peak_rss_mb_{name}"] = round(run.peak_rss_mb)
        figures[f"rss_before_mb_{name}"] = round(run.rss_before_mb)
    figures["targets_met"] = {
        "parquet_bytes_per_tick<=10": figures["parquet_bytes_per_tick"] <= 10,
        "day_seconds_clickhouse<60": figures["day_seconds_clickhouse"] is not None
        and figures["day_seconds_clickhouse"] < 60,
        "day_seconds_clickhouse<=15": figures["day_seconds_clickhouse"] is not None
        and figures["day_seconds_clickhouse"] <= 15,
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
