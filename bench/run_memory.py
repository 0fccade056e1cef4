"""What holds the memory of ``tradegraph run``: RSS sampled beside the structures that can hold it.

Runs what ``tradegraph run`` runs (simulated exchange, streamer, embedded bus, loader, Parquet store and
the paper executor, in this one process, on a fresh home) and every ``--sample-s`` seconds writes one
JSON line with:

- ``rss_mb`` (and ``anon_mb``, anonymous memory, from ``/proc/self/smaps_rollup``);
- glibc's malloc (``mallinfo2``): ``malloc_used_mb`` in use by the program, ``malloc_free_mb`` freed
  but kept in the arenas, ``malloc_mmap_mb`` in chunks mapped on their own (returned when freed),
  ``arenas``;
- pyarrow's pool: ``arrow_mb`` allocated now, and its backend;
- the embedded bus: ``bus_mb`` (packed records not committed by every group) and ``bus_records``,
  ``loader_lag`` and ``executor_lag`` (records past each group's position);
- the exchange: ``history_trades`` and ``history_mb`` (its REST history), ``ws_buffer_mb`` (bytes
  written to the websocket not yet sent), ``generated``;
- the streamer and loader: ``published``, ``unacked`` (publishes waiting for the loader),
  ``loader_pending`` (ticks in the loader's batch), ``loaded``, ``open_gap_ids`` and ``open_gaps``;
- the executor's ``executor_ticks``.

``--trim-every N`` calls glibc's ``malloc_trim(0)`` after every N-th sample (0: never) and records the
RSS before and after (``trimmed_mb``): how much of RSS is freed memory the allocator kept.

    .venv/bin/python bench/run_memory.py --rate 20000 --duration 300 --out /tmp/run_mem.jsonl \
        [--sample-s 2] [--trim-every 0] [--no-faults]

Environment worth varying: ``MALLOC_ARENA_MAX`` (glibc arenas), ``ARROW_DEFAULT_MEMORY_POOL`` (``system``
routes pyarrow through malloc). The last line printed is one JSON object: the peak, the medians of the
last two thirds and the run's summary.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import re
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pyarrow as pa

from resources.bus.embedded import EmbeddedTickBus
from resources.tick_store.factory import TickStoreConfig, open_tick_store
from trading_assets.core.settings import Settings
from trading_assets.services import executor as executor_module
from trading_assets.services import pipeline
from trading_assets.services.exchange_sim import ExchangeSim, FaultConfig
from trading_assets.services.loader import Loader
from trading_assets.services.pipeline import PipelineConfig, run_pipeline
from trading_assets.services.pipeline_executor import ExecutorThread
from trading_assets.services.streamer import Streamer

MB = 1024 * 1024
HISTORY_BYTES_PER_TRADE = 8 + 8 + 8 + 8 + 1


class _Mallinfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena",
            "ordblks",
            "smblks",
            "hblks",
            "hblkhd",
            "usmblks",
            "fsmblks",
            "uordblks",
            "fordblks",
            "keepcost",
        )
    ]


_LIBC = ctypes.CDLL("libc.so.6")
_LIBC.mallinfo2.restype = _Mallinfo2
_LIBC.malloc_trim.argtypes = [ctypes.c_size_t]


class Parts:
    """The pipeline's parts, recorded as run_pipeline makes them, and the executor's checkpoints."""

    checkpoint_mb = 0.0
    """Largest checkpoint payload (pickle) since the last sample."""
    checkpoint_s = 0.0
    """Longest checkpoint store since the last sample."""

    sim: ExchangeSim | None = None
    streamer: Streamer | None = None
    loader: Loader | None = None
    executor: ExecutorThread | None = None


def _record(cls: type, slot: str) -> type:
    """A subclass of ``cls`` that stores each new instance in ``Parts.<slot>``."""

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        cls.__init__(self, *args, **kwargs)
        setattr(Parts, slot, self)

    return type(cls.__name__, (cls,), {"__init__": init})


def _record_checkpoints() -> None:
    """Wrap the executor's ``save_checkpoint`` to note each payload's size and time."""
    save = executor_module.save_checkpoint

    def recorded(store: Any, instance: str, *, time_us: int, code_version: str, payload: bytes) -> None:
        began = time.perf_counter()
        save(store, instance, time_us=time_us, code_version=code_version, payload=payload)
        Parts.checkpoint_mb = max(Parts.checkpoint_mb, len(payload) / MB)
        Parts.checkpoint_s = max(Parts.checkpoint_s, time.perf_counter() - began)

    executor_module.save_checkpoint = recorded  # type: ignore[assignment]


def _status_kb(field: str, path: str = "/proc/self/status") -> int:
    with open(path) as status:
        for line in status:
            if line.startswith(field):
                return int(line.split()[1])
    return 0


def obmalloc_mb() -> tuple[float, float]:
    """(arenas held, bytes in allocated blocks) of Python's small-object allocator, in MB.

    ``sys._debugmallocstats`` prints to the C stderr: fd 2 goes to a file for the call (a log line
    another thread writes meanwhile lands there too and is lost)."""
    with tempfile.TemporaryFile() as capture:
        saved = os.dup(2)
        try:
            sys.stderr.flush()
            os.dup2(capture.fileno(), 2)
            sys._debugmallocstats()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        capture.seek(0)
        text = capture.read().decode(errors="replace")
    arenas = re.search(r"# arenas allocated current\s*=\s*([\d,]+)", text)
    used = re.search(r"# bytes in allocated blocks\s*=\s*([\d,]+)", text)
    return (
        int(arenas.group(1).replace(",", "")) * 1_048_576 / MB if arenas else float("nan"),
        int(used.group(1).replace(",", "")) / MB if used else float("nan"),
    )


def sample(bus: EmbeddedTickBus, started: float) -> dict[str, Any]:
    """One line of figures (see the module docstring)."""
    info = _LIBC.mallinfo2()
    arenas, objects = obmalloc_mb()
    pool = pa.default_memory_pool()
    records, backlog = bus.retained()
    row: dict[str, Any] = {
        "t": round(time.monotonic() - started, 1),
        "rss_mb": round(_status_kb("VmRSS:") / 1024, 1),
        "anon_mb": round(_status_kb("Anonymous:", "/proc/self/smaps_rollup") / 1024, 1),
        "malloc_used_mb": round(info.uordblks / MB, 1),
        "malloc_free_mb": round(info.fordblks / MB, 1),
        "malloc_mmap_mb": round(info.hblkhd / MB, 1),
        "arrow_mb": round(pool.bytes_allocated() / MB, 1),
        "obmalloc_arenas_mb": round(arenas, 1),
        "obmalloc_used_mb": round(objects, 1),
        "bus_mb": round(backlog / MB, 1),
        "bus_records": records,
        "threads": threading.active_count(),
    }
    with bus._changed:
        for group, name in (("loader", "loader_lag"), ("executor", "executor_lag")):
            committed = bus._committed.get(group, {})
            row[name] = sum(bus._end(topic) - offset for topic, offset in committed.items())
    sim, streamer, loader, executor = Parts.sim, Parts.streamer, Parts.loader, Parts.executor
    if sim is not None and getattr(sim._server, "engine", None) is not None:
        engine = sim._server.engine
        trades = sum(len(h) for h in engine.history.by_symbol.values())
        blocks = sum(len(h._blocks) for h in engine.history.by_symbol.values())
        row["history_trades"] = trades
        row["history_mb"] = round(blocks * 65_536 * HISTORY_BYTES_PER_TRADE / MB, 1)
        row["generated"] = engine.released
        row["ws_buffer_mb"] = round(
            sum(
                c.transport.get_write_buffer_size()
                for c in list(engine.hub.connections)
                if c.transport is not None
            )
            / MB,
            1,
        )
    if streamer is not None:
        row["published"] = streamer.published
        row["unacked"] = len(streamer._unacked)
        gaps = [r for feed in streamer.feeds for rs in feed.unfilled_gaps().values() for r in rs]
        row["open_gaps"] = len(gaps)
        row["open_gap_ids"] = sum(last - first + 1 for first, last in gaps)
    if loader is not None:
        row["loaded"] = loader.stats.ticks
        row["loader_pending"] = loader.pending_rows
    if executor is not None and executor._executor is not None:
        row["executor_ticks"] = executor._executor.stats.ticks
        row["checkpoint_mb"] = round(Parts.checkpoint_mb, 1)
        row["checkpoint_s"] = round(Parts.checkpoint_s, 2)
        Parts.checkpoint_mb = Parts.checkpoint_s = 0.0
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=20_000.0)
    parser.add_argument("--duration", type=float, default=300.0)
    parser.add_argument("--sample-s", type=float, default=2.0)
    parser.add_argument("--trim-every", type=int, default=0)
    parser.add_argument("--no-faults", action="store_true")
    parser.add_argument("--no-executor", action="store_true")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)

    pipeline.ExchangeSim = _record(ExchangeSim, "sim")  # type: ignore[misc]
    pipeline.Streamer = _record(Streamer, "streamer")  # type: ignore[misc]
    pipeline.Loader = _record(Loader, "loader")  # type: ignore[misc]
    pipeline.ExecutorThread = _record(ExecutorThread, "executor")  # type: ignore[misc]
    _record_checkpoints()
    faults = (
        FaultConfig()
        if args.no_faults
        else FaultConfig(drop_every_s=60, p_skip=0.001, p_duplicate=0.001, p_reorder=0.001, p_garbage=0.0005)
    )
    home = Path(tempfile.mkdtemp(prefix="run-memory-"))
    settings = Settings.from_env({**os.environ, "TRADEGRAPH_HOME": str(home)})
    bus = EmbeddedTickBus()
    stop = threading.Event()
    started = time.monotonic()
    rows: list[dict[str, Any]] = []

    def sampler() -> None:
        n = 0
        with args.out.open("w") as out:
            while not stop.wait(args.sample_s):
                row = sample(bus, started)
                n += 1
                if args.trim_every and n % args.trim_every == 0:
                    _LIBC.malloc_trim(0)
                    row["trimmed_mb"] = round(row["rss_mb"] - _status_kb("VmRSS:") / 1024, 1)
                rows.append(row)
                out.write(json.dumps(row) + "\n")
                out.flush()

    thread = threading.Thread(target=sampler, name="sampler", daemon=True)
    thread.start()
    config = PipelineConfig(
        rate=args.rate, duration_s=args.duration, faults=faults, execute=not args.no_executor
    )
    with open_tick_store(TickStoreConfig.from_settings(settings)) as store:
        summary = run_pipeline(settings, bus, store, config, stop=threading.Event())
    stop.set()
    thread.join()
    tail = rows[len(rows) // 3 :]
    peak = max(rows, key=lambda r: r["rss_mb"])
    result = {
        "rate": args.rate,
        "duration_s": args.duration,
        "malloc_arena_max": os.environ.get("MALLOC_ARENA_MAX", ""),
        "arrow_pool": pa.default_memory_pool().backend_name,
        "peak": peak,
        "median_last_two_thirds": {
            key: round(statistics.median(r[key] for r in tail if key in r), 1)
            for key in peak
            if all(isinstance(r.get(key, 0), (int, float)) for r in tail)
        },
        "emitted": summary.emitted,
        "published": summary.published,
        "loaded": summary.loaded,
        "executor_ticks": None if summary.paper is None else summary.paper.ticks,
        "samples": len(rows),
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
