"""``python -m trading_assets.services.energy_sim``: the simulated ENTSO-E API until interrupted."""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import sys
import threading

from trading_assets.services.energy_sim.entsoe_api import EntsoeApiServer, ReplayClock
from trading_assets.services.energy_sim.shapes import MarketShape


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, serve until Ctrl-C."""
    parser = argparse.ArgumentParser(
        prog="python -m trading_assets.services.energy_sim",
        description="Simulated ENTSO-E Transparency Platform API on 127.0.0.1 (prices, load, forecasts).",
    )
    parser.add_argument("--port", type=int, default=8780, help="port (default 8780; 0 picks a free one)")
    parser.add_argument("--seed", type=int, default=7, help="seed of the simulated market (default 7)")
    parser.add_argument(
        "--token-env",
        default="ENTSOE_API_KEY",
        help="environment variable holding the security token clients must send (default ENTSOE_API_KEY)",
    )
    parser.add_argument("--start", default=None, help="simulated start time, ISO (default: now)")
    parser.add_argument(
        "--speed", type=float, default=1.0, help="simulated seconds per wall second (default 1)"
    )
    parser.add_argument(
        "--rate-limit", type=int, default=None, help="requests per minute before 429 (default none)"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log each request")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    token = os.environ.get(args.token_env)
    if not token:
        parser.error(f"set {args.token_env} to the security token clients must send")
    start = (
        dt.datetime.fromisoformat(args.start).timestamp()
        if args.start
        else dt.datetime.now(dt.UTC).timestamp()
    )
    server = EntsoeApiServer(
        token=token,
        shape=MarketShape(seed=args.seed),
        clock=ReplayClock(start, args.speed),
        port=args.port,
        rate_limit=args.rate_limit,
    )
    with server:
        logging.getLogger(__name__).info("ENTSO-E simulator on %s (Ctrl-C stops)", server.url)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
