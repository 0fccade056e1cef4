"""The ingest services as separate processes: ``tradegraph stream`` and ``load``, and ``tradegraph services``
(their instances and heartbeats)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from trading_assets.cli.common import add_metrics_host, apply_service_priority, needs_shared_bus
from trading_assets.core.settings import Settings


def _cmd_stream(args: argparse.Namespace, settings: Settings) -> int:
    if not needs_shared_bus("stream", settings):
        return 2
    from resources.bus.factory import TickBusConfig, open_tick_bus
    from resources.service_state.factory import open_service_state
    from trading_assets.services.gc_pauses import freeze_start_up_heap
    from trading_assets.services.runtime import run_streamer, stop_on_signals
    from trading_assets.services.streamer import FeedsStoppedError

    if not apply_service_priority("stream", settings):
        return 2
    stop = stop_on_signals()
    with open_tick_bus(TickBusConfig.from_settings(settings)) as bus, open_service_state(settings) as state:
        freeze_start_up_heap()
        try:
            run_streamer(
                settings,
                bus,
                state,
                stop,
                instance_name=args.instance,
                metrics_port=args.metrics_port,
                metrics_host=args.metrics_host,
            )
        except FeedsStoppedError as exc:
            print(f"tradegraph stream: {exc}", file=sys.stderr)
            return 1
    return 0


def _cmd_load(args: argparse.Namespace, settings: Settings) -> int:
    if not needs_shared_bus("load", settings):
        return 2
    from resources.bus.factory import TickBusConfig, open_tick_bus
    from resources.service_state.factory import open_service_state
    from resources.tick_store.factory import TickStoreConfig, open_tick_store
    from trading_assets.services.gc_pauses import freeze_start_up_heap
    from trading_assets.services.loader import LoaderConfig
    from trading_assets.services.runtime import run_loader, stop_on_signals

    if args.sync_seconds is not None and args.sync_seconds <= 0:
        print(
            f"tradegraph load: --sync-seconds {args.sync_seconds} must be positive, e.g. 1", file=sys.stderr
        )
        return 2
    if not apply_service_priority("load", settings):
        return 2
    stop = stop_on_signals()
    config = LoaderConfig(
        max_rows=args.batch_rows,
        max_wait_s=args.batch_seconds,
        min_wait_s=args.batch_min_seconds,
        sync_s=args.sync_seconds,
    )
    with (
        open_tick_store(TickStoreConfig.from_settings(settings)) as store,
        open_tick_bus(TickBusConfig.from_settings(settings)) as bus,
        open_service_state(settings) as state,
    ):
        freeze_start_up_heap()
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
            insert_trace=args.insert_trace,
        )
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


def add_stream_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``tradegraph stream`` to the CLI's subcommands."""
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
    add_metrics_host(stream)
    stream.set_defaults(handler=_cmd_stream)


def add_load_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``tradegraph load`` to the CLI's subcommands."""
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
    # (ClickHouse parts) a second to 50. --batch-seconds or more restores the plain age bound.
    load.add_argument(
        "--batch-min-seconds",
        type=float,
        default=0.02,
        help="once caught up with the bus, insert batches this old (default 0.02 s: at most 50 inserts a "
        "second); --batch-seconds or more inserts only on --batch-rows or --batch-seconds",
    )
    load.add_argument(
        "--sync-seconds",
        type=float,
        default=None,
        help="insert through ClickHouse's in-memory insert buffer (the table ticks_buffer, queryable at once; "
        "no part written per insert) and every this many seconds flush it to disk and only then commit the "
        "offsets; should ClickHouse restart with rows in the buffer, the loader reads them again from its "
        "last committed offsets. Default: off, every insert is written to disk",
    )
    load.add_argument(
        "--insert-trace",
        type=Path,
        default=None,
        metavar="FILE",
        help="append one JSON line per insert to FILE: when it returned and, per symbol, the highest trade id "
        "and the ticks it held (for measuring exchange-to-stored latency exactly, e.g. bench/ingest.py; "
        "default: off)",
    )
    add_metrics_host(load)
    load.set_defaults(handler=_cmd_load)


def add_services_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``tradegraph services`` to the CLI's subcommands."""
    services = sub.add_parser(
        "services",
        help="list the streamer and loader instances and their last heartbeats",
        description="Every service instance in the service state (TRADEGRAPH_SERVICE_STATE), newest beat "
        "first. --retire KEY marks an instance retired on purpose as stopped, so the stream-health sensor "
        "no longer reports it dead.",
    )
    services.add_argument("--retire", metavar="KEY", default=None, help="mark instance KEY as stopped")
    services.set_defaults(handler=_cmd_services)
