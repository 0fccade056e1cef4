"""Soak: streamer, loader and executor for an hour at 5,000 ticks/s with the exchange's faults on.

Production shape, every piece its own process on 127.0.0.1 sharing this machine's cores: ``tradegraph
exchange-sim`` (faults on: websocket aborted every ``--drop-every`` s, trades skipped, doubled, reordered
and garbage frames), ``tradegraph stream``, a Tansu broker (memory storage), ``tradegraph load``,
ClickHouse 18.16 and ``tradegraph execute`` trading one small XGBoost champion per symbol on paper (sqlite
MLflow registry; its ledger in ClickHouse). The exchange prints ``--rate`` x ``--duration`` trades at wall
speed and then stops; the bench waits until the store is quiet, stops the streamer (flush), the loader and
the executor (SIGTERM), seals every day and compares the store with the exchange's own count.

Every ``--sample-s`` seconds (60) it samples each process: resident memory (VmRSS), CPU (cores used
since the last sample), open files (``/proc/PID/fd``); and disk: ClickHouse's data folder, the services'
homes, free space. One progress line per sample.

- ``rss_growth_pct``: growth of the three services' summed RSS from the first sample after ``--warmup``
  (600 s) to the last; ``rss_growth_pct_by_service`` the same per process (also the exchange, Tansu and
  ClickHouse, which are not the target: the broker keeps every record in memory storage by design).
- ``rss_slope_mb_per_h``: least-squares slope of each process's RSS after the warm-up.
- ``lost``: trade ids 1..generated per symbol not stored; ``duplicated``: rows beyond one per distinct
  trade after sealing (``testkit.harness.lost_and_duplicated``, as bench/ingest.py counts them).
- ``--pause-s S`` (with ``--pause-at``, ``--pause``): stops the loader (and/or the executor) with SIGSTOP
  for S seconds mid-run, so it must catch up from a backlog; ``caught_up_after_pause_s`` is the time
  from the resume to the first sample at most 10 s of trades behind.

Targets (issue 11): memory growth under 5 %, nothing lost or doubled. Prints the progress and figures,
then one JSON object as the last line.

    .venv/bin/python bench/soak.py [--duration 3600] [--rate 5000] [--warmup 600] [--sample-s 60]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import re
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from clickhouse_driver import Client

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from resources.model_registry.factory import ModelRegistryConfig, open_model_registry
from resources.tick_store.factory import TickStoreConfig, open_tick_store
from testkit.champions import register_champion
from testkit.exchange_sim import ExchangeSimProcess
from testkit.harness import (
    SYMBOLS,
    Processes,
    TradegraphProcess,
    log_lines,
    lost_and_duplicated,
    seed_streamer_state,
    sim_stats,
    wait_store_quiet,
)
from testkit.servers import ClickHouseServer, KafkaBroker, install_cleanup_handlers
from trading_assets.core.time import day_start_us
from trading_assets.market.simulation import MarketConfig, MarketSimulator

SERVICES = ("streamer", "loader", "executor")
"""The processes the memory target is about."""
JOIN_TIMEOUT_S = 240.0
"""The executor joins its group only after it loaded its ledger and champions: a minute and more on a loaded machine."""
QUIET_S = 5.0
QUIET_TIMEOUT_S = 300.0
CATCH_UP_POLL_S = 10.0


def proc_rss_mb(pid: int | None) -> float:
    """Resident set size of a process in MB (Linux); NaN when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except (FileNotFoundError, ProcessLookupError, TypeError):
        pass
    return float("nan")


def proc_cpu_s(pid: int | None) -> float:
    """User + system CPU seconds of a process so far; NaN when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, TypeError):
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_fds(pid: int | None) -> int:
    """Open file descriptors of a process (sockets included); -1 when it is gone."""
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except (FileNotFoundError, ProcessLookupError, TypeError):
        return -1


def folder_mb(path: Path) -> float:
    """Bytes under ``path`` in MB (files that vanish while walking are skipped)."""
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except FileNotFoundError:
                continue
    return total / 1024**2


@dataclass
class Sample:
    """One minute's look at every process and the disk."""

    t_s: float
    generated: int
    stored_rows: int
    rss_mb: dict[str, float]
    cpu_cores: dict[str, float]
    fds: dict[str, int]
    disk_mb: dict[str, float]
    load: float


