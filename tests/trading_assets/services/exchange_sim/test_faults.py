"""Every fault the simulated exchange injects is visible on the wire and counted exactly in /sim/stats."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable
from itertools import pairwise

import pytest
import requests
import websocket

from tests.trading_assets.services.exchange_sim.helpers import (
    all_history,
    binance_events,
    connect,
    ids_by_symbol,
    read_messages,
    wait_for,
)
from trading_assets.services.exchange_sim import ExchangeSim
from trading_assets.services.exchange_sim.config import DEFAULT_SYMBOLS

ALL_STREAMS = "/".join(f"{s.lower()}@trade" for s in DEFAULT_SYMBOLS)
LOST = (websocket.WebSocketConnectionClosedException, ConnectionError)


def run_to_the_end(sim: ExchangeSim, path: str = f"/stream?streams={ALL_STREAMS}") -> list[str]:
    """Every message of a bounded run, read by one connection that was there from the first trade."""
    ws = connect(f"{sim.ws_url}{path}")
    messages = read_messages(ws, quiet_s=0.7, deadline_s=30)
    ws.close()
    assert sim.stats()["finished"]
    return messages


def read_until_lost(
    ws: websocket.WebSocket, deadline_s: float = 10.0
) -> tuple[list[int], BaseException | None]:
    """Opcodes of frames read until the connection is lost; the exception that ended it (None: deadline)."""
    opcodes: list[int] = []
    deadline = time.monotonic() + deadline_s
    ws.settimeout(0.5)
    while time.monotonic() < deadline:
        try:
            opcode, _ = ws.recv_data_frame(control_frame=True)
        except websocket.WebSocketTimeoutException:
            continue
        except LOST as exc:
            return opcodes, exc
        opcodes.append(opcode)
    return opcodes, None


def test_skipped_trades_are_missing_on_the_websocket_but_served_by_rest(
    start_sim: Callable[..., ExchangeSim],
) -> None:
    # Arrange
    sim = start_sim(rate=50_000, max_trades=5_000, wait_for_subscribers=1, faults={"p_skip": 0.1})

    # Act
    received = ids_by_symbol(binance_events(run_to_the_end(sim)))

    # Assert
    stats = sim.stats()
    assert 0 < stats["faults"]["skipped"] == 5_000 - stats["emitted"]
    for symbol, counts in stats["symbols"].items():
        rest_ids = [t["id"] for t in all_history(sim.rest_url, symbol)]
        assert rest_ids == list(range(1, counts["generated"] + 1))
        seen = received.get(symbol, [])
        assert seen == sorted(seen) and len(set(seen)) == len(seen)
        assert counts["skipped"] == len(set(rest_ids) - set(seen))
        assert counts["emitted"] == len(seen)


def test_duplicated_trades_arrive_twice_in_a_row_and_are_counted(
    start_sim: Callable[..., ExchangeSim],
) -> None:
    # Arrange
    sim = start_sim(rate=50_000, max_trades=5_000, wait_for_subscribers=1, faults={"p_duplicate": 0.05})

    # Act
    messages = run_to_the_end(sim)

    # Assert: the duplicate is the identical frame, right after the original.
    repeats = sum(1 for before, after in pairwise(messages) if before == after)
    stats = sim.stats()
    assert 0 < repeats == stats["faults"]["duplicated"] == len(messages) - 5_000
    for symbol, ids in ids_by_symbol(binance_events(messages)).items():
        assert sorted(set(ids)) == list(range(1, stats["symbols"][symbol]["generated"] + 1))
        assert len(ids) - len(set(ids)) == stats["symbols"][symbol]["duplicated"]


def test_reordered_trades_are_swapped_with_the_next_of_their_symbol(
    start_sim: Callable[..., ExchangeSim],
) -> None:
    # Arrange
    sim = start_sim(rate=50_000, max_trades=5_000, wait_for_subscribers=1, faults={"p_reorder": 0.05})

    # Act
    by_symbol = ids_by_symbol(binance_events(run_to_the_end(sim)))

    # Assert: each swap is exactly one descent; nothing lost or doubled.
    stats = sim.stats()
    assert stats["faults"]["reordered"] > 0
    for symbol, ids in by_symbol.items():
        descents = sum(1 for a, b in pairwise(ids) if b < a)
        assert descents == stats["symbols"][symbol]["reordered"]
        assert sorted(ids) == list(range(1, stats["symbols"][symbol]["generated"] + 1))


def test_garbage_frames_of_each_kind_are_counted(start_sim: Callable[..., ExchangeSim]) -> None:
    # Arrange
    sim = start_sim(rate=50_000, max_trades=5_000, wait_for_subscribers=1, faults={"p_garbage": 0.02})

    # Act
    messages = run_to_the_end(
        sim, "/ws/btcusdt@trade/ethusdt@trade/solusdt@trade/adausdt@trade/xrpusdt@trade"
    )

    # Assert
    kinds: Counter[str] = Counter()
    trades = 0
    for message in messages:
        try:
            parsed = json.loads(message)
        except json.JSONDecodeError:
            kinds["truncated_json" if message.startswith("{") else "non_json"] += 1
            continue
        if {"t", "p", "q", "T"} <= parsed.keys():
            trades += 1
        else:
            kinds["wrong_fields"] += 1
    faults = sim.stats()["faults"]
    assert trades == 5_000
    assert dict(kinds) == {k: v for k, v in faults["garbage"].items() if v}
    assert sum(kinds.values()) == faults["garbage_total"] > 0


def test_garbage_reaches_finnhub_clients_too(start_sim: Callable[..., ExchangeSim]) -> None:
    # Arrange
    sim = start_sim(
        rate=50_000,
        max_trades=3_000,
        wait_for_subscribers=1,
        symbols=("BTCUSDT",),
        faults={"p_garbage": 0.02},
    )
    ws = connect(f"{sim.finnhub_url}?token=t")

    # Act
    ws.send(json.dumps({"type": "subscribe", "symbol": "BINANCE:BTCUSDT"}))
    messages = read_messages(ws, quiet_s=0.7)
    ws.close()

    # Assert
    good, bad = 0, 0
    for message in messages:
        try:
            data = json.loads(message)["data"]
            good += sum(1 for t in data if {"p", "s", "t", "v"} <= t.keys())
            bad += sum(1 for t in data if not {"p", "s", "t", "v"} <= t.keys())
        except (json.JSONDecodeError, KeyError, TypeError):
            bad += 1
    assert good == 3_000
    assert bad == sim.stats()["faults"]["garbage_total"] > 0


def test_drop_every_aborts_connections_without_a_close_frame(start_sim: Callable[..., ExchangeSim]) -> None:
    # Arrange
    sim = start_sim(rate=2_000, faults={"drop_every_s": 0.5})
    ws = connect(f"{sim.ws_url}/stream?streams=btcusdt@trade")

    # Act
    opcodes, ended_by = read_until_lost(ws)

    # Assert
    assert isinstance(ended_by, LOST)
    assert websocket.ABNF.OPCODE_CLOSE not in opcodes and websocket.ABNF.OPCODE_TEXT in opcodes
    assert wait_for(lambda: sim.stats()["connections"]["open"]["binance_combined"] == 0, 5)
    faults = sim.stats()["faults"]
    assert faults["dropped_connections"] == 1 and faults["drop_events"] >= 1


def test_drop_probability_one_per_second_drops_within_two_seconds(
    start_sim: Callable[..., ExchangeSim],
) -> None:
    sim = start_sim(rate=2_000, faults={"p_drop_per_s": 1.0})
    ws = connect(f"{sim.finnhub_url}?token=t")

    _, ended_by = read_until_lost(ws, deadline_s=3)

    assert isinstance(ended_by, LOST)
    assert sim.stats()["faults"]["dropped_connections"] == 1


def test_drop_connections_endpoint_drops_every_websocket_now(start_sim: Callable[..., ExchangeSim]) -> None:
    # Arrange
    sim = start_sim(rate=2_000)
    clients = [connect(f"{sim.ws_url}/ws/btcusdt@trade"), connect(f"{sim.finnhub_url}?token=t")]
    assert wait_for(lambda: sum(sim.stats()["connections"]["open"].values()) == 2, 5)

    # Act
    answer = requests.post(f"{sim.rest_url}/sim/drop-connections", timeout=10).json()
    endings = [read_until_lost(ws, deadline_s=5)[1] for ws in clients]

    # Assert
    assert answer == {"dropped": 2}
    assert all(isinstance(ended_by, LOST) for ended_by in endings)
    faults = sim.stats()["faults"]
    assert (faults["drop_events"], faults["dropped_connections"]) == (1, 2)


def test_server_pings_are_answered_by_websocket_client_and_counted(
    start_sim: Callable[..., ExchangeSim],
) -> None:
    # Arrange
    sim = start_sim(faults={"ping_interval_s": 0.2})
    ws = connect(f"{sim.ws_url}/ws")
    ws.settimeout(3)

    # Act: websocket-client answers each ping with a pong as it reads it.
    pings = [ws.recv_data_frame(control_frame=True)[0] for _ in range(3)]
    sim.set_faults(ping_interval_s=None)
    ws.settimeout(0.5)
    for _ in range(100):
        try:
            pings.append(ws.recv_data_frame(control_frame=True)[0])
        except websocket.WebSocketTimeoutException:
            break
    answered = wait_for(lambda: sim.stats()["connections"]["pongs"] == len(pings), 5)
    ws.close()

    # Assert
    assert set(pings) == {websocket.ABNF.OPCODE_PING}
    assert answered and sim.stats()["faults"]["ws_pings"] == len(pings)


def test_faults_switched_on_at_run_time_take_effect(start_sim: Callable[..., ExchangeSim]) -> None:
    # Arrange: a clean stream first.
    sim = start_sim(rate=5_000, symbols=("BTCUSDT",))
    ws = connect(f"{sim.ws_url}/ws/btcusdt@trade")
    clean = read_messages(ws, count=200)

    # Act
    changed = requests.post(f"{sim.rest_url}/sim/faults", json={"p_duplicate": 1.0}, timeout=10)
    # Frames of batches made before the change may still be buffered (how many depends on load): skip
    # to the first doubled frame, within a bound.
    for _ in range(400):
        chunk = read_messages(ws, count=50)
        if any(x == y for x, y in pairwise(chunk)):
            break
    doubled = read_messages(ws, count=200)
    ws.close()

    # Assert
    assert changed.status_code == 200
    assert all(a != b for a, b in pairwise(clean))
    pairs = list(pairwise(doubled))
    assert sum(1 for a, b in pairs if a == b) >= 90  # every frame twice: every other pair is equal


@pytest.mark.parametrize("probability", [0.0, 1.0])
def test_extreme_skip_probabilities(start_sim: Callable[..., ExchangeSim], probability: float) -> None:
    sim = start_sim(rate=50_000, max_trades=1_000, wait_for_subscribers=1, faults={"p_skip": probability})

    messages = run_to_the_end(sim)

    assert len(messages) == (1_000 if probability == 0.0 else 0)
    assert sim.stats()["faults"]["skipped"] == int(1_000 * probability)
