"""Clients for the simulated exchange tests: websocket readers with deadlines and a REST pager."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import requests
import websocket

from testkit.servers.base import wait_until

START_US = 1_735_689_600_000_000
"""2025-01-01T00:00:00Z: a fixed exchange start so trade times are predictable."""


def connect(url: str, timeout_s: float = 5.0, *, skip_utf8_validation: bool = False) -> websocket.WebSocket:
    """A websocket-client connection (the library the real connectors use)."""
    return websocket.create_connection(url, timeout=timeout_s, skip_utf8_validation=skip_utf8_validation)


def read_messages(
    ws: websocket.WebSocket, *, count: int | None = None, quiet_s: float = 0.5, deadline_s: float = 20.0
) -> list[str]:
    """Text messages until ``count`` were read, or nothing arrived for ``quiet_s``, or ``deadline_s``."""
    messages: list[str] = []
    deadline = time.monotonic() + deadline_s
    ws.settimeout(quiet_s)
    while (count is None or len(messages) < count) and time.monotonic() < deadline:
        try:
            messages.append(ws.recv())
        except websocket.WebSocketTimeoutException:
            break
    return messages


def binance_events(messages: list[str]) -> list[dict[str, Any]]:
    """The trade events in Binance messages, unwrapping combined-stream messages."""
    events = []
    for message in messages:
        parsed = json.loads(message)
        event = parsed["data"] if "stream" in parsed else parsed
        if event.get("e") == "trade":
            events.append(event)
    return events


def read_binance_trades(
    ws: websocket.WebSocket, count: int, deadline_s: float = 20.0
) -> list[dict[str, Any]]:
    """Exactly the next ``count`` trade events (fewer only if the deadline passes)."""
    events: list[dict[str, Any]] = []
    deadline = time.monotonic() + deadline_s
    ws.settimeout(2.0)
    while len(events) < count and time.monotonic() < deadline:
        try:
            events.extend(binance_events([ws.recv()]))
        except websocket.WebSocketTimeoutException:
            continue
    return events


def ids_by_symbol(events: list[dict[str, Any]]) -> dict[str, list[int]]:
    """Trade ids per symbol in arrival order."""
    result: dict[str, list[int]] = {}
    for event in events:
        result.setdefault(event["s"], []).append(event["t"])
    return result


def all_history(rest_url: str, symbol: str, page: int = 1000, max_pages: int = 1000) -> list[dict[str, Any]]:
    """Every trade of ``symbol`` from REST, paging ``historicalTrades`` by ``fromId`` from 1."""
    trades: list[dict[str, Any]] = []
    from_id = 1
    for _ in range(max_pages):
        response = requests.get(
            f"{rest_url}/api/v3/historicalTrades",
            params={"symbol": symbol, "fromId": from_id, "limit": page},
            timeout=10,
        )
        response.raise_for_status()
        batch = response.json()
        if not batch:
            break
        trades.extend(batch)
        from_id = batch[-1]["id"] + 1
    return trades


def wait_for(check: Callable[[], bool], timeout_s: float = 20.0, interval_s: float = 0.05) -> bool:
    """Poll ``check`` until true or ``timeout_s``; returns its last value."""
    return wait_until(check, timeout_s, interval_s)


def stats(rest_url: str) -> dict[str, Any]:
    """``GET /sim/stats``."""
    response = requests.get(f"{rest_url}/sim/stats", timeout=10)
    response.raise_for_status()
    return dict(response.json())
