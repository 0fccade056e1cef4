"""The simulators as commands: ``tradegraph exchange-sim`` and ``tradegraph energy-sim``."""

from __future__ import annotations

import argparse

from trading_assets.core.settings import Settings


def _cmd_exchange_sim(args: argparse.Namespace, settings: Settings) -> int:
    from trading_assets.services.exchange_sim.cli import run

    return run(args)


def _cmd_energy_sim(args: argparse.Namespace, settings: Settings) -> int:
    from trading_assets.services.energy_sim.cli import run

    return run(args)


def add_exchange_sim_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``tradegraph exchange-sim`` to the CLI's subcommands."""
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


def add_energy_sim_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``tradegraph energy-sim`` to the CLI's subcommands."""
    from trading_assets.services.energy_sim.cli import add_arguments as add_energy_arguments

    energy = sub.add_parser(
        "energy-sim",
        help="the simulated ENTSO-E API (prices, load, forecasts) and intraday trades FTP drop on 127.0.0.1",
    )
    add_energy_arguments(energy)
    energy.set_defaults(handler=_cmd_energy_sim)
