"""The Finnhub trades websocket of the simulated exchange, read with websocket-client."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
import websocket

from tests.trading_assets.services.exchange_sim.helpers import all_history, connect, read_messages
from trading_assets.services.exchange_sim import ExchangeSim


def test_missing_token_is_refused_with_401(start_sim: Callable[..., ExchangeSim]) -> None:
    sim = start_sim()

    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        connect(sim.finnhub_url)

    assert refused.value.status_code == 401


def test_wrong_token_is_refused_when_a_token_is_configured(start_sim: Callable[..., ExchangeSim]) -> None:
    # Arrange
    sim = start_sim(finnhub_token="secret")

    # Act
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        connect(f"{sim.finnhub_url}?token=guess")
    accepted = connect(f"{sim.finnhub_url}?token=secret")
    accepted.close()

    # Assert
    assert refused.value.status_code == 401


def test_subscribed_symbol_arrives_in_multi_trade_frames_equal_to_the_history(
    start_sim: Callable[..., ExchangeSim],
) -> None:
    # Arrange: BTCUSDT gets about 20 trades per 5 ms batch at this rate.
    sim = start_sim(rate=20_000, max_trades=5_000, wait_for_subscribers=1)
    ws = connect(f"{sim.finnhub_url}?token=t")

    # Act
    ws.send(json.dumps({"type": "subscribe", "symbol": "BINANCE:BTCUSDT"}))
    messages = [json.loads(m) for m in read_messages(ws, quiet_s=0.7)]
    ws.close()

    # Assert: the same trades as REST, field for field, several per frame, at most 20.
    assert {m["type"] for m in messages} == {"trade"}
    trades = [t for m in messages for t in m["data"]]
    history = all_history(sim.rest_url, "BTCUSDT")
    assert len(trades) == len(history) == sim.stats()["symbols"]["BTCUSDT"]["generated"]
    assert [t["p"] for t in trades] == [float(h["price"]) for h in history]
    assert [t["v"] for t in trades] == [float(h["qty"]) for h in history]
    assert [t["t"] for t in trades] == [h["time"] for h in history]
    assert all(t["s"] == "BINANCE:BTCUSDT" and t["c"] is None for t in trades)
    sizes = [len(m["data"]) for m in messages]
    assert max(sizes) <= 20 and len(messages) < len(trades) / 2


def test_unsubscribed_and_unknown_symbols_carry_nothing(start_sim: Callable[..., ExchangeSim]) -> None:
    # Arrange
    sim = start_sim(rate=5_000)
    ws = connect(f"{sim.finnhub_url}?token=t")

    # Act
    ws.send(json.dumps({"type": "subscribe", "symbol": "BINANCE:DOGEUSDT"}))
    ws.send(json.dumps({"type": "subscribe", "symbol": "AAPL"}))
    silent = read_messages(ws, quiet_s=0.5)
    ws.send(json.dumps({"type": "subscribe", "symbol": "BINANCE:ETHUSDT"}))
    some = read_messages(ws, count=3)
    ws.send(json.dumps({"type": "unsubscribe", "symbol": "BINANCE:ETHUSDT"}))
    read_messages(ws, quiet_s=0.3)  # frames already in flight
    after = read_messages(ws, quiet_s=0.5)
    ws.close()

    # Assert
    assert silent == [] and after == []
    assert all(t["s"] == "BINANCE:ETHUSDT" for m in some for t in json.loads(m)["data"])


def test_bad_message_gets_an_error_message(start_sim: Callable[..., ExchangeSim]) -> None:
    sim = start_sim()
    ws = connect(f"{sim.finnhub_url}?token=t")

    ws.send(json.dumps({"type": "dance"}))
    answer = json.loads(ws.recv())
    ws.close()

    assert answer["type"] == "error" and answer["msg"]


def test_ping_messages_arrive_and_are_counted(start_sim: Callable[..., ExchangeSim]) -> None:
    # Arrange
    sim = start_sim(faults={"finnhub_ping_interval_s": 0.2})
    ws = connect(f"{sim.finnhub_url}?token=t")
    first = read_messages(ws, count=3, deadline_s=5)

    # Act: stop pinging, then read what is still on the way.
    sim.set_faults(finnhub_ping_interval_s=None)
    rest = read_messages(ws, quiet_s=0.5)
    ws.close()

    # Assert
    received = first + rest
    assert set(received) == {'{"type":"ping"}'}
    assert len(received) == sim.stats()["faults"]["finnhub_pings"] >= 3
