"""Command line of the energy simulator: ``tradegraph energy-sim`` and ``python -m trading_assets.services.energy_sim``."""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import importlib.util
import json
import logging
import os
import sys
import tempfile
import threading
from pathlib import Path

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
    ftp = parser.add_argument_group(
        "FTP drop", "the exchange's intraday trades CSV files, dropped on an FTP server on the same clock"
    )
    ftp.add_argument("--no-ftp", action="store_true", help="serve only the ENTSO-E API, no FTP drop")
    ftp.add_argument("--ftp-port", type=int, default=2121, help="FTP port (default 2121; 0 picks a free one)")
    ftp.add_argument("--ftp-user", default="energy", help="FTP user (default energy)")
    ftp.add_argument(
        "--ftp-password-env",
        default="ENERGY_FTP_PASSWORD",
        help="environment variable holding the FTP password (default ENERGY_FTP_PASSWORD)",
    )
    ftp.add_argument(
        "--ftp-dir", default=None, help="drop directory (default: a temporary one, removed at exit)"
    )
    ftp.add_argument(
        "--history-days",
        type=int,
        default=7,
        help="delivery days before the start day whose trades are in the drop at once (default 7)",
    )
    ftp.add_argument(
        "--trades-per-day", type=int, default=20_000, help="intraday trades per delivery day (default 20000)"
    )
    ftp.add_argument(
        "--drop-window-s", type=int, default=900, help="trade time per file, seconds (default 900)"
    )
    ftp.add_argument("--trades-area", default="DE", help="area code in the trades files (default DE)")


def run(args: argparse.Namespace, stop: threading.Event | None = None) -> int:
    """Serve until interrupted (or ``stop`` is set); prints the URLs as one JSON line first."""
    token = os.environ.get(args.token_env)
    if not token:
        log.error("energy-sim: set %s to the security token clients must send", args.token_env)
        return 2
    password = None
    if not args.no_ftp:
        if importlib.util.find_spec("pyftpdlib") is None:
            log.error(
                "energy-sim: the FTP drop needs pyftpdlib, which comes with the 'ml' extra "
                "(bash scripts/setup.sh, or pip install 'tradegraph[ml]'); or pass --no-ftp"
            )
            return 2
        password = os.environ.get(args.ftp_password_env)
        if not password:
            log.error("energy-sim: set %s to the FTP password (or pass --no-ftp)", args.ftp_password_env)
            return 2
    try:
        start = (
            dt.datetime.fromisoformat(args.start).timestamp()
            if args.start
            else dt.datetime.now(dt.UTC).timestamp()
        )
        clock = ReplayClock(start, args.speed)
        server = EntsoeApiServer(
            token=token,
            shape=MarketShape(seed=args.seed),
            clock=clock,
            host=args.host,
            port=args.port,
            rate_limit=args.rate_limit,
            price_resolution_minutes=args.price_resolution,
        )
    except (ValueError, OSError) as exc:
        log.error("energy-sim: cannot start: %s", exc)
        return 1
    stop = stop or threading.Event()
    with contextlib.ExitStack() as stack:
        stack.enter_context(server)
        announced: dict[str, object] = {"entsoe_url": server.url, "token_env": args.token_env}
        if password is not None:
            try:
                announced.update(_start_ftp(args, password, clock, stack, stop))
            except (ValueError, OSError) as exc:
                log.error("energy-sim: cannot start the FTP drop: %s", exc)
                return 1
        sys.stdout.write(json.dumps(announced) + "\n")
        sys.stdout.flush()
        try:
            stop.wait()
        except KeyboardInterrupt:
            log.info("energy-sim: stopping")
        stop.set()
    return 0


def _start_ftp(
    args: argparse.Namespace,
    password: str,
    clock: ReplayClock,
    stack: contextlib.ExitStack,
    stop: threading.Event,
) -> dict[str, object]:
    """The FTP server and the clocked drop of intraday trades; what to announce about them."""
    from trading_assets.services.energy_sim.ftp_server import FtpDropServer
    from trading_assets.services.energy_sim.live_drop import ClockedDrop

    if args.history_days < 0:
        raise ValueError(f"--history-days must be >= 0, got {args.history_days}")
    if args.ftp_dir:
        root = Path(args.ftp_dir)
    else:
        root = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="tradegraph-energy-ftp-")))
    first_day = dt.datetime.fromtimestamp(clock.start, dt.UTC).date() - dt.timedelta(days=args.history_days)
    drop = ClockedDrop(
        root,
        clock=clock,
        first_day=first_day,
        seed=args.seed,
        area=args.trades_area,
        trades_per_day=args.trades_per_day,
        window_s=args.drop_window_s,
    )
    drop.publish_due()  # the history is there before anyone connects
    ftp = stack.enter_context(
        FtpDropServer(root, host=args.host, port=args.ftp_port, user=args.ftp_user, password=password)
    )
    thread = threading.Thread(target=drop.run, args=(stop,), name="energy-ftp-drop", daemon=True)
    thread.start()
    stack.callback(thread.join, 10)
    stack.callback(stop.set)
    log.info("energy-sim: FTP drop of %s on 127.0.0.1:%d (%d files so far)", root, ftp.port, drop.files)
    return {
        "ftp_url": f"ftp://{ftp.host}:{ftp.port}",
        "ftp_user": args.ftp_user,
        "ftp_password_env": args.ftp_password_env,
        "ftp_dir": str(root),
        "first_trades_day": first_day.isoformat(),
    }
