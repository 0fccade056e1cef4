"""Real processes for the fault tests, and the one assertion every fault test ends with.

Everything here runs as a real child process on 127.0.0.1: the simulated exchange
(``python -m trading_assets.services.exchange_sim``), ``tradegraph stream``, ``tradegraph load`` and
``tradegraph run`` (``python -m trading_assets.cli``), next to a Tansu broker and a ClickHouse server.
Every wait is bounded by a deadline, and :class:`Processes` stops whatever it started, also on failure.

The truth a test checks against is the exchange's own account, ``GET /sim/stats``: per symbol it
generated trade ids ``1 .. history_last_id`` (consecutive, as on Binance), including the ones it skipped
on the websocket, which exist only in its REST history. :func:`assert_every_trade_stored_once` seals
every day of the store and then demands exactly that set of (symbol, trade_id), each exactly once.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import requests

from resources.service_state import (
    EmbeddedServiceState,
    RestartState,
    ServiceStateUnavailableError,
    embedded_state_path,
)
from resources.service_state.factory import open_service_state
from resources.tick_store.base import StoreUnavailableError, TickStore
from testkit.exchange_sim import ExchangeSimProcess
from testkit.servers.base import ManagedServer, tail
from trading_assets.core.settings import Settings
from trading_assets.services.heartbeat import service_instance

ROOT = Path(__file__).resolve().parents[1]  # the checkout this testkit belongs to
VENUE = "sim"
SYMBOLS: tuple[str, ...] = ("BTCUSDT", "ETHUSDT", "SOLUSDT", "ADAUSDT", "XRPUSDT")


class TradegraphProcess(ManagedServer):
    """``python -m trading_assets.cli ARGS`` with its own ``TRADEGRAPH_*`` environment, in its own process group.

    Ready once the service (``streamer`` or ``loader``; ``None``: at once) wrote a heartbeat carrying this
    process's pid (any instance of that service: several may share the home), which the services do right
    after they started their loops.
    """

    ready_timeout_s = 60.0

    def __init__(
        self, workdir: Path, *, name: str, args: Sequence[str], env: Mapping[str, str], service: str | None
    ) -> None:
        self.name = name  # before super().__init__, which names the log after it
        super().__init__(workdir)
        self.args = list(args)
        self.env = dict(env)
        self.service = service
        self.home = Path(self.env["TRADEGRAPH_HOME"])

    def command(self) -> list[str]:
        return [sys.executable, "-m", "trading_assets.cli", *self.args]

    def environment(self) -> dict[str, str]:
        # Only what the test sets: a developer's TRADEGRAPH_* variables must not leak into the services.
        base = {k: v for k, v in os.environ.items() if not k.startswith("TRADEGRAPH_")}
        base["PYTHONPATH"] = str(ROOT) + (":" + base["PYTHONPATH"] if base.get("PYTHONPATH") else "")
        return {**base, **self.env}

    def is_ready(self) -> bool:
        if self.service is None:
            return True
        # Wherever this process's settings keep service state (the SQLite file or ClickHouse).
        with open_service_state(Settings.from_env(self.env)) as state:
            try:
                return any(beat.pid == self.pid for beat in state.heartbeats(self.service))
            except ServiceStateUnavailableError:
                return False

    @property
    def exit_code(self) -> int | None:
        """The exit code once the process has ended by itself, else None (running or never started)."""
        return None if self._proc is None else self._proc.poll()

    def wait_exit(self, timeout_s: float) -> int | None:
        """Wait up to ``timeout_s`` for the process to end by itself; its exit code, or None if still running."""
        if self._proc is None:
            return None
        try:
            return self._proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            return None

    def terminate(self, timeout_s: float = 30.0) -> int | None:
        """SIGTERM (the services flush and exit cleanly), SIGKILL after ``timeout_s``; the exit code."""
        proc = self._proc
        self.stop(timeout_s=timeout_s)
        return None if proc is None else proc.returncode

    def sigkill(self) -> None:
        """SIGKILL the process (a crash: no flush, no state saved)."""
        proc = self._proc
        assert proc is not None and proc.poll() is None, f"{self.name} is not running"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        self._proc = None

    def forget(self) -> None:
        """Drop the handle of a process that already ended (e.g. by its failpoint), so it can start again."""
        assert self._proc is None or self._proc.poll() is not None, f"{self.name} is still running"
        self._proc = None


class Processes:
    """Starts servers and processes and stops every one of them, in reverse order, on :meth:`close`."""

    def __init__(self) -> None:
        self._started: list[ManagedServer] = []
        self.logs: dict[str, Path] = {}

    def __contains__(self, server: object) -> bool:
        return any(started is server for started in self._started)

    def start(self, server: ManagedServer) -> ManagedServer:
        """Start ``server`` (waiting until ready) and remember it for :meth:`close` and the diagnostics."""
        self.logs[server.name] = server.log_path
        self._started.append(server)
        server.start()
        return server

    def close(self) -> None:
        """Stop everything this object started (each attempt independent of the others)."""
        errors = []
        for server in reversed(self._started):
            try:
                server.stop(timeout_s=15)
            except Exception as exc:
                errors.append(f"{server.name}: {exc!r}")
        self._started.clear()
        if errors:
            raise RuntimeError("could not stop: " + "; ".join(errors))

    def diagnostics(self, lines: int = 25) -> str:
        """The tails of every log, for failure messages."""
        return "\n".join(
            f"--- {name} log ({path}) ---\n{tail(path, lines)}" for name, path in self.logs.items()
        )


# --- the simulated exchange ---------------------------------------------------------------------


def sim_args(*, rate: float, max_trades: int, seed: int = 7, faults: Sequence[str] = ()) -> list[str]:
    """Arguments of a bounded simulated exchange that waits for the streamer before its clock starts."""
    return [
        "--symbols",
        ",".join(SYMBOLS),
        "--rate",
        str(rate),
        "--max-trades",
        str(max_trades),
        "--wait-for-clients",
        "1",
        "--seed",
        str(seed),
        *faults,
    ]


def sim_stats(sim: ExchangeSimProcess) -> dict:
    """``GET /sim/stats`` of a running exchange."""
    response = requests.get(f"{sim.rest_url}/sim/stats", timeout=10)
    response.raise_for_status()
    return response.json()


def drop_connections(sim: ExchangeSimProcess) -> int:
    """``POST /sim/drop-connections``: abort every websocket; returns how many."""
    response = requests.post(f"{sim.rest_url}/sim/drop-connections", timeout=10)
    response.raise_for_status()
    return int(response.json()["dropped"])


def wait_generated(sim: ExchangeSimProcess, count: int, timeout_s: float) -> dict:
    """Wait until the exchange generated at least ``count`` trades; its stats."""
    deadline = time.monotonic() + timeout_s
    while True:
        stats = sim_stats(sim)
        if stats["generated"] >= count or stats["finished"]:
            return stats
        if time.monotonic() >= deadline:
            raise AssertionError(
                f"the exchange generated only {stats['generated']} of {count} trades in {timeout_s} s"
            )
        time.sleep(0.05)


def wait_connected(sim: ExchangeSimProcess, timeout_s: float = 30.0) -> None:
    """Wait until a client has a Binance stream connection open at the exchange (e.g. after a drop)."""
    deadline = time.monotonic() + timeout_s
    while sim_stats(sim)["connections"]["open"]["binance_combined"] < 1:
        if time.monotonic() >= deadline:
            raise AssertionError(f"no client reconnected to the exchange within {timeout_s} s")
        time.sleep(0.05)


def wait_finished(sim: ExchangeSimProcess, timeout_s: float) -> dict:
    """Wait until the exchange has generated all its ``--max-trades``; its final stats."""
    deadline = time.monotonic() + timeout_s
    while True:
        stats = sim_stats(sim)
        if stats["finished"]:
            return stats
        if time.monotonic() >= deadline:
            raise AssertionError(
                f"the exchange did not finish within {timeout_s} s: generated {stats['generated']} of "
                f"{stats['max_trades']}, paused {stats['paused_s']} s, connections {stats['connections']}"
            )
        time.sleep(0.1)


def expected_last_ids(stats: Mapping) -> dict[str, int]:
    """Per symbol the last trade id the exchange generated; it generated every id from 1 to it.

    Checks that the exchange's REST history still holds all of them (nothing forgotten), so every
    skipped id was in fact recoverable.
    """
    out: dict[str, int] = {}
    for symbol, info in stats["symbols"].items():
        if info["generated"] == 0:
            continue
        assert info["history_first_id"] == 1 and info["history_last_id"] == info["generated"], (
            f"{symbol}: the exchange's history is not ids 1..{info['generated']}: {info}"
        )
        out[symbol] = int(info["history_last_id"])
    return out


def seed_streamer_state(
    home: Path, symbols: Iterable[str] = SYMBOLS, venue: str = VENUE, instance_name: str = "main"
) -> None:
    """Tell a first streamer that the exchange's ids start at 1 (last id 0 per symbol).

    A streamer without state starts at whatever id it receives first (Binance's history is years long);
    with an exchange that starts with the test, we want every trade from id 1, so we say where it began,
    as an operator onboarding a new venue would. Without this, a skipped or dropped *first* trade of a
    symbol would be outside what the streamer is responsible for.
    """
    symbols = tuple(symbols)
    # The instance `tradegraph stream --instance NAME` runs as on this host with these venues and symbols.
    instance = service_instance("streamer", venues=(venue,), symbols=symbols, name=instance_name)
    with EmbeddedServiceState(embedded_state_path(home)) as state:
        state.save_restart_state(instance, RestartState(last_ids={venue: dict.fromkeys(symbols, 0)}, gaps={}))


# --- the store ----------------------------------------------------------------------------------


def stored_ids(store: TickStore, venue: str = VENUE) -> dict[str, np.ndarray]:
    """Distinct trade ids per symbol of ``venue`` over every day, read through the store's ``export``."""
    tables = [store.export(part.day) for part in store.partitions()]
    tables = [t.select(["venue", "symbol", "trade_id"]) for t in tables if t.num_rows]
    if not tables:
        return {}
    table = pa.concat_tables(tables)
    table = table.filter(pc.equal(table["venue"], venue))
    out: dict[str, np.ndarray] = {}
    for symbol in pc.unique(table["symbol"]).to_pylist():
        ids = table.filter(pc.equal(table["symbol"], symbol))["trade_id"].to_numpy()
        out[symbol] = np.sort(ids)
    return out


def missing_count(ids: Mapping[str, np.ndarray], expected: Mapping[str, int]) -> int:
    """How many of the expected (symbol, id) pairs are not among ``ids``."""
    missing = 0
    for symbol, last in expected.items():
        got = np.unique(ids.get(symbol, np.empty(0, np.int64)))
        missing += last - int(np.count_nonzero((got >= 1) & (got <= last)))
    return missing


def lost_and_duplicated(
    store_ids: dict[str, np.ndarray], rows: int, expected: dict[str, int]
) -> tuple[int, int]:
    """(ids of 1..last per symbol not stored, rows beyond one per distinct stored trade)."""
    lost, distinct = 0, 0
    for symbol in set(expected) | set(store_ids):
        unique = np.unique(store_ids.get(symbol, np.empty(0, np.int64)))
        distinct += len(unique)
        last = expected.get(symbol, 0)
        lost += last - int(np.count_nonzero((unique >= 1) & (unique <= last)))
    return lost, rows - distinct


def wait_caught_up(
    store: TickStore, expected: Mapping[str, int], timeout_s: float, venue: str = VENUE
) -> int:
    """Poll the store until it holds every expected id (or ``timeout_s`` passes); return how many are missing."""
    deadline = time.monotonic() + timeout_s
    missing = sum(expected.values())
    while True:
        try:
            missing = missing_count(stored_ids(store, venue), expected)
        except StoreUnavailableError:
            pass  # the test's own connection to a restarted server: try again
        if missing == 0 or time.monotonic() >= deadline:
            return missing
        time.sleep(0.5)


def wait_store_quiet(store: TickStore, quiet_s: float, timeout_s: float) -> int:
    """Wait until the store's row count (duplicates included) stayed the same for ``quiet_s``; the count."""
    deadline = time.monotonic() + timeout_s
    last, since = -1, time.monotonic()
    while time.monotonic() < deadline:
        rows = sum(part.rows for part in store.partitions())
        now = time.monotonic()
        if rows != last:
            last, since = rows, now
        elif now - since >= quiet_s:
            return rows
        time.sleep(0.2)
    return last


def id_ranges(ids: np.ndarray, limit: int = 8) -> str:
    """Sorted ids as compact ranges (``5..9, 12``), at most ``limit`` of them."""
    ids = np.unique(ids)
    if not len(ids):
        return ""
    breaks = np.flatnonzero(np.diff(ids) != 1)
    starts = np.concatenate(([ids[0]], ids[breaks + 1]))
    ends = np.concatenate((ids[breaks], [ids[-1]]))
    parts = [f"{a}" if a == b else f"{a}..{b}" for a, b in zip(starts.tolist(), ends.tolist(), strict=True)]
    more = f" and {len(parts) - limit} more ranges" if len(parts) > limit else ""
    return ", ".join(parts[:limit]) + more


def assert_every_trade_stored_once(
    store: TickStore,
    expected: Mapping[str, int],
    *,
    venue: str = VENUE,
    raw_counts: Callable[[], Mapping[str, int]] | None = None,
    diagnostics: Callable[[], str] = lambda: "",
) -> None:
    """Seal every day partition; then the store must hold exactly the (symbol, trade_id) pairs
    ``1 .. expected[symbol]``, each exactly once: stored rows == distinct trades == expected trades.

    ``raw_counts`` (optional): rows per symbol counted by the store's own engine without any dedup, to
    name the symbol a duplicate belongs to. ``diagnostics``: more context for the failure message.
    """
    for part in store.partitions():
        store.seal(part.day)
    rows_after_seal = sum(part.rows for part in store.partitions())
    ids = stored_ids(store, venue)
    problems: list[str] = []
    distinct = 0
    for symbol in sorted(set(expected) | set(ids)):
        last = expected.get(symbol, 0)
        unique = np.unique(ids.get(symbol, np.empty(0, np.int64)))
        distinct += len(unique)
        want = np.arange(1, last + 1)
        missing, extra = np.setdiff1d(want, unique), np.setdiff1d(unique, want)
        if len(missing):
            problems.append(f"{symbol}: {len(missing)} of {last} trade ids missing: {id_ranges(missing)}")
        if len(extra):
            problems.append(f"{symbol}: {len(extra)} ids the exchange never generated: {id_ranges(extra)}")
    if raw_counts is not None:
        for symbol, rows in sorted(raw_counts().items()):
            if rows != expected.get(symbol, 0):
                problems.append(
                    f"{symbol}: {rows} rows stored for {expected.get(symbol, 0)} trades after sealing"
                )
    total = sum(expected.values())
    if rows_after_seal != distinct:
        problems.append(f"{rows_after_seal - distinct} duplicate rows left after sealing")
    if problems or not rows_after_seal == distinct == total:
        raise AssertionError(
            f"store != exchange: {rows_after_seal} rows, {distinct} distinct trades, {total} generated "
            f"(last ids {dict(expected)})\n" + "\n".join(problems) + "\n" + diagnostics()
        )


def log_lines(path: Path, pattern: str, *, offset: int = 0) -> list[str]:
    """Lines of a log file (from byte ``offset`` on) that match the regular expression ``pattern``."""
    try:
        with open(path, "rb") as handle:
            handle.seek(offset)
            text = handle.read().decode(errors="replace")
    except FileNotFoundError:
        return []
    return [line for line in text.splitlines() if re.search(pattern, line)]