@dataclass
class Pause:
    """Stops (SIGSTOP) some services ``at_s`` seconds after the streamer started, for ``for_s`` seconds,
    then lets them go on (SIGCONT): the backlog they must catch up from is what arrived meanwhile."""

    pids: dict[str, int]
    at_s: float
    for_s: float
    state: str = "waiting"
    resumed_at_s: float | None = None

    def tick(self, elapsed_s: float) -> None:
        """Stop or resume the services when their time has come."""
        if self.for_s <= 0 or self.state == "resumed":
            return
        if self.state == "waiting" and elapsed_s >= self.at_s:
            for pid in self.pids.values():
                os.kill(pid, signal.SIGSTOP)
            self.state = "stopped"
            print(
                f"pause: {', '.join(self.pids)} stopped at {elapsed_s:.0f} s for {self.for_s:.0f} s",
                flush=True,
            )
        elif self.state == "stopped" and elapsed_s >= self.at_s + self.for_s:
            self.resume()
            self.resumed_at_s = elapsed_s
            print(f"pause: {', '.join(self.pids)} resumed at {elapsed_s:.0f} s", flush=True)

    def resume(self) -> None:
        """Let the stopped services go on (also when the bench stops early)."""
        if self.state == "stopped":
            for pid in self.pids.values():
                os.kill(pid, signal.SIGCONT)
            self.state = "resumed"


def caught_up_after(samples: list[Sample], since_s: float | None, rate: float) -> float | None:
    """Seconds from ``since_s`` to the first sample at most 10 s of trades behind (None: never)."""
    if since_s is None:
        return None
    for sample in samples:
        if sample.t_s >= since_s and sample.generated - sample.stored_rows <= rate * 10:
            return round(sample.t_s - since_s, 1)
    return None


@dataclass
class Sampler:
    """Samples the processes' /proc entries and the disk; keeps every sample."""

    pids: dict[str, int]
    folders: dict[str, list[Path]]
    free_path: Path
    started: float = field(default_factory=time.monotonic)
    samples: list[Sample] = field(default_factory=list)
    _cpu: dict[str, tuple[float, float]] = field(default_factory=dict)

    def sample(self, generated: int, stored_rows: int) -> Sample:
        now = time.monotonic()
        cores = {}
        for name, pid in self.pids.items():
            cpu = proc_cpu_s(pid)
            before = self._cpu.get(name)
            cores[name] = float("nan") if before is None else (cpu - before[1]) / max(now - before[0], 1e-9)
            self._cpu[name] = (now, cpu)
        disk = {name: sum(folder_mb(p) for p in paths) for name, paths in self.folders.items()}
        disk["free"] = shutil.disk_usage(self.free_path).free / 1024**2
        sample = Sample(
            t_s=now - self.started,
            generated=generated,
            stored_rows=stored_rows,
            rss_mb={name: proc_rss_mb(pid) for name, pid in self.pids.items()},
            cpu_cores=cores,
            fds={name: proc_fds(pid) for name, pid in self.pids.items()},
            disk_mb=disk,
            load=os.getloadavg()[0],
        )
        self.samples.append(sample)
        return sample


def progress_line(sample: Sample) -> str:
    """One line per sample: trades, rows, and per process RSS / CPU / fds, disk."""
    procs = " ".join(
        f"{name} {sample.rss_mb[name]:.0f}MB/{sample.cpu_cores[name]:.2f}c/{sample.fds[name]}fd"
        for name in sample.rss_mb
    )
    return (
        f"[{sample.t_s:7.0f} s] generated {sample.generated:,} stored {sample.stored_rows:,} | {procs} | "
        f"clickhouse data {sample.disk_mb['clickhouse']:.0f} MB, homes {sample.disk_mb['homes']:.1f} MB, "
        f"free {sample.disk_mb['free'] / 1024:.1f} GB | load {sample.load:.2f}"
    )


WINDOW = 5
"""Samples whose median stands for the start (after the warm-up) and for the end in ``growth_pct_median``."""


