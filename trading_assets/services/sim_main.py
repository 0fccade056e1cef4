"""The ``python -m`` entry point the simulators share (``energy_sim``, ``exchange_sim``): parse, log, run."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable


def sim_main(
    *,
    prog: str,
    description: str,
    verbose_help: str,
    add_arguments: Callable[[argparse.ArgumentParser], None],
    run: Callable[[argparse.Namespace], int],
) -> int:
    """Parse the command line (``-v`` and the simulator's ``add_arguments``), log to stderr, then ``run``."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("-v", "--verbose", action="store_true", help=verbose_help)
    add_arguments(parser)
    args = parser.parse_args()
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    return run(args)
