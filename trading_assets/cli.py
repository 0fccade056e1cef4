"""The ``tradegraph`` command line."""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from trading_assets.core.settings import Settings, SettingsError

if TYPE_CHECKING:
    from trading_assets.services.pipeline import PipelineSummary


def _fmt_us(time_us: int) -> str:
    return dt.datetime.fromtimestamp(time_us / 1e6, dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f UTC")


def _cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from resources.bus.factory import TickBusConfig, open_tick_bus
    from resources.tick_store.factory import TickStoreConfig, open_tick_store
    from trading_assets.services.demo import DemoConfig, run_demo

    config = DemoConfig(ticks=args.ticks, days=args.days, seed=args.seed, symbols=settings.symbols)
    print(
        f"tradegraph demo: {config.ticks:,} simulated trades over {config.days} days "
        f"-> {settings.bus} bus -> {settings.store} store ({settings.home})"
    )
    with (
        open_tick_store(TickStoreConfig.from_settings(settings)) as store,
        open_tick_bus(TickBusConfig.from_settings(settings)) as bus,
    ):
        summary = run_demo(store, bus, config, progress=not args.quiet, home=settings.home)
    print(f"\npublished {summary.published:,}  rejected {summary.rejected:,}  loaded {summary.loaded:,}")
    print(f"trades from {_fmt_us(summary.first_trade_us)} to {_fmt_us(summary.last_trade_us)}")
    print(f"{'day':<12}{'rows (sealed)':>16}")
    for part in summary.partitions:
        print(f"{part.day.isoformat():<12}{part.rows:>16,}")
    print(f"trade-id gaps: {len(summary.gaps)}")
    if args.no_graph:
        return 0
    from trading_assets.demo_graph import dagster_home, materialize_days

    results = materialize_days(
        [p.day for p in summary.partitions], home=settings.home, progress=not args.quiet
    )
    print(
        f"\nasset graph (tick_partition -> bars_1m -> features, tick_archive), runs recorded in {dagster_home(settings.home)}"
    )
    print(f"{'day':<12}{'ticks':>12}{'bars':>8}{'archive B/tick':>16}{'checks ok/failed':>18}  warnings")
    for r in results:
        print(
            f"{r.day.isoformat():<12}{r.rows:>12,}{r.bars:>8,}{r.archive_bytes_per_tick:>16.2f}"
            f"{f'{r.checks_passed}/{r.checks_failed}':>18}  {r.checks_warned or '-'}"
        )
    days_ok = all(r.checks_failed == 0 and r.rows for r in results)
    models_ok = True
    if not args.no_models:
        models_ok = _demo_models(settings, days=len(results), progress=not args.quiet)
    if args.live_seconds > 0:
        _demo_live(settings, seconds=args.live_seconds, progress=not args.quiet)
    print(
        f"\nbrowse it (re-execute a day from its run page): DAGSTER_HOME={dagster_home(settings.home)} .venv/bin/dg dev"
    )
    print(f"browse the models: .venv/bin/mlflow ui --backend-store-uri {settings.mlflow_uri} --port 5000")
    return 0 if days_ok and models_ok else 1


def _demo_models(settings: Settings, *, days: int, progress: bool) -> bool:
    """Train, backtest and gate a model per symbol on the demo's days; print the outcome."""
    from trading_assets.demo_models import train_symbols

    if days < 2:
        print("\nmodels: skipped, they need at least 2 days (train on all but the last, score on the last)")
        return True
    results = train_symbols(settings.symbols, home=settings.home, train_days=days - 1, progress=progress)
    print(
        "\nmodels (retrain_models: trained_models -> backtest -> champion_model), walk-forward on the last day"
    )
    nan = float("nan")
    print(
        f"{'symbol':<10}{'version':>8}{'return':>9}{'sharpe':>8}{'max dd':>8}{'trades':>8}"
        f"{'buy&hold ret':>14}{'b&h sharpe':>11}  champion gate (beat flat and buy-and-hold)"
    )
    for r in results:
        m = r.metrics
        print(
            f"{r.symbol:<10}{r.version or '-':>8}{m.get('total_return', nan):>9.2%}"
            f"{m.get('sharpe', nan):>8.2f}{m.get('max_drawdown', nan):>8.2%}"
            f"{int(m.get('trades', 0)):>8}{m.get('baseline_buy_and_hold_total_return', nan):>14.2%}"
            f"{m.get('baseline_buy_and_hold_sharpe', nan):>11.2f}  {r.decision}"
        )
    # A refused model is the gate working; only a run that never reached a backtest is an error.
    trained = all(r.version is not None and r.metrics for r in results)
    return trained and _demo_paper_trading(settings)


def _demo_paper_trading(settings: Settings) -> bool:
    """The executor trades the champions over the last day; print paper PnL per symbol and version."""
    from resources.tick_store.factory import TickStoreConfig, open_tick_store
    from trading_assets.demo_trading import paper_trade_day, record_paper_day

    with open_tick_store(TickStoreConfig.from_settings(settings)) as store:
        day = max(p.day for p in store.partitions())
    result = paper_trade_day(settings, day)
    s = result.stats
    print(
        f"\npaper trading {day} (tradegraph execute's code, champions only, warmed up with the day before): "
        f"{s.ticks:,} ticks, {s.decisions:,} decisions, {s.orders:,} orders, {s.denials:,} denied, {s.fills:,} fills"
    )
    print(
        f"{'symbol':<10}{'version':>8}{'realized':>12}{'fees':>10}{'fills':>7}   symbol PnL (after fees, marked)"
    )
    for (symbol, version), (realized, fees, fills) in result.by_version.items():
        pnl = result.by_symbol[symbol][0]
        print(f"{symbol:<10}{version:>8}{realized:>12,.2f}{fees:>10,.2f}{fills:>7}   {pnl:>12,.2f}")
    change = result.equity - result.initial_cash
    print(f"equity {result.equity:,.2f} ({change:+,.2f} on {result.initial_cash:,.0f})")
    recorded = record_paper_day(settings.home, day)
    print(
        f"paper_fills and portfolio_daily of {day}: {'recorded' if recorded else 'FAILED (see the run in the UI)'}"
    )
    return recorded


def _demo_live(settings: Settings, *, seconds: float, progress: bool) -> None:
    """The services together: simulated exchange -> streamer -> loader, and the executor on the champions."""
    from trading_assets.demo_live import live_session

    speed, rate = 120.0, 2_000.0
    print(
        f"\nlive session ({seconds:g} s, what `tradegraph run` runs): the simulated exchange on 127.0.0.1 "
        f"({rate:,.0f} trades/s, {speed:g}x real time from today 00:00 UTC) -> streamer -> loader, and the "
        "paper executor on the champions"
    )
    summary = live_session(settings, seconds=seconds, speed=speed, rate=rate, progress=progress)
    _print_run_summary(summary)


def _needs_shared_bus(command: str, settings: Settings) -> bool:
    if settings.bus == "embedded":
        print(
            f"tradegraph {command}: the embedded bus lives inside one process, so a separate {command} "
            "process would talk to nobody. Run `tradegraph run` (streamer and loader in one process), or "
            "set TRADEGRAPH_BUS=kafka and TRADEGRAPH_KAFKA_BOOTSTRAP=host:port.",
            file=sys.stderr,
        )
        return False
    return True


def _cmd_stream(args: argparse.Namespace, settings: Settings) -> int:
    if not _needs_shared_bus("stream", settings):
        return 2
    from resources.bus.factory import TickBusConfig, open_tick_bus
    from resources.service_state.factory import open_service_state
    from trading_assets.services.runtime import run_streamer, stop_on_signals

    stop = stop_on_signals()
    with open_tick_bus(TickBusConfig.from_settings(settings)) as bus, open_service_state(settings) as state:
        run_streamer(
            settings,
            bus,
            state,
            stop,
            instance_name=args.instance,
            metrics_port=args.metrics_port,
            metrics_host=args.metrics_host,
        )
    return 0


def _cmd_load(args: argparse.Namespace, settings: Settings) -> int:
    if not _needs_shared_bus("load", settings):
        return 2
    from resources.bus.factory import TickBusConfig, open_tick_bus
    from resources.service_state.factory import open_service_state
    from resources.tick_store.factory import TickStoreConfig, open_tick_store
    from trading_assets.services.loader import LoaderConfig
    from trading_assets.services.runtime import run_loader, stop_on_signals

    stop = stop_on_signals()
    config = LoaderConfig(
        max_rows=args.batch_rows, max_wait_s=args.batch_seconds, min_wait_s=args.batch_min_seconds
    )
    with (
        open_tick_store(TickStoreConfig.from_settings(settings)) as store,
        open_tick_bus(TickBusConfig.from_settings(settings)) as bus,
        open_service_state(settings) as state,
    ):
        run_loader(
            settings,
            bus,
            store,
            state,
            stop,
            instance_name=args.instance,
            metrics_port=args.metrics_port,
            metrics_host=args.metrics_host,
            config=config,
        )
    return 0


def _cmd_execute(args: argparse.Namespace, settings: Settings) -> int:
    if not _needs_shared_bus("execute", settings):
        return 2
    import time
    from contextlib import closing

    from resources.bus.factory import TickBusConfig, open_tick_bus
    from resources.model_registry.factory import ModelRegistryConfig, open_model_registry
    from resources.table_store.factory import TableStoreConfig, open_table_store
    from trading_assets.services.executor import Executor, ExecutorConfig
    from trading_assets.services.metrics import ExecutorMetrics, serve_metrics
    from trading_assets.services.runtime import stop_on_signals

    stop = stop_on_signals()
    metrics = ExecutorMetrics()
    if args.metrics_port is not None:
        serve_metrics(metrics.registry, args.metrics_port, args.metrics_host, data_dir=settings.home)
    config = ExecutorConfig(
        symbols=settings.symbols,
        venues=settings.venues,
        instance=args.instance,
        initial_cash=args.cash,
        checkpoint_s=args.checkpoint_seconds,
        model_poll_s=args.model_poll_seconds,
    )
    deadline = None if args.duration is None else time.monotonic() + args.duration
    with (
        open_tick_bus(TickBusConfig.from_settings(settings)) as bus,
        open_table_store(TableStoreConfig.from_settings(settings)) as store,
        closing(open_model_registry(ModelRegistryConfig.from_settings(settings))) as registry,
        bus.consumer(group=config.group, venues=config.venues) as consumer,
    ):
        executor = Executor(consumer, registry, store, config, metrics=metrics)
        executor.start()
        while not stop.is_set() and (deadline is None or time.monotonic() < deadline):
            executor.run_once()
        executor.checkpoint()
    s = executor.stats
    print(
        f"executor {config.instance}: {s.ticks:,} ticks, {s.decisions:,} decisions, {s.orders:,} orders, "
        f"{s.denials:,} denied, {s.fills:,} fills; equity {executor.portfolio.equity():,.2f}"
    )
    return 0


_SIM_ONLY_OPTIONS = ("rate", "speed", "drop_every", "p_duplicate", "p_reorder", "p_skip", "p_garbage")


def _cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    from resources.bus.factory import TickBusConfig, open_tick_bus
    from resources.tick_store.factory import TickStoreConfig, open_tick_store
    from trading_assets.services.exchange_sim import FaultConfig
    from trading_assets.services.pipeline import PipelineConfig, run_pipeline
    from trading_assets.services.runtime import stop_on_signals

    if args.no_sim:
        given = [
            f"--{name.replace('_', '-')}" for name in _SIM_ONLY_OPTIONS if getattr(args, name) is not None
        ]
        if given:
            print(
                f"tradegraph run: {', '.join(given)} only apply to the simulated exchange, which --no-sim "
                "does not run: drop them or drop --no-sim",
                file=sys.stderr,
            )
            return 2
    try:
        faults = FaultConfig(
            drop_every_s=args.drop_every,
            p_duplicate=args.p_duplicate or 0.0,
            p_reorder=args.p_reorder or 0.0,
            p_skip=args.p_skip or 0.0,
            p_garbage=args.p_garbage or 0.0,
        )
    except ValueError as exc:
        print(f"tradegraph run: bad fault option: {exc}", file=sys.stderr)
        return 2
    if args.max_trades is not None and args.max_trades < 1:
        print(f"tradegraph run: --max-trades must be at least 1, got {args.max_trades}", file=sys.stderr)
        return 2
    config = PipelineConfig(
        simulate=not args.no_sim,
        rate=1_000.0 if args.rate is None else args.rate,
        speed=1.0 if args.speed is None else args.speed,
        max_trades=args.max_trades,
        duration_s=args.duration,
        metrics_port=args.metrics_port,
        metrics_host=args.metrics_host,
        faults=faults,
        execute=not args.no_executor,
    )
    stop = stop_on_signals()
    with (
        open_tick_store(TickStoreConfig.from_settings(settings)) as store,
        open_tick_bus(TickBusConfig.from_settings(settings)) as bus,
    ):
        summary = run_pipeline(settings, bus, store, config, stop)
        partitions = store.partitions()
    _print_run_summary(summary)
    for part in partitions:
        print(f"  {part.day.isoformat()}  {part.rows:>12,} rows")
    return 0


def _print_run_summary(summary: PipelineSummary) -> None:
    """What a run of the services did: the exchange, what was left over, the paper executor."""
    emitted = "-" if summary.emitted is None else f"{summary.emitted:,}"
    print(
        f"exchange trades {emitted}  published {summary.published:,}  loaded {summary.loaded:,}  "
        f"dead letters {summary.dead_letters:,}  in {summary.seconds:.1f} s"
    )
    if summary.exchange is not None:
        injected = summary.exchange["faults"]
        print(
            f"exchange faults: skipped {injected['skipped']:,}  duplicated {injected['duplicated']:,}  "
            f"reordered {injected['reordered']:,}  garbage {injected['garbage_total']:,}  "
            f"connection drops {injected['drop_events']:,}"
        )
        for symbol, info in summary.exchange["symbols"].items():
            if info["generated"]:
                print(
                    f"  sim {symbol:<10} trade ids {info['history_first_id']:,}..{info['history_last_id']:,}"
                )
    for line in _leftovers(summary):
        print(line)
    if summary.paper is not None:
        p = summary.paper
        models = ", ".join(f"{symbol} v{version}" for symbol, version in p.models.items() if version != "-")
        print(
            f"paper executor: {p.ticks:,} ticks, {p.decisions:,} decisions, {p.orders:,} orders, "
            f"{p.denials:,} denied, {p.fills:,} fills, equity {p.equity:,.2f}; champions: "
            f"{models or 'none yet (run the demo or the retrain job to train and promote some)'}"
        )
        if p.error is not None:
            print(f"WARNING: the paper executor stopped early: {p.error}")


def _leftovers(summary: PipelineSummary) -> list[str]:
    """Lines of the run summary about what did not make it through: unstored, unread, gaps still open."""
    lines = []
    if summary.unstored:
        lines.append(
            f"WARNING: {summary.unstored:,} of {summary.published:,} published ticks were not stored "
            "(left uncommitted on the bus)"
        )
    else:
        lines.append(f"stored everything published ({summary.published:,} ticks)")
    if summary.unread is None:
        lines.append(
            "trades the exchange printed but the streamer did not read: unknown without the simulator"
        )
    elif sum(summary.unread.values()):
        per_symbol = ", ".join(f"{symbol} {n:,}" for symbol, n in summary.unread.items() if n)
        lines.append(
            f"WARNING: the exchange printed {sum(summary.unread.values()):,} trades after the streamer "
            f"stopped reading ({per_symbol})"
        )
    gaps = [
        (venue, symbol, ranges)
        for venue, by_symbol in summary.open_gaps.items()
        for symbol, ranges in by_symbol.items()
    ]
    if not gaps:
        lines.append("trade-id gaps still open: none")
        return lines
    missing = sum(last - first + 1 for _, _, ranges in gaps for first, last in ranges)
    lines.append(
        f"WARNING: trade-id gaps still open: {missing:,} ids missing in "
        f"{sum(len(r) for _, _, r in gaps):,} ranges (kept in the restart state; the next run fetches them)"
    )
    for venue, symbol, ranges in gaps:
        shown = ", ".join(f"{first:,}..{last:,}" for first, last in ranges[:_GAPS_SHOWN])
        more = f" and {len(ranges) - _GAPS_SHOWN:,} more" if len(ranges) > _GAPS_SHOWN else ""
        ids = sum(last - first + 1 for first, last in ranges)
        lines.append(f"  {venue} {symbol:<10} {ids:,} ids in {len(ranges):,} ranges: {shown}{more}")
    return lines


_GAPS_SHOWN = 10


def _cmd_exchange_sim(args: argparse.Namespace, settings: Settings) -> int:
    from trading_assets.services.exchange_sim.cli import run

    return run(args)


def _cmd_energy_sim(args: argparse.Namespace, settings: Settings) -> int:
    from trading_assets.services.energy_sim.cli import run

    return run(args)


def _cmd_bars(args: argparse.Namespace, settings: Settings) -> int:
    import pyarrow.csv as pa_csv

    from resources.table_store.factory import TableStoreConfig, open_table_store
    from resources.tick_store.factory import TickStoreConfig, open_tick_store
    from trading_assets.core.time import day_bounds_us
    from trading_assets.market.bars import BARS_TABLE, compute_bars_1m

    day = dt.date.fromisoformat(args.day)
    start_us, end_us = day_bounds_us(day)
    filters = {"symbol": args.symbol} if args.symbol else None
    about = f"{day}{f' and {args.symbol}' if args.symbol else ''}"
    with open_table_store(TableStoreConfig.from_settings(settings)) as tables:
        stored_days = {partition.day for partition in tables.days(BARS_TABLE)}
        bars = tables.read(BARS_TABLE, start_us=start_us, end_us=end_us, filters=filters)
    if day not in stored_days:
        # Not materialized yet (bars_1m runs after the day is sealed): compute them from the stored ticks.
        with open_tick_store(TickStoreConfig.from_settings(settings)) as store:
            # One symbol's bars are computed where the ticks are (ClickHouse aggregates on the server).
            if args.symbol:
                bars = store.minute_bars(symbol=args.symbol, start_us=start_us, end_us=end_us)
            else:
                bars = compute_bars_1m(store.export(day))
        if bars.num_rows == 0:
            print(
                f"tradegraph bars: no bars and no ticks stored for {about} in the {settings.store} store",
                file=sys.stderr,
            )
            return 1
        print(
            f"tradegraph bars: no stored bars for {day} (materialize bars_1m for it to store them); "
            "computed from the stored ticks",
            file=sys.stderr,
        )
    elif bars.num_rows == 0:
        print(f"tradegraph bars: the stored bars of {day} have none for {args.symbol}", file=sys.stderr)
        return 1
    pa_csv.write_csv(bars, args.out if args.out else sys.stdout.buffer)
    return 0


def _cmd_services(args: argparse.Namespace, settings: Settings) -> int:
    from resources.service_state.factory import open_service_state
    from trading_assets.services.heartbeat import now_us, retire

    with open_service_state(settings) as state:
        if args.retire:
            retired = retire(state, args.retire)
            if retired is None:
                print(f"tradegraph services: no instance {args.retire!r}", file=sys.stderr)
                return 1
            print(f"retired {retired.instance.label} ({retired.instance.key})")
            return 0
        beats = state.heartbeats()
    now = now_us()
    for beat in beats:
        age = (now - beat.wall_time_us) / 1e6
        print(
            f"{beat.status:<8} {age:>9.1f} s ago  {beat.ticks:>12,} ticks  {beat.instance.label}  {beat.instance.key}"
        )
    if not beats:
        print(f"no service instance has beaten yet ({settings.service_state} service state)")
    return 0


def _cmd_risk(args: argparse.Namespace, settings: Settings) -> int:
    from resources.table_store.factory import TableStoreConfig, open_table_store
    from trading_assets.execution.ledger import Ledger, risk_reset
    from trading_assets.services.heartbeat import now_us

    with open_table_store(TableStoreConfig.from_settings(settings)) as store:
        ledger = Ledger(store)
        if args.action == "reset":
            if not (args.who and args.why):
                print("tradegraph risk reset: say who resets and why: --who NAME --why TEXT", file=sys.stderr)
                return 2
            state = risk_reset(ledger, args.who, args.why, now_us())
            print(
                f"risk state {state.state}, latch cleared by {args.who}: {args.why} (a running executor "
                "applies it at its next checkpoint, a stopped one when it starts)"
            )
            print(f"high-water mark re-based to {state.high_water_mark:,.2f}")
            return 0
        state = ledger.load(now_us()).risk_state
    if state is None:
        print("no risk state saved yet: the executor has not run on this store")
        return 0
    latch = (
        "LATCHED (reset with `tradegraph risk reset --who NAME --why TEXT`)"
        if state.latched
        else "not latched"
    )
    print(f"{state.state}, {latch}; high-water mark {state.high_water_mark:,.2f}, breaches {state.breaches}")
    return 0


def _cmd_settings(args: argparse.Namespace, settings: Settings) -> int:
    from trading_assets.core.urls import url_without_password

    # Secrets print masked (SecretStr), and so does a password inside a URL (TRADEGRAPH_CLICKHOUSE_URL,
    # TRADEGRAPH_MLFLOW_URI); the reference of every variable is docs/CONFIGURATION.md.
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        shown = "(unset)" if value is None else ",".join(value) if isinstance(value, tuple) else value
        if isinstance(shown, str) and "://" in shown:
            shown = url_without_password(shown)
        print(f"{Settings.env_name(name):<32} {shown}")
    return 0


def _add_metrics_host(parser: argparse.ArgumentParser) -> None:
    # Loopback by default (nothing is exposed unless asked); a container passes 0.0.0.0 so Prometheus,
    # in another container, can scrape it.
    parser.add_argument(
        "--metrics-host",
        default="127.0.0.1",
        help="address to serve the metrics on (default 127.0.0.1; 0.0.0.0 in a container)",
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``tradegraph`` (exposed for tests and docs)."""
    parser = argparse.ArgumentParser(
        prog="tradegraph",
        description="Trading data platform: tick ingestion, asset graph, models and paper trading. "
        "Settings come from TRADEGRAPH_* environment variables (see `tradegraph settings`).",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = sub.add_parser("demo", help="simulate trades through the bus into the store and summarise")
    demo.add_argument("--ticks", type=int, default=1_500_000, help="trades to simulate (default 1,500,000)")
    demo.add_argument(
        "--days",
        type=int,
        default=3,
        help="days the trades span, ending yesterday (default 3; the models "
        "train on all but the last and are scored on the last)",
    )
    demo.add_argument("--seed", type=int, default=7, help="seed of the simulated market (default 7)")
    demo.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    demo.add_argument(
        "--no-graph", action="store_true", help="skip the asset graph (seal, bars, archive, models)"
    )
    demo.add_argument("--no-models", action="store_true", help="skip training, backtest and champion gate")
    demo.add_argument(
        "--live-seconds",
        type=float,
        default=45.0,
        help="seconds of the live session at the end: simulated exchange, streamer, loader and paper "
        "executor together, as `tradegraph run` (default 45; 0 skips it)",
    )
    demo.set_defaults(handler=_cmd_demo)

    stream = sub.add_parser(
        "stream",
        help="stream trades from the configured venues to the bus (until SIGTERM)",
        description="Connect to TRADEGRAPH_VENUES, validate every trade, publish to the bus, send bad frames "
        "to the dead letters, fill trade-id gaps from REST. SIGTERM or Ctrl-C flushes and exits.",
    )
    stream.add_argument(
        "--metrics-port", type=int, default=None, help="serve Prometheus metrics on this port"
    )
    stream.add_argument(
        "--instance",
        default="main",
        help="name of this streamer among others on the same venues, symbols and host (default main); "
        "its heartbeat and restart state are its own",
    )
    _add_metrics_host(stream)
    stream.set_defaults(handler=_cmd_stream)

    load = sub.add_parser(
        "load",
        help="load ticks from the bus into the store in batches (until SIGTERM)",
        description="Consume the venues' topics as group 'loader', insert batches into the store and commit "
        "offsets only after each insert. While the store is down it holds its batch and retries.",
    )
    load.add_argument("--metrics-port", type=int, default=None, help="serve Prometheus metrics on this port")
    load.add_argument(
        "--batch-rows", type=int, default=100_000, help="insert once this many ticks wait (100,000)"
    )
    # 0.1 s keeps exchange-to-queryable p99 near 0.3 s at 5,000 ticks/s (bench/ingest.py); faster feeds fill
    # --batch-rows first, so this only sets the insert rate of quiet ones (at most 10 a second).
    load.add_argument("--batch-seconds", type=float, default=0.1, help="insert at least this often (0.1 s)")
    load.add_argument("--instance", default="main", help="name of this loader's heartbeat (default main)")
    # Caught up with the bus (nothing more buffered), the batch goes in once this old, so a trickle waits
    # about one fetch instead of --batch-seconds (docs/BENCHMARKS.md, issue 7); the floor bounds the inserts
    # (ClickHouse parts) a second. --batch-seconds or more restores the plain age bound.
    load.add_argument(
        "--batch-min-seconds",
        type=float,
        default=None,
        help="once caught up with the bus, insert batches this old, e.g. 0.02 (default: off, batches wait "
        "--batch-seconds; see docs/BENCHMARKS.md, issue 7, for why it is off against Tansu)",
    )
    _add_metrics_host(load)
    load.set_defaults(handler=_cmd_load)

    run = sub.add_parser(
        "run",
        help="simulated exchange + streamer + loader in one process (the offline default)",
        description="Start the simulated exchange on loopback, stream it over the Binance wire protocol, "
        "and load into the store, all in one process on the embedded bus and store unless "
        "TRADEGRAPH_BUS/TRADEGRAPH_STORE say otherwise. Runs until Ctrl-C, --duration or --max-trades, "
        "then stops in the direction of the flow (feeds, streamer flush, loader drain) and reports what "
        "is left: ticks not stored, trades printed but not read, trade-id gaps still open.",
    )
    run.add_argument(
        "--rate", type=float, default=None, help="simulated trades per second (1,000; simulator only)"
    )
    run.add_argument(
        "--speed", type=float, default=None, help="exchange seconds per wall second (1; simulator only)"
    )
    run.add_argument(
        "--max-trades",
        type=int,
        default=None,
        help="simulator: it prints this many trades and the run ends once all are stored; "
        "--no-sim: the run ends once at least this many ticks are stored",
    )
    run.add_argument("--duration", type=float, default=None, help="stop after this many seconds")
    run.add_argument(
        "--no-sim",
        action="store_true",
        help="stream TRADEGRAPH_VENUES instead of the simulator (the options of the simulator are refused)",
    )
    run.add_argument("--metrics-port", type=int, default=None, help="metrics on this port (loader: +1)")
    run.add_argument(
        "--no-executor",
        action="store_true",
        help="do not run the paper executor (by default it trades the registry's champions on paper)",
    )
    faults = run.add_argument_group(
        "faults of the simulated exchange (not with --no-sim; see `tradegraph exchange-sim --help`)"
    )
    faults.add_argument(
        "--drop-every",
        type=float,
        default=None,
        metavar="SECONDS",
        help="abort the websocket every N wall seconds",
    )
    faults.add_argument(
        "--p-duplicate", type=float, default=None, help="probability a trade frame is sent twice (0)"
    )
    faults.add_argument(
        "--p-reorder", type=float, default=None, help="probability a trade swaps with the next (0)"
    )
    faults.add_argument(
        "--p-skip", type=float, default=None, help="probability a trade is not sent (REST has it) (0)"
    )
    faults.add_argument(
        "--p-garbage", type=float, default=None, help="probability of a garbage frame after a trade (0)"
    )
    _add_metrics_host(run)
    run.set_defaults(handler=_cmd_run)

    from trading_assets.services.exchange_sim.cli import add_arguments as add_sim_arguments

    sim = sub.add_parser(
        "exchange-sim",
        help="the simulated exchange on 127.0.0.1 (Binance and Finnhub wire protocols)",
        description="Serve seeded simulated trades (or a replayed data.binance.vision CSV) over the Binance "
        "and Finnhub websocket protocols and Binance REST, with fault injection. Prints its URLs as one "
        "JSON line.",
    )
    add_sim_arguments(sim)
    sim.set_defaults(handler=_cmd_exchange_sim)

    from trading_assets.services.energy_sim.cli import add_arguments as add_energy_arguments

    energy = sub.add_parser(
        "energy-sim",
        help="the simulated ENTSO-E API (prices, load, forecasts) and intraday trades FTP drop on 127.0.0.1",
    )
    add_energy_arguments(energy)
    energy.set_defaults(handler=_cmd_energy_sim)

    bars = sub.add_parser(
        "bars",
        help="1-minute OHLCV bars of a stored day as CSV",
        description="Write a day's 1-minute bars (open, high, low, close, volume, VWAP, trades, buy/sell "
        "volume) as CSV: the bars stored in the table store by the bars_1m asset, or, for a day without "
        "stored bars, bars computed from the day's deduplicated ticks in the tick store (minute_us is the "
        "minute's start in microseconds since epoch, UTC).",
    )
    bars.add_argument("--day", required=True, help="UTC day, YYYY-MM-DD")
    bars.add_argument("--symbol", default=None, help="only this symbol (default: all)")
    bars.add_argument("--out", default=None, help="CSV file (default: standard output)")
    bars.set_defaults(handler=_cmd_bars)

    services = sub.add_parser(
        "services",
        help="list the streamer and loader instances and their last heartbeats",
        description="Every service instance in the service state (TRADEGRAPH_SERVICE_STATE), newest beat "
        "first. --retire KEY marks an instance retired on purpose as stopped, so the stream-health sensor "
        "no longer reports it dead.",
    )
    services.add_argument("--retire", metavar="KEY", default=None, help="mark instance KEY as stopped")
    services.set_defaults(handler=_cmd_services)

    execute = sub.add_parser(
        "execute",
        help="the paper-trading executor: champions' signals -> risk engine -> paper fills (needs Kafka)",
        description="Reads ticks from the bus in its own consumer group, trades each symbol's MLflow "
        "champion on paper through the risk engine, and records orders, fills, positions, equity and risk "
        "events in the table store. A new champion is picked up without a restart. SIGTERM checkpoints and "
        "exits; a restart (also after kill -9) resumes from the last checkpoint without ordering twice.",
    )
    execute.add_argument("--instance", default="default", help="name of this executor (default: default)")
    execute.add_argument("--cash", type=float, default=100_000.0, help="cash of a new paper account")
    execute.add_argument("--checkpoint-seconds", type=float, default=5.0, help="seconds between checkpoints")
    execute.add_argument(
        "--model-poll-seconds", type=float, default=30.0, help="seconds between registry polls for champions"
    )
    execute.add_argument(
        "--duration", type=float, help="stop after this many seconds (default: run until SIGTERM)"
    )
    execute.add_argument(
        "--metrics-port", type=int, default=None, help="serve Prometheus metrics on this port"
    )
    _add_metrics_host(execute)
    execute.set_defaults(handler=_cmd_execute)

    risk = sub.add_parser(
        "risk",
        help="the paper executor's risk state: show it, or reset the kill switch's latch",
        description="`status` shows the trading state (ACTIVE, REDUCING, HALTED) and the kill-switch latch; "
        "`reset` clears a latched HALT, recorded with who did it and why (the only way out of it).",
    )
    risk.add_argument(
        "action", choices=["status", "reset"], help="status (default) or reset", nargs="?", default="status"
    )
    risk.add_argument("--who", help="reset: who resets the latch (recorded)")
    risk.add_argument("--why", help="reset: why it is safe to trade again (recorded)")
    risk.set_defaults(handler=_cmd_risk)

    from trading_assets.cli_archive import add_rehydrate_parser
    from trading_assets.cli_sources import add_sources_parser
    from trading_assets.cli_up import add_up_parser

    add_sources_parser(sub)
    add_up_parser(sub)
    add_rehydrate_parser(sub)

    show = sub.add_parser("settings", help="print the settings resolved from the environment")
    show.set_defaults(handler=_cmd_settings)
    return parser


def _check_venues(settings: Settings) -> None:
    """Fail at start when TRADEGRAPH_VENUES names a venue the registry does not know."""
    from resources.exchange_feed.registry import venue_names

    known = venue_names()
    unknown = [venue for venue in settings.venues if venue not in known]
    if unknown:
        raise SettingsError(
            f"TRADEGRAPH_VENUES names unknown venues {unknown}; known: {', '.join(known)}; "
            "e.g. TRADEGRAPH_VENUES=binance,finnhub"
        )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``tradegraph`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    # The demo reports through its summary and progress bars; services log what they do.
    quiet = args.command == "demo" and not args.verbose
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING if quiet else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        settings = Settings.from_env()
        _check_venues(settings)
    except SettingsError as exc:
        print(f"tradegraph: bad setting: {exc}", file=sys.stderr)
        return 2
    # MLflow 3 sends usage telemetry to its project unless told not to. Not from tradegraph's processes,
    # nor from the MLflow UI and Dagster runs they start (MLFLOW_DISABLE_TELEMETRY=false allows it).
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    from trading_assets.services.memtrace import start_from_env

    # Diagnostics of a long run (TRADEGRAPH_MEMTRACE=DIR[,SECONDS]): where the heap grows; off when unset.
    try:
        start_from_env(os.environ, args.command)
    except ValueError as exc:
        print(f"tradegraph: {exc}", file=sys.stderr)
        return 2
    try:
        return int(args.handler(args, settings))
    except BrokenPipeError:
        # The reader of our output went away (`tradegraph bars ... | head`): not an error of ours.
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
