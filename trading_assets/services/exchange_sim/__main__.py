"""``python -m trading_assets.services.exchange_sim``: the simulated exchange without the tradegraph CLI."""

from __future__ import annotations

import sys

from trading_assets.services.exchange_sim.cli import add_arguments, run
from trading_assets.services.sim_main import sim_main


def main() -> int:
    """Parse arguments, log to stderr, run."""
    return sim_main(
        prog="python -m trading_assets.services.exchange_sim",
        description="Simulated Binance/Finnhub exchange on 127.0.0.1.",
        verbose_help="log debug messages",
        add_arguments=add_arguments,
        run=run,
    )


if __name__ == "__main__":
    sys.exit(main())
