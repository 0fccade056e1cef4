"""The paper executor as a command: ``tradegraph execute``, and ``tradegraph risk`` (its risk state and the
kill switch's latch)."""

from __future__ import annotations

import argparse
import sys

from trading_assets.cli.common import add_metrics_host, apply_service_priority, needs_shared_bus
from trading_assets.core.settings import Settings


def _cmd_execute(args: argparse.Namespace, settings: Settings) -> int:
    if not needs_shared_bus("execute", settings):
        return 2
    import time
    from contextlib import closing

    from resources.bus.factory import TickBusConfig, open_tick_bus
    from resources.model_registry.factory import ModelRegistryConfig, open_model_registry
    from resources.table_store.factory import TableStoreConfig, open_table_store
    from trading_assets.services.executor import Executor, ExecutorConfig
    from trading_assets.services.gc_pauses import freeze_start_up_heap
    from trading_assets.services.metrics import ExecutorMetrics, serve_metrics
    from trading_assets.services.runtime import stop_on_signals

    if not apply_service_priority("execute", settings):
        return 2
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
        freeze_start_up_heap()
        while not stop.is_set() and (deadline is None or time.monotonic() < deadline):
            executor.run_once()
        executor.checkpoint()
    s = executor.stats
    print(
        f"executor {config.instance}: {s.ticks:,} ticks, {s.decisions:,} decisions, {s.orders:,} orders, "
        f"{s.denials:,} denied, {s.fills:,} fills; equity {executor.portfolio.equity():,.2f}"
    )
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
            after = risk_reset(ledger, args.who, args.why, now_us())
            print(
                f"risk state {after.state}, latch cleared by {args.who}: {args.why} (a running executor "
                "applies it at its next checkpoint, a stopped one when it starts)"
            )
            print(f"high-water mark re-based to {after.high_water_mark:,.2f}")
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


def add_execute_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``tradegraph execute`` to the CLI's subcommands."""
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
    add_metrics_host(execute)
    execute.set_defaults(handler=_cmd_execute)


def add_risk_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``tradegraph risk`` to the CLI's subcommands."""
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
