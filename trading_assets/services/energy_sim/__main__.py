"""``python -m trading_assets.services.energy_sim``: the simulated ENTSO-E API until interrupted."""

from __future__ import annotations

import sys

from trading_assets.services.energy_sim.cli import add_arguments, run
from trading_assets.services.sim_main import sim_main


def main() -> int:
    """Parse arguments, log to stderr, serve."""
    return sim_main(
        prog="python -m trading_assets.services.energy_sim",
        description="Simulated ENTSO-E Transparency Platform API on 127.0.0.1 (prices, load, forecasts).",
        verbose_help="log each request",
        add_arguments=add_arguments,
        run=run,
    )


if __name__ == "__main__":
    sys.exit(main())
