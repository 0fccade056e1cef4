"""``tradegraph demo``: simulated trades through the bus, store, asset graph, models, paper trading and a
live session, printed as it goes."""

from __future__ import annotations

import argparse
import datetime as dt

from trading_assets.cli.run import print_run_summary
from trading_assets.core.settings import Settings


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
    from trading_assets.demo_models import models_table, train_symbols

    if days < 2:
        print("\nmodels: skipped, they need at least 2 days (train on all but the last, score on the last)")
        return True
    results = train_symbols(settings.symbols, home=settings.home, train_days=days - 1, progress=progress)
    print()
    for line in models_table(results):
        print(line)
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
    print_run_summary(summary)


def add_demo_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``tradegraph demo`` to the CLI's subcommands."""
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
