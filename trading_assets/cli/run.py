"""``tradegraph run``: simulated exchange, streamer, loader and paper executor in one process, and the
summary of what such a run did (also printed by the demo's live session)."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from trading_assets.cli.common import add_metrics_host, apply_service_priority
from trading_assets.core.settings import Settings

if TYPE_CHECKING:
    from trading_assets.services.pipeline import PipelineSummary


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
    if not apply_service_priority("run", settings):
        return 2
    stop = stop_on_signals()
    with (
        open_tick_store(TickStoreConfig.from_settings(settings)) as store,
        open_tick_bus(TickBusConfig.from_settings(settings)) as bus,
    ):
        summary = run_pipeline(settings, bus, store, config, stop)
        partitions = store.partitions()
    print_run_summary(summary)
    for part in partitions:
        print(f"  {part.day.isoformat()}  {part.rows:>12,} rows")
    if summary.failure is not None:
        print(f"tradegraph run: {summary.failure}", file=sys.stderr)
        return 1
    return 0


def print_run_summary(summary: PipelineSummary) -> None:
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


def add_run_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``tradegraph run`` to the CLI's subcommands."""
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
    add_metrics_host(run)
    run.set_defaults(handler=_cmd_run)
