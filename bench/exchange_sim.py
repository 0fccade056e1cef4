"""Simulated exchange throughput, with the simulator as a real child process (its own core).

Three runs, each against a fresh simulator that holds its clock until the client has subscribed and
stops after a fixed number of trades (every loop here is bounded by trades and by a deadline):

1. Binance combined stream, all 5 symbols, one trade per frame, read by ONE websocket-client
   connection that parses every frame with orjson (what a real connector does), with
   ``skip_utf8_validation=True`` (websocket-client otherwise checks every text frame with a pure-Python
   UTF-8 automaton, which takes about 3/4 of its time; exchange frames are ASCII JSON anyway);
1b. the same with websocket-client's default UTF-8 validation, on a quarter of the trades;
2. Finnhub, all 5 symbols, many trades per frame, the same kind of reader (UTF-8 check skipped);
3. Binance again, read by a raw socket that only counts trade events: the reader is then not the
   bottleneck, so this is what the simulator can SEND.

Prints the figures, then one JSON line (the last line) for docs/BENCHMARKS.md.

    .venv/bin/python bench/exchange_sim.py [--trades 1000000] [--rate 1000000]
"""

from __future__ import annotations

import argparse
import base64
import json
import logging
import os
import socket
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import orjson
import websocket

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from testkit.exchange_sim import ExchangeSimProcess
from testkit.servers import install_cleanup_handlers
from trading_assets.services.exchange_sim.config import DEFAULT_SYMBOLS

STREAMS = "/".join(f"{s.lower()}@trade" for s in DEFAULT_SYMBOLS)
DEADLINE_S = 120.0


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def sim_process(workdir: Path, trades: int, rate: float) -> ExchangeSimProcess:
    args = [
        "--rate",
        str(rate),
        "--max-trades",
        str(trades),
        "--wait-for-clients",
        "1",
        "--ping-interval",
        "0",
        "--finnhub-ping-interval",
        "0",
    ]
    return ExchangeSimProcess(workdir, args)  # started by the `with` block


def read_binance(sim: ExchangeSimProcess, trades: int, skip_utf8: bool = True) -> tuple[int, int, float]:
    """(frames, trades, seconds) read by websocket-client from the combined stream, parsing each frame."""
    ws = websocket.create_connection(
        f"{sim.ws_url}/stream?streams={STREAMS}", timeout=10, skip_utf8_validation=skip_utf8
    )
    frames = got = 0
    try:
        first = ws.recv()
        started = time.perf_counter()
        orjson.loads(first)
        frames = got = 1
        deadline = started + DEADLINE_S
        while got < trades and time.perf_counter() < deadline:
            message = orjson.loads(ws.recv())
            frames += 1
            got += 1 if "data" in message else 0
        return frames, got, time.perf_counter() - started
    finally:
        ws.close()


def read_finnhub(sim: ExchangeSimProcess, trades: int) -> tuple[int, int, float]:
    """(frames, trades, seconds) read by websocket-client from the Finnhub websocket."""
    ws = websocket.create_connection(f"{sim.finnhub_url}?token=bench", timeout=10, skip_utf8_validation=True)
    frames = got = 0
    try:
        for symbol in DEFAULT_SYMBOLS:
            ws.send(json.dumps({"type": "subscribe", "symbol": f"BINANCE:{symbol}"}))
        started = 0.0
        deadline = time.perf_counter() + DEADLINE_S
        while got < trades and time.perf_counter() < deadline:
            message = orjson.loads(ws.recv())
            if not started:
                started = time.perf_counter()
            frames += 1
            got += len(message.get("data", ()))
        return frames, got, time.perf_counter() - started
    finally:
        ws.close()


def read_raw(sim: ExchangeSimProcess, trades: int) -> tuple[int, float]:
    """(trades, seconds) counted by a raw socket that only counts ``"e":"trade"`` in the byte stream."""
    address = urlsplit(sim.ws_url)
    sock = socket.create_connection((address.hostname, address.port), timeout=10)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        f"GET /stream?streams={STREAMS} HTTP/1.1\r\nHost: {address.netloc}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    buffer = b""
    while b"\r\n\r\n" not in buffer:
        buffer += sock.recv(4096)
    tail = buffer.split(b"\r\n\r\n", 1)[1]
    marker = b'"e":"trade"'
    got = tail.count(marker)
    started = time.perf_counter()
    deadline = started + DEADLINE_S
    try:
        while got < trades and time.perf_counter() < deadline:
            chunk = sock.recv(1 << 20)
            if not chunk:
                break
            # Count across chunk borders: keep the last len(marker)-1 bytes of the previous chunk.
            joined = tail[-(len(marker) - 1) :] + chunk
            got += joined.count(marker)
            tail = chunk
        return got, time.perf_counter() - started
    finally:
        sock.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trades", type=int, default=1_000_000, help="trades per run (default 1,000,000)")
    parser.add_argument(
        "--rate",
        type=float,
        default=1_000_000.0,
        help="simulator rate, trades/s; above what it can send means flat out (default 1e6)",
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    install_cleanup_handlers()
    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="bench-exchange-sim-") as tmp:
        with sim_process(Path(tmp) / "binance", args.trades, args.rate) as sim:
            cpu0 = cpu_seconds(sim.pid or 0)
            frames, got, seconds = read_binance(sim, args.trades)
            cpu = cpu_seconds(sim.pid or 0) - cpu0
        print(
            f"binance  websocket-client: {got:,} trades in {frames:,} frames in {seconds:.2f} s = "
            f"{frames / seconds:,.0f} frames/s, {got / seconds:,.0f} trades/s (sim CPU {cpu / seconds:.0%})"
        )
        results["sim_binance_trades_per_s"] = round(got / seconds)
        results["sim_binance_frames_per_s"] = round(frames / seconds)

        validated = max(args.trades // 4, 1)
        with sim_process(Path(tmp) / "binance-utf8", validated, args.rate) as sim:
            frames, got, seconds = read_binance(sim, validated, skip_utf8=False)
        print(
            f"binance  websocket-client, UTF-8 validated: {got:,} trades in {seconds:.2f} s = "
            f"{got / seconds:,.0f} trades/s"
        )
        results["sim_binance_utf8_validated_trades_per_s"] = round(got / seconds)

        with sim_process(Path(tmp) / "finnhub", args.trades, args.rate) as sim:
            cpu0 = cpu_seconds(sim.pid or 0)
            frames, got, seconds = read_finnhub(sim, args.trades)
            cpu = cpu_seconds(sim.pid or 0) - cpu0
        print(
            f"finnhub  websocket-client: {got:,} trades in {frames:,} frames in {seconds:.2f} s = "
            f"{frames / seconds:,.0f} frames/s, {got / seconds:,.0f} trades/s (sim CPU {cpu / seconds:.0%})"
        )
        results["sim_finnhub_trades_per_s"] = round(got / seconds)

        with sim_process(Path(tmp) / "raw", args.trades, args.rate) as sim:
            cpu0 = cpu_seconds(sim.pid or 0)
            got, seconds = read_raw(sim, args.trades)
            cpu = cpu_seconds(sim.pid or 0) - cpu0
        print(
            f"binance  raw-socket counter: {got:,} trades (one per frame) in {seconds:.2f} s = "
            f"{got / seconds:,.0f} trades/s sent (sim CPU {cpu / seconds:.0%})"
        )
        results["sim_binance_send_trades_per_s"] = round(got / seconds)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
