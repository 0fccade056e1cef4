"""The simulated exchange as a real child process started through its CLI, and its send throughput."""

from __future__ import annotations

import base64
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

from testkit.exchange_sim import ExchangeSimProcess
from tests.trading_assets.services.exchange_sim.helpers import (
    all_history,
    binance_events,
    connect,
    ids_by_symbol,
    read_binance_trades,
    read_messages,
)

MODULE = [sys.executable, "-m", "trading_assets.services.exchange_sim"]
ROOT = Path(__file__).resolve().parents[4]
ALL_STREAMS = "btcusdt@trade/ethusdt@trade/solusdt@trade/adausdt@trade/xrpusdt@trade"


def test_cli_process_streams_exactly_max_trades_and_serves_rest_after(tmp_path: Path) -> None:
    # Arrange
    args = [
        "--symbols",
        "BTCUSDT,ETHUSDT",
        "--rate",
        "20000",
        "--max-trades",
        "4000",
        "--wait-for-clients",
        "1",
        "--start",
        "2025-01-01",
        "--seed",
        "11",
        "--ping-interval",
        "0",
    ]
    with ExchangeSimProcess(tmp_path, args) as sim:
        ws = connect(f"{sim.ws_url}/stream?streams=btcusdt@trade/ethusdt@trade")

        # Act
        events = read_binance_trades(ws, 4000)
        extra = read_messages(ws, quiet_s=0.5)
        ws.close()
        stats = requests.get(f"{sim.rest_url}/sim/stats", timeout=10).json()
        history = all_history(sim.rest_url, "ETHUSDT")

    # Assert
    assert sim.urls == {
        "ws_url": sim.ws_url,
        "rest_url": sim.rest_url,
        "finnhub_url": sim.ws_url + "/finnhub",
    }
    assert sim.ws_url.startswith("ws://127.0.0.1:") and sim.rest_url.startswith("http://127.0.0.1:")
    assert len(events) == 4000 and extra == []
    by_symbol = ids_by_symbol(events)
    assert sorted(by_symbol) == ["BTCUSDT", "ETHUSDT"]
    for symbol, ids in by_symbol.items():
        assert (
            ids == list(range(1, len(ids) + 1)) == list(range(1, stats["symbols"][symbol]["generated"] + 1))
        )
    assert stats["finished"] and stats["generated"] == 4000
    assert [t["id"] for t in history] == by_symbol["ETHUSDT"]
    assert events[0]["T"] >= 1_735_689_600_000
    assert "simulated exchange stopped" in sim.log_tail()


def test_cli_prints_one_json_line_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    # Arrange
    proc = subprocess.Popen(
        [*MODULE, "--rate", "100"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT, text=True
    )
    try:
        assert proc.stdout is not None
        urls = json.loads(proc.stdout.readline())

        # Act
        alive = requests.get(f"{urls['rest_url']}/api/v3/ping", timeout=10).json()
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=5)

    # Assert
    assert set(urls) == {"ws_url", "rest_url", "finnhub_url"} and alive == {}
    assert urls["finnhub_url"] == urls["ws_url"] + "/finnhub"
    assert proc.returncode == 0 and out == ""
    assert "simulated exchange stopped" in err


def test_cli_refuses_a_bad_setting_naming_it(tmp_path: Path) -> None:
    result = subprocess.run(
        [*MODULE, "--rate", "-5"], capture_output=True, text=True, cwd=ROOT, timeout=30, check=False
    )

    assert result.returncode == 2
    assert "rate" in result.stderr and result.stdout == ""


def _count_raw_trades(ws_url: str, streams: str, trades: int, deadline_s: float) -> tuple[int, float]:
    """Trades received by a raw socket that only counts trade events (so the reader is not the limit)."""
    host, port = ws_url.removeprefix("ws://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=10)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        f"GET /stream?streams={streams} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    buffer = b""
    while b"\r\n\r\n" not in buffer:
        buffer += sock.recv(4096)
    marker = b'"e":"trade"'
    tail = buffer.split(b"\r\n\r\n", 1)[1]
    got = tail.count(marker)
    started = time.perf_counter()
    try:
        while got < trades and time.perf_counter() - started < deadline_s:
            chunk = sock.recv(1 << 20)
            if not chunk:
                break
            got += (tail[-(len(marker) - 1) :] + chunk).count(marker)
            tail = chunk
    finally:
        sock.close()
    return got, time.perf_counter() - started


def test_simulator_sends_600k_binance_trades_flat_out_without_losing_one(tmp_path: Path) -> None:
    # The rate itself is a benchmark figure (bench/exchange_sim.py, docs/BENCHMARKS.md), not a test.
    # Arrange: flat out (rate far above capacity), the clock held until we subscribe.
    args = ["--rate", "1000000", "--max-trades", "600000", "--wait-for-clients", "1", "--ping-interval", "0"]
    with ExchangeSimProcess(tmp_path, args) as sim:
        # Act
        got, seconds = _count_raw_trades(sim.ws_url, ALL_STREAMS, 600_000, deadline_s=30)

    # Assert
    assert got == 600_000, f"{got:,} trades in {seconds:.1f} s"


def test_websocket_client_reads_100k_one_trade_frames_in_order(tmp_path: Path) -> None:
    # The frame rate is a benchmark figure (bench/exchange_sim.py), not a test.
    # Arrange
    args = ["--rate", "1000000", "--max-trades", "100000", "--wait-for-clients", "1", "--ping-interval", "0"]
    with ExchangeSimProcess(tmp_path, args) as sim:
        # websocket-client's pure-Python UTF-8 check takes most of its time; connectors turn it off.
        ws = connect(f"{sim.ws_url}/stream?streams={ALL_STREAMS}", skip_utf8_validation=True)

        # Act
        messages = read_messages(ws, count=100_000, deadline_s=60)
        ws.close()

    # Assert: every trade in its own frame, consecutive ids per symbol.
    events = binance_events(messages)
    assert len(messages) == len(events) == 100_000
    for ids in ids_by_symbol(events).values():
        assert ids == list(range(1, len(ids) + 1))
