"""Command line of the energy simulator: ``tradegraph energy-sim`` and ``python -m trading_assets.services.energy_sim``."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import sys
import threading

from trading_assets.services.energy_sim.entsoe_api import EntsoeApiServer, ReplayClock
from trading_assets.services.energy_sim.shapes import MarketShape

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the energy simulator's options to ``parser``."""
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8780, help="port (default 8780; 0 picks a free one)")
    parser.add_argument("--seed", type=int, default=7, help="seed of the simulated market (default 7)")
    parser.add_argument(
        "--token-env",
        default="ENTSOE_API_KEY",
        help="environment variable holding the security token clients must send (default ENTSOE_API_KEY)",
    )
    parser.add_argument("--start", default=None, help="simulated start time, ISO with offset (default: now)")
    parser.add_argument(
        "--speed", type=float, default=1.0, help="simulated seconds per wall second (default 1)"
    )
    parser.add_argument(
        "--rate-limit", type=int, default=None, help="requests per minute before 429 (default: no limit)"
    )
    parser.add_argument(
        "--price-resolution",
        type=int,
        choices=(15, 30, 60),
        default=60,
        help="day-ahead price resolution, minutes",
    )


def run(args: argparse.Namespace, stop: threading.Event | None = None) -> int:
    """Serve until interrupted (or ``stop`` is set); prints the API's URL as one JSON line first."""
    token = os.environ.get(args.token_env)
    if not token:
        log.error("energy-sim: set %s to the security token clients must send", args.token_env)
        return 2
    try:
        start = (
            dt.datetime.fromisoformat(args.start).timestamp()
            if args.start
            else dt.datetime.now(dt.UTC).timestamp()
        )
        server = EntsoeApiServer(
            token=token,
            shape=MarketShape(seed=args.seed),
            clock=ReplayClock(start, args.speed),
            host=args.host,
            port=args.port,
            rate_limit=args.rate_limit,
            price_resolution_minutes=args.price_resolution,
        )
    except (ValueError, OSError) as exc:
        log.error("energy-sim: cannot start: %s", exc)
        return 1
    with server:
        sys.stdout.write(json.dumps({"entsoe_url": server.url, "token_env": args.token_env}) + "\n")
        sys.stdout.flush()
        try:
            (stop or threading.Event()).wait()
        except KeyboardInterrupt:
            log.info("energy-sim: stopping")
    return 0
