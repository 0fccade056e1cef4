"""``tradegraph sources``: list the source kinds, show the configured sources, run their pollers and loader."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from trading_assets.cli.common import apply_service_priority
from trading_assets.core.settings import Settings


def _sources_file(args: argparse.Namespace, settings: Settings) -> Path | None:
    path = args.file or settings.sources_file
    if path is None:
        print(
            "tradegraph sources: no sources file: pass --file sources.toml or set TRADEGRAPH_SOURCES_FILE "
            "(docs/SOURCES.md shows one)",
            file=sys.stderr,
        )
    return None if path is None else Path(path)


def _cmd_kinds(args: argparse.Namespace, settings: Settings) -> int:
    from resources.exchange_feed.registry import venue_names
    from resources.sources.registry import kind_names, source_kind

    for name in kind_names():
        print(f"{name:<12}{source_kind(name).summary}")
    # The exchange venues are websocket sources with a pipeline of their own (ticks, trade-id gap fill).
    print(
        f"{'venues':<12}exchange trade feeds {', '.join(venue_names())}: `tradegraph stream` / `tradegraph run`"
    )
    return 0


def _cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    from resources.service_state.factory import open_service_state
    from resources.sources.config import SourcesFileError, load_sources
    from trading_assets.services.source_poller import poller_instance

    path = _sources_file(args, settings)
    if path is None:
        return 2
    try:
        entries = load_sources(path)
    except SourcesFileError as exc:
        print(f"tradegraph sources: {exc}", file=sys.stderr)
        return 2
    with open_service_state(settings) as state:
        for entry in entries:
            cursor = state.cursor(poller_instance(entry.name))
            options = ", ".join(f"{key}={value!r}" for key, value in entry.options.items())
            print(f"{entry.name} ({entry.kind}) -> topic sources.{entry.name}, table src_{entry.name}")
            print(f"    options: {options or '-'}")
            print(f"    cursor:  {cursor if cursor is not None else '(none yet)'}")
    return 0


def _cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    from resources.bus.factory import TickBusConfig, open_tick_bus
    from resources.service_state.factory import open_service_state
    from resources.sources.config import SourcesFileError, load_sources
    from resources.table_store.factory import TableStoreConfig, open_table_store
    from trading_assets.services.gc_pauses import freeze_start_up_heap
    from trading_assets.services.runtime import stop_on_signals
    from trading_assets.services.source_poller import PollerConfig
    from trading_assets.services.sources_runtime import run_sources

    path = _sources_file(args, settings)
    if path is None:
        return 2
    if args.no_loader and settings.bus == "embedded":
        print(
            "tradegraph sources run --no-loader: the embedded bus lives inside one process, so nothing would "
            "load what the pollers publish; drop --no-loader or set TRADEGRAPH_BUS=kafka",
            file=sys.stderr,
        )
        return 2
    try:
        entries = [entry for entry in load_sources(path) if not args.only or entry.name in args.only]
        sources = [entry.build() for entry in entries]
    except SourcesFileError as exc:
        print(f"tradegraph sources: {exc}", file=sys.stderr)
        return 2
    if not sources:
        print(f"tradegraph sources: no source to run in {path} (--only {args.only})", file=sys.stderr)
        return 2
    if not apply_service_priority("sources run", settings):
        return 2
    stop = stop_on_signals()
    config = PollerConfig(poll_interval_s=args.poll_seconds)
    with open_tick_bus(TickBusConfig.from_settings(settings)) as bus, open_service_state(settings) as state:
        freeze_start_up_heap()
        if args.no_loader:
            run_sources(
                sources,
                bus,
                None,
                state,
                stop,
                metrics_port=args.metrics_port,
                metrics_host=args.metrics_host,
                poller_config=config,
            )
        else:
            with open_table_store(TableStoreConfig.from_settings(settings)) as store:
                run_sources(
                    sources,
                    bus,
                    store,
                    state,
                    stop,
                    metrics_port=args.metrics_port,
                    metrics_host=args.metrics_host,
                    poller_config=config,
                )
    return 0


def add_sources_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``tradegraph sources`` and its actions to the CLI's subcommands."""
    sources = sub.add_parser(
        "sources",
        help="other real-time sources (REST, SOAP, FTP, SNS, ENTSO-E): kinds, list, run",
        description="Sources are configured in a TOML sources file (--file or TRADEGRAPH_SOURCES_FILE; "
        "docs/SOURCES.md). `run` polls each source into the bus (topic sources.<name>) and loads them into "
        "their tables (src_<name>, one partition per day), keeping each source's cursor across restarts.",
    )
    actions = sources.add_subparsers(dest="action", required=True, metavar="ACTION")
    kinds = actions.add_parser("kinds", help="the registered source kinds")
    kinds.set_defaults(handler=_cmd_kinds)
    listing = actions.add_parser("list", help="the configured sources, their topics, tables and cursors")
    listing.add_argument("--file", default=None, help="sources file (default: TRADEGRAPH_SOURCES_FILE)")
    listing.set_defaults(handler=_cmd_list)
    run = actions.add_parser("run", help="poll the sources and load them (until SIGTERM)")
    run.add_argument("--file", default=None, help="sources file (default: TRADEGRAPH_SOURCES_FILE)")
    run.add_argument("--only", nargs="*", default=[], metavar="NAME", help="run only these sources")
    run.add_argument("--no-loader", action="store_true", help="only poll (another process loads; Kafka)")
    run.add_argument(
        "--poll-seconds", type=float, default=5.0, help="wait between polls with nothing new (5)"
    )
    run.add_argument("--metrics-port", type=int, default=None, help="serve Prometheus metrics on this port")
    run.add_argument(
        "--metrics-host",
        default="127.0.0.1",
        help="address to serve the metrics on (default 127.0.0.1; 0.0.0.0 in a container)",
    )
    run.set_defaults(handler=_cmd_run)
