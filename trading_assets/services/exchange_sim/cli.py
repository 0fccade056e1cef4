"""Command line of the simulated exchange: ``tradegraph exchange-sim`` / ``python -m ...exchange_sim``.

On start it prints exactly one JSON line to stdout with the URLs, so a parent process can read the
ports: ``{"ws_url": "ws://127.0.0.1:P", "rest_url": "http://127.0.0.1:Q", "finnhub_url": ".../finnhub"}``.
Everything else goes to the log. SIGTERM and SIGINT stop it cleanly (exit code 0).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import logging
import signal
import sys
from pathlib import Path

from trading_assets.services.exchange_sim.config import DEFAULT_SYMBOLS, ExchangeSimConfig, FaultConfig
from trading_assets.services.exchange_sim.server import ExchangeSimServer

log = logging.getLogger(__name__)


def parse_start(text: str) -> int:
    """Microseconds since epoch of an ISO date or date-time; without a zone it is UTC."""
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"--start wants an ISO date or date-time, got {text!r}") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return int(moment.timestamp() * 1_000_000)


def _seconds_or_off(text: str) -> float | None:
    value = float(text)
    return None if value <= 0 else value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the simulated exchange's options to ``parser``."""
    net = parser.add_argument_group("addresses")
    net.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    net.add_argument("--ws-port", type=int, default=0, help="websocket port, 0 = a free port (default 0)")
    net.add_argument("--rest-port", type=int, default=0, help="REST port, 0 = a free port (default 0)")
    market = parser.add_argument_group("market")
    market.add_argument(
        "--symbols",
        nargs="+",
        default=list(DEFAULT_SYMBOLS),
        metavar="SYMBOL",
        help="symbols to simulate, space or comma separated (default: %(default)s)",
    )
    market.add_argument(
        "--rate",
        type=float,
        default=1000.0,
        help="trades per wall second over all symbols (replay: upper bound) (default 1000)",
    )
    market.add_argument(
        "--speed", type=float, default=1.0, help="exchange seconds per wall second, e.g. 3600 (default 1)"
    )
    market.add_argument(
        "--start",
        type=parse_start,
        default=None,
        help="exchange time at start, ISO date/time in UTC (default: now)",
    )
    market.add_argument("--max-trades", type=int, default=None, help="stop generating after N trades")
    market.add_argument(
        "--wait-for-clients",
        type=int,
        default=0,
        metavar="N",
        help="hold the clock until N websocket connections have subscribed (default 0)",
    )
    market.add_argument("--seed", type=int, default=7, help="seed of market and faults (default 7)")
    market.add_argument(
        "--replay",
        type=Path,
        default=None,
        metavar="FILE.csv",
        help="play a data.binance.vision trades CSV instead of the simulated market",
    )
    market.add_argument(
        "--replay-symbol", default="BTCUSDT", help="symbol of the replayed trades (default BTCUSDT)"
    )
    market.add_argument(
        "--history-per-symbol",
        type=int,
        default=2_000_000,
        help="trades kept per symbol for REST (default 2,000,000)",
    )
    market.add_argument(
        "--finnhub-token", default=None, help="token Finnhub clients must send (default: any non-empty token)"
    )
    market.add_argument(
        "--finnhub-trades-per-frame", type=int, default=20, help="trades per Finnhub message (default 20)"
    )
    faults = parser.add_argument_group("faults")
    faults.add_argument(
        "--drop-every",
        type=_seconds_or_off,
        default=None,
        metavar="SECONDS",
        help="abort every websocket every N wall seconds",
    )
    faults.add_argument(
        "--p-drop", type=float, default=0.0, help="probability per second of aborting every websocket"
    )
    faults.add_argument(
        "--p-duplicate", type=float, default=0.0, help="probability a trade frame is sent twice"
    )
    faults.add_argument(
        "--p-reorder",
        type=float,
        default=0.0,
        help="probability a trade swaps with the next trade of its symbol",
    )
    faults.add_argument(
        "--p-skip",
        type=float,
        default=0.0,
        help="probability a trade is not sent on the websockets (still in REST)",
    )
    faults.add_argument(
        "--p-garbage", type=float, default=0.0, help="probability per trade of a garbage frame after it"
    )
    faults.add_argument(
        "--ping-interval",
        type=_seconds_or_off,
        default=20.0,
        metavar="SECONDS",
        help="seconds between websocket pings, 0 = none (default 20)",
    )
    faults.add_argument(
        "--finnhub-ping-interval",
        type=_seconds_or_off,
        default=15.0,
        metavar="SECONDS",
        help='seconds between Finnhub {"type":"ping"} messages, 0 = none (default 15)',
    )


def config_from_args(args: argparse.Namespace) -> ExchangeSimConfig:
    """The configuration the parsed arguments describe; bad values raise ``ValueError``."""
    symbols = tuple(part.strip().upper() for item in args.symbols for part in item.split(",") if part.strip())
    return ExchangeSimConfig(
        host=args.host,
        ws_port=args.ws_port,
        rest_port=args.rest_port,
        symbols=symbols,
        rate=args.rate,
        speed=args.speed,
        start_us=args.start,
        max_trades=args.max_trades,
        seed=args.seed,
        wait_for_subscribers=args.wait_for_clients,
        replay_path=args.replay,
        replay_symbol=args.replay_symbol.upper(),
        history_per_symbol=args.history_per_symbol,
        finnhub_token=args.finnhub_token,
        finnhub_trades_per_frame=args.finnhub_trades_per_frame,
        faults=FaultConfig(
            drop_every_s=args.drop_every,
            p_drop_per_s=args.p_drop,
            p_duplicate=args.p_duplicate,
            p_reorder=args.p_reorder,
            p_skip=args.p_skip,
            p_garbage=args.p_garbage,
            ping_interval_s=args.ping_interval,
            finnhub_ping_interval_s=args.finnhub_ping_interval,
        ),
    )


async def serve(config: ExchangeSimConfig) -> None:
    """Run the exchange until SIGTERM or SIGINT."""
    server = ExchangeSimServer(config)
    await server.start()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, server.request_stop)
    # The one line a parent process reads to learn the ports (the only stdout output).
    sys.stdout.write(json.dumps(server.urls()) + "\n")
    sys.stdout.flush()
    try:
        await server.wait_stopped()
    finally:
        await server.stop()


def run(args: argparse.Namespace) -> int:
    """Run the simulated exchange from parsed arguments; returns the exit code."""
    try:
        config = config_from_args(args)
    except ValueError as exc:
        log.error("exchange-sim: bad setting: %s", exc)
        return 2
    try:
        asyncio.run(serve(config))
    except OSError as exc:
        log.error("exchange-sim: cannot listen: %s", exc)
        return 1
    except ValueError as exc:
        log.error("exchange-sim: cannot start: %s", exc)
        return 2
    return 0
