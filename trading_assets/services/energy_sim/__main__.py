"""``python -m trading_assets.services.energy_sim``: the simulated ENTSO-E API until interrupted."""

from __future__ import annotations

import argparse
import logging
import sys

from trading_assets.services.energy_sim.cli import add_arguments, run


def main() -> int:
    """Parse arguments, log to stderr, serve."""
    parser = argparse.ArgumentParser(
        prog="python -m trading_assets.services.energy_sim",
        description="Simulated ENTSO-E Transparency Platform API on 127.0.0.1 (prices, load, forecasts).",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log each request")
    add_arguments(parser)
    args = parser.parse_args()
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
