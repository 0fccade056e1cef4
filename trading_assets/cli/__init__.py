"""The ``tradegraph`` command line: the parser assembled from one module per command group, and ``main``."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from trading_assets.cli.archive import add_rehydrate_parser
from trading_assets.cli.bars import add_bars_parser
from trading_assets.cli.demo import add_demo_parser
from trading_assets.cli.executor import add_execute_parser, add_risk_parser
from trading_assets.cli.run import add_run_parser
from trading_assets.cli.services import add_load_parser, add_services_parser, add_stream_parser
from trading_assets.cli.settings import add_settings_parser
from trading_assets.cli.simulators import add_energy_sim_parser, add_exchange_sim_parser
from trading_assets.cli.sources import add_sources_parser
from trading_assets.cli.up import add_up_parser
from trading_assets.core.settings import Settings, SettingsError


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``tradegraph`` (exposed for tests and docs)."""
    parser = argparse.ArgumentParser(
        prog="tradegraph",
        description="Trading data platform: tick ingestion, asset graph, models and paper trading. "
        "Settings come from TRADEGRAPH_* environment variables (see `tradegraph settings`).",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    # The order of the subcommands is the order of `tradegraph --help`.
    add_demo_parser(sub)
    add_stream_parser(sub)
    add_load_parser(sub)
    add_run_parser(sub)
    add_exchange_sim_parser(sub)
    add_energy_sim_parser(sub)
    add_bars_parser(sub)
    add_services_parser(sub)
    add_execute_parser(sub)
    add_risk_parser(sub)
    add_sources_parser(sub)
    add_up_parser(sub)
    add_rehydrate_parser(sub)
    add_settings_parser(sub)
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
    from trading_assets.services import malloc_trim
    from trading_assets.services.memtrace import start_from_env

    # Long-running commands hand freed memory back every TRADEGRAPH_MALLOC_TRIM_S (10 s; 0: never).
    malloc_trim.start(args.command, settings.malloc_trim_s)
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