def growth(samples: list[Sample], warmup_s: float) -> dict[str, dict[str, float]]:
    """Per process (and the three services summed): RSS at the first sample after the warm-up and at the
    last, growth % between them, the same between the medians of the first and the last :data:`WINDOW`
    samples (RSS of a process that allocates in bursts swings by tens of MB from one sample to the next),
    and the least-squares slope in MB/h."""
    after = [s for s in samples if s.t_s >= warmup_s]
    if len(after) < 2:
        return {}
    out: dict[str, dict[str, float]] = {}
    names = [*after[0].rss_mb, "services"]
    for name in names:
        if name == "services":
            series = np.array([sum(s.rss_mb[n] for n in SERVICES) for s in after])
        else:
            series = np.array([s.rss_mb[name] for s in after])
        t_h = np.array([s.t_s for s in after]) / 3600
        slope = float(np.polyfit(t_h, series, 1)[0]) if np.all(np.isfinite(series)) else float("nan")
        window = min(WINDOW, len(series) // 2) or 1
        first, last = float(np.median(series[:window])), float(np.median(series[-window:]))
        out[name] = {
            "after_warmup_mb": round(float(series[0]), 1),
            "end_mb": round(float(series[-1]), 1),
            "max_mb": round(float(np.nanmax(series)), 1),
            "growth_pct": round(float((series[-1] - series[0]) / series[0] * 100), 2),
            "growth_pct_median": round((last - first) / first * 100, 2),
            "slope_mb_per_h": round(slope, 1),
        }
    return out


_LINE = re.compile(r"^\[\s*([\d.]+) s\] generated ([\d,]+) stored ([\d,]+) \| (.*?) \| ")
_PROC = re.compile(r"(\S+) ([\d.]+|nan)MB/(\S+)c/(-?\d+)fd")


def samples_from_log(path: Path) -> list[Sample]:
    """The samples of a soak's progress lines (to recompute the figures of a finished or cut-short run)."""
    out = []
    for line in path.read_text().splitlines():
        match = _LINE.match(line)
        if match is None:
            continue
        procs = _PROC.findall(match[4])
        out.append(
            Sample(
                t_s=float(match[1]),
                generated=int(match[2].replace(",", "")),
                stored_rows=int(match[3].replace(",", "")),
                rss_mb={name: float(rss) for name, rss, _, _ in procs},
                cpu_cores={name: float(cpu) for name, _, cpu, _ in procs},
                fds={name: int(fds) for name, _, _, fds in procs},
                disk_mb={},
                load=float("nan"),
            )
        )
    return out


def clickhouse_ids(url: str, database: str, symbols: list[str]) -> dict[str, np.ndarray]:
    """Every stored trade id per symbol of venue sim (duplicates included), one symbol at a time."""
    client = Client.from_url(url + "?use_numpy=true")
    try:
        out = {}
        for symbol in symbols:
            (ids,) = client.execute(
                f"SELECT trade_id FROM {database}.ticks WHERE venue = 'sim' AND symbol = %(symbol)s",
                {"symbol": symbol},
                columnar=True,
            ) or (np.empty(0, np.int64),)
            out[symbol] = np.asarray(ids, np.int64)
        return out
    finally:
        client.disconnect()


def wait_all_stored(url: str, database: str, expected: dict[str, int], *, timeout_s: float) -> int:
    """Wait until ClickHouse holds every id 1..expected[symbol] (distinct ids in range, per symbol) or
    ``timeout_s`` passes; how many are still missing (a progress line every poll)."""
    client = Client.from_url(url)
    deadline = time.monotonic() + timeout_s
    try:
        while True:
            missing = 0
            for symbol, last in expected.items():
                (held,) = client.execute(
                    f"SELECT uniqExact(trade_id) FROM {database}.ticks "
                    "WHERE venue = 'sim' AND symbol = %(symbol)s AND trade_id BETWEEN 1 AND %(last)s",
                    {"symbol": symbol, "last": last},
                )[0]
                missing += last - int(held)
            if missing == 0 or time.monotonic() >= deadline:
                return missing
            print(f"catch-up: {missing:,} trades not stored yet", flush=True)
            time.sleep(CATCH_UP_POLL_S)
    finally:
        client.disconnect()


def stored_rows(client: Client, database: str) -> int:
    """Rows of the tick table now (0 before the loader created it)."""
    try:
        return int(client.execute(f"SELECT count() FROM {database}.ticks")[0][0])
    except Exception:  # the table does not exist yet: nothing stored
        return 0


def wait_joined(process: TradegraphProcess, processes: Processes) -> None:
    """Wait until ``process`` has partitions assigned in its consumer group (Tansu takes seconds)."""
    deadline = time.monotonic() + JOIN_TIMEOUT_S
    while not log_lines(process.log_path, r"Successfully joined group|Setting newly assigned partitions"):
        if process.exit_code is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{process.name} did not join its group\n" + processes.diagnostics())
        time.sleep(0.2)


def train_champions(path: Path, train_ticks: int) -> str:
    """One small XGBoost champion per symbol in a sqlite MLflow registry; its tracking URI."""
    day = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)
    config = MarketConfig(
        symbols=SYMBOLS,
        trades_per_second=train_ticks / 86_000.0,
        trend=(("BTCUSDT", 0.1), ("SOLUSDT", -0.1)),
        seed=3,
    )
    ticks = MarketSimulator(config=config, start_us=day_start_us(day)).generate(train_ticks)
    uri = f"sqlite:///{path}"
    registry = open_model_registry(ModelRegistryConfig(tracking_uri=uri))
    for symbol in SYMBOLS:
        register_champion(registry, ticks, symbol)
    return uri


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=float, default=3600.0, help="seconds of trades (3600)")
    parser.add_argument("--rate", type=float, default=5000.0, help="exchange trades per second (5,000)")
    parser.add_argument("--warmup", type=float, default=600.0, help="seconds before the RSS baseline (600)")
    parser.add_argument("--sample-s", type=float, default=60.0, help="seconds between samples (60)")
    parser.add_argument(
        "--pause-at", type=float, default=600.0, help="stop the --pause services this many s in (600)"
    )
    parser.add_argument("--pause-s", type=float, default=0.0, help="for this long; 0: no pause (0)")
    parser.add_argument(
        "--pause", default="loader", help="comma-separated services to stop: loader, executor (loader)"
    )
    parser.add_argument("--drop-every", type=float, default=60.0, help="abort the websocket every N s (60)")
    parser.add_argument("--p-skip", type=float, default=0.001, help="probability a trade is not sent (0.001)")
    parser.add_argument("--p-duplicate", type=float, default=0.001, help="probability a trade is sent twice")
    parser.add_argument("--p-reorder", type=float, default=0.001, help="probability a trade swaps (0.001)")
    parser.add_argument("--p-garbage", type=float, default=0.0005, help="probability of a garbage frame")
    parser.add_argument("--train-ticks", type=int, default=100_000, help="ticks the champions learn from")
    parser.add_argument(
        "--workdir", type=Path, default=None, help="keep everything here (default: a temp dir)"
    )
    parser.add_argument(
        "--service-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra environment of the three services (e.g. a diagnostics switch); repeatable",
    )
    parser.add_argument(
        "--from-log",
        type=Path,
        default=None,
        metavar="LOG",
        help="only recompute the RSS growth from the progress lines of an earlier run's output",
    )
    args = parser.parse_args()
    if args.from_log is not None:
        print(
            json.dumps({"warmup_s": args.warmup, "rss": growth(samples_from_log(args.from_log), args.warmup)})
        )
        return 0
    logging.basicConfig(level=logging.WARNING)
    install_cleanup_handlers()
    max_trades = int(args.rate * args.duration)
    faults = [
        "--drop-every", str(args.drop_every), "--p-skip", str(args.p_skip),
        "--p-duplicate", str(args.p_duplicate), "--p-reorder", str(args.p_reorder),
        "--p-garbage", str(args.p_garbage),
    ]  # fmt: skip
    print(
        f"soak: {max_trades:,} trades at {args.rate:,.0f}/s (~{args.duration:.0f} s), faults {' '.join(faults)}; "
        f"cores {os.cpu_count()}, load average before {os.getloadavg()[0]:.2f}",
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="bench-soak-") as tmp:
        workdir = args.workdir or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        began = time.monotonic()
        mlflow_uri = train_champions(workdir / "mlflow.db", args.train_ticks)
        print(f"setup: {len(SYMBOLS)} champions registered in {time.monotonic() - began:.1f} s", flush=True)
        processes = Processes()
        pause: Pause | None = None
        try:
            clickhouse = processes.start(ClickHouseServer(workdir / "clickhouse"))
            broker = processes.start(KafkaBroker(workdir / "tansu"))
            sim = processes.start(
                ExchangeSimProcess(
                    workdir / "sim",
                    [
                        "--symbols", ",".join(SYMBOLS), "--rate", str(args.rate),
                        "--max-trades", str(max_trades), "--wait-for-clients", "1", "--seed", "11",
                        # REST history for the streamer's gap fill: 10 minutes of a symbol's trades
                        # (lost/duplicated are counted against `generated`, not the history).
                        "--history-per-symbol", str(max(100_000, int(args.rate * 600 / len(SYMBOLS)))),
                        *faults,
                    ],
                )
            )  # fmt: skip
            assert isinstance(clickhouse, ClickHouseServer) and isinstance(broker, KafkaBroker)
            assert isinstance(sim, ExchangeSimProcess)
            database = "soak"
            extra = dict(item.split("=", 1) for item in args.service_env)
            env = {
                "TRADEGRAPH_BUS": "kafka",
                "TRADEGRAPH_KAFKA_BOOTSTRAP": broker.bootstrap,
                "TRADEGRAPH_STORE": "clickhouse",
                "TRADEGRAPH_CLICKHOUSE_URL": clickhouse.url,
                "TRADEGRAPH_CLICKHOUSE_DATABASE": database,
                "TRADEGRAPH_VENUES": "sim",
                "TRADEGRAPH_SYMBOLS": ",".join(SYMBOLS),
                "TRADEGRAPH_SIM_WS_URL": sim.ws_url,
                "TRADEGRAPH_SIM_REST_URL": sim.rest_url,
                "TRADEGRAPH_MLFLOW_URI": mlflow_uri,
                **extra,
            }

            def service(name: str, args_: list[str], ready: str | None) -> TradegraphProcess:
                home = workdir / name / "home"
                return TradegraphProcess(
                    workdir / name,
                    name=name,
                    service=ready,
                    args=args_,
                    env={**env, "TRADEGRAPH_HOME": str(home)},
                )

            loader = service("loader", ["load"], "loader")
            executor = service("executor", ["execute"], None)
            streamer = service("streamer", ["stream"], "streamer")
            for process in (loader, executor):
                processes.start(process)
                wait_joined(process, processes)
            seed_streamer_state(streamer.home, SYMBOLS)
            processes.start(streamer)
            pids = {
                "streamer": streamer.pid,
                "loader": loader.pid,
                "executor": executor.pid,
                "exchange-sim": sim.pid,
                "tansu": broker.pid,
                "clickhouse": clickhouse.pid,
            }
            assert all(pid is not None for pid in pids.values())
            streaming_since = time.monotonic()
            pause = Pause(
                pids={name: int(pids[name] or 0) for name in args.pause.split(",") if name},
                at_s=args.pause_at,
                for_s=args.pause_s,
            )
            sampler = Sampler(
                pids={k: int(v) for k, v in pids.items() if v is not None},
                folders={
                    "clickhouse": [workdir / "clickhouse"],
                    "homes": [p.home for p in (streamer, loader, executor)],
                },
                free_path=workdir,
            )
            client = Client.from_url(clickhouse.url)
            deadline = time.monotonic() + args.duration * 1.5 + 600
            next_sample = time.monotonic()
            stats = sim_stats(sim)
            while True:
                pause.tick(time.monotonic() - streaming_since)
                stats = sim_stats(sim)
                if time.monotonic() >= next_sample or stats["finished"]:
                    sample = sampler.sample(int(stats["generated"]), stored_rows(client, database))
                    print(progress_line(sample), flush=True)
                    next_sample += args.sample_s
                if stats["finished"]:
                    break
                dead = [p.name for p in (streamer, loader, executor) if p.exit_code is not None]
                if dead:
                    raise RuntimeError(f"{dead} exited during the soak\n" + processes.diagnostics())
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"the exchange did not finish in time: {stats}\n" + processes.diagnostics()
                    )
                time.sleep(min(1.0, max(0.05, next_sample - time.monotonic())))
            pause.resume()  # the exchange finished before the pause ended
            seconds = sampler.samples[-1].t_s
            expected = {
                s: int(info["generated"]) for s, info in stats["symbols"].items() if info["generated"]
            }
            # The last gaps are filled from REST and the last batches inserted: wait for a quiet store.
            with open_tick_store(
                TickStoreConfig(kind="clickhouse", clickhouse_url=clickhouse.url, database=database)
            ) as store:
                # The loader may be far behind on a loaded machine (a minute without an insert was seen):
                # wait until every generated trade is stored before stopping anything, bounded.
                catch_up_started = time.monotonic()
                missing = wait_all_stored(
                    clickhouse.url, database, expected, timeout_s=max(QUIET_TIMEOUT_S, args.duration / 2)
                )
                catch_up_s = time.monotonic() - catch_up_started
                print(
                    f"catch-up: {missing:,} trades not stored after {catch_up_s:.0f} s; stopping the streamer",
                    flush=True,
                )
                wait_store_quiet(store, quiet_s=QUIET_S, timeout_s=QUIET_TIMEOUT_S)
                streamer.terminate()
                wait_store_quiet(store, quiet_s=QUIET_S, timeout_s=QUIET_TIMEOUT_S)
                loader.terminate()
                executor.terminate()
                for part in store.partitions():
                    store.seal(part.day)
                rows = sum(part.rows for part in store.partitions())
            client.disconnect()
            lost, duplicated = lost_and_duplicated(
                clickhouse_ids(clickhouse.url, database, sorted(expected)), rows, expected
            )
            executor_line = log_lines(executor.log_path, r"^executor \w+: ")
            gaps = log_lines(streamer.log_path, r"(?i)gap")
            sim_final = stats
        finally:
            if pause is not None:
                pause.resume()
            processes.close()
    grown = growth(sampler.samples, args.warmup)
    last = sampler.samples[-1]
    print(
        f"soak: {seconds:.0f} s, {sum(expected.values()):,} trades generated, {rows:,} rows after sealing; "
        f"lost {lost}, duplicated {duplicated}; exchange skipped "
        f"{sum(i['skipped'] for i in sim_final['symbols'].values()):,}, doubled "
        f"{sum(i['duplicated'] for i in sim_final['symbols'].values()):,}, reordered "
        f"{sum(i['reordered'] for i in sim_final['symbols'].values()):,}; streamer log lines about gaps {len(gaps)}"
    )
    for name, g in grown.items():
        print(
            f"  {name:12s} RSS after warm-up {g['after_warmup_mb']:.0f} MB -> end {g['end_mb']:.0f} MB "
            f"(max {g['max_mb']:.0f}): {g['growth_pct']:+.1f} % (medians of {WINDOW} samples "
            f"{g['growth_pct_median']:+.1f} %), slope {g['slope_mb_per_h']:+.1f} MB/h"
        )
    if executor_line:
        print(f"  {executor_line[-1]}")
    print(f"load average after: {os.getloadavg()[0]:.2f} (other work on this machine shares the cores)")
    services = grown.get("services", {})
    result = {
        "hours": round(seconds / 3600, 3),
        "rate": args.rate,
        "trades": sum(expected.values()),
        "rows": rows,
        "lost": lost,
        "duplicated": duplicated,
        "rss_growth_pct": services.get("growth_pct"),
        "rss_growth_pct_by_service": {k: v["growth_pct"] for k, v in grown.items() if k != "services"},
        "rss_growth_pct_median": services.get("growth_pct_median"),
        "rss_growth_pct_median_by_service": {
            k: v["growth_pct_median"] for k, v in grown.items() if k != "services"
        },
        "rss_slope_mb_per_h": {k: v["slope_mb_per_h"] for k, v in grown.items()},
        "rss_mb_after_warmup": {k: v["after_warmup_mb"] for k, v in grown.items()},
        "rss_mb_end": {k: v["end_mb"] for k, v in grown.items()},
        "cpu_cores_mean": {
            k: round(float(np.nanmean([s.cpu_cores[k] for s in sampler.samples[1:]] or [np.nan])), 3)
            for k in last.cpu_cores
        },
        "fds_end": last.fds,
        "fds_max": {k: max(s.fds[k] for s in sampler.samples) for k in last.fds},
        "store_lag_max_rows": max(s.generated - s.stored_rows for s in sampler.samples),
        "catch_up_s": round(catch_up_s, 1),
        "pause": f"{args.pause} at {args.pause_at:.0f} s for {args.pause_s:.0f} s"
        if args.pause_s > 0
        else None,
        "caught_up_after_pause_s": caught_up_after(
            sampler.samples, pause.resumed_at_s if pause is not None else None, args.rate
        ),
        "clickhouse_disk_mb": round(last.disk_mb["clickhouse"], 1),
        "homes_disk_mb": round(last.disk_mb["homes"], 2),
        "warmup_s": args.warmup,
        "samples": len(sampler.samples),
        "faults": " ".join(faults),
        "executor": re.sub(r"\s+", " ", executor_line[-1]) if executor_line else None,
    }
    print(json.dumps(result))
    return 0 if lost == 0 and duplicated == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
