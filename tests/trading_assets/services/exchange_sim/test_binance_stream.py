"""Binance websocket streams of the simulated exchange, read with websocket-client."""

from __future__ import annotations

import json
from collections.abc import Callable

import numpy as np
import pytest
import websocket

from tests.trading_assets.services.exchange_sim.helpers import (
    START_US,
    binance_events,
    connect,
    ids_by_symbol,
    read_binance_trades,
    read_messages,
    wait_for,
)
from trading_assets.market.simulation import MarketConfig, MarketSimulator
from trading_assets.services.exchange_sim import ExchangeSim
from trading_assets.services.exchange_sim.config import DEFAULT_SYMBOLS
from trading_assets.services.exchange_sim.sources import SIMULATED_CHUNK, SimulatedSource

ALL_STREAMS = "/".join(f"{s.lower()}@trade" for s in DEFAULT_SYMBOLS)


def test_combined_stream_carries_exactly_the_simulated_trades_up_to_max_trades(
    start_sim: Callable[..., ExchangeSim],
) -> None:
    # Arrange: the clock waits for our subscription, so we see every trade from the first.
    sim = start_sim(rate=20_000, max_trades=3_000, wait_for_subscribers=1)
    expected = SimulatedSource(
        symbols=DEFAULT_SYMBOLS, seed=7, trades_per_exchange_second=20_000, start_us=START_US
    ).release(START_US + 10**12, 3_000)
    ws = connect(f"{sim.ws_url}/stream?streams={ALL_STREAMS}")

    # Act
    messages = read_messages(ws, count=3_000)
    extra = read_messages(ws, quiet_s=0.5)
    ws.close()

    # Assert: exactly the 3000 trades the seeded market makes, in order, on the wire as Binance sends them.
    assert len(messages) == 3_000 and extra == []
    wrapped = [json.loads(m) for m in messages]
    assert {w["stream"] for w in wrapped} == {f"{s.lower()}@trade" for s in DEFAULT_SYMBOLS}
    assert all(w["stream"] == w["data"]["s"].lower() + "@trade" for w in wrapped)
    events = [w["data"] for w in wrapped]
    assert [e["t"] for e in events] == expected.trade_id.tolist()
    assert [e["s"] for e in events] == [DEFAULT_SYMBOLS[i] for i in expected.symbol.tolist()]
    assert [e["p"] for e in events] == [f"{p:.8f}" for p in expected.price.tolist()]
    assert [e["q"] for e in events] == [f"{q:.8f}" for q in expected.qty.tolist()]
    assert [e["T"] for e in events] == (expected.time_us // 1000).tolist()
    assert [e["m"] for e in events] == expected.buyer_maker.tolist()
    assert all(e["e"] == "trade" and e["M"] is True and e["E"] >= e["T"] for e in events)
    stats = sim.stats()
    assert stats["finished"] and stats["generated"] == 3_000 and stats["emitted"] == 3_000
    for symbol, ids in ids_by_symbol(events).items():
        assert ids == list(range(1, len(ids) + 1))
        assert stats["symbols"][symbol]["first_id_emitted"] == 1
        assert stats["symbols"][symbol]["last_id_emitted"] == len(ids) == stats["symbols"][symbol]["emitted"]


def test_aggressor_buy_is_sent_as_buyer_not_maker(start_sim: Callable[..., ExchangeSim]) -> None:
    # Arrange: the simulator's sides, straight from the market model.
    sim = start_sim(rate=20_000, max_trades=500, wait_for_subscribers=1, symbols=("BTCUSDT",))
    market = MarketSimulator(
        config=MarketConfig(symbols=("BTCUSDT",), seed=7, trades_per_second=20_000), start_us=START_US
    )
    table = market.generate(SIMULATED_CHUNK).slice(0, 500)
    ws = connect(f"{sim.ws_url}/ws/btcusdt@trade")

    # Act
    events = read_binance_trades(ws, 500)
    ws.close()

    # Assert: m = false exactly for aggressor BUY (side +1).
    buys = table["side"].to_numpy() == 1
    assert np.array_equal(np.array([not e["m"] for e in events]), buys)
    assert 0 < buys.sum() < 500


def test_raw_stream_sends_bare_events_of_its_symbol_only(start_sim: Callable[..., ExchangeSim]) -> None:
    # Arrange
    sim = start_sim(rate=10_000, max_trades=2_000, wait_for_subscribers=1)
    ws = connect(f"{sim.ws_url}/ws/ethusdt@trade")

    # Act
    messages = read_messages(ws, quiet_s=0.7)
    ws.close()

    # Assert
    parsed = [json.loads(m) for m in messages]
    assert all("stream" not in p and p["s"] == "ETHUSDT" for p in parsed)
    generated = sim.stats()["symbols"]["ETHUSDT"]["generated"]
    assert [p["t"] for p in parsed] == list(range(1, generated + 1))


def test_subscribe_method_is_answered_and_starts_the_stream(start_sim: Callable[..., ExchangeSim]) -> None:
    # Arrange: a bare /ws connection subscribes nothing yet, so the clock still waits.
    sim = start_sim(rate=10_000, max_trades=1_000, wait_for_subscribers=1)
    ws = connect(f"{sim.ws_url}/ws")

    # Act
    ws.send(json.dumps({"method": "SUBSCRIBE", "params": ["solusdt@trade", "adausdt@trade"], "id": 1}))
    answer = json.loads(ws.recv())
    messages = read_messages(ws, quiet_s=0.7)
    ws.send(json.dumps({"method": "LIST_SUBSCRIPTIONS", "id": 2}))
    listed = json.loads(ws.recv())
    ws.close()

    # Assert
    assert answer == {"result": None, "id": 1}
    ids = ids_by_symbol(binance_events(messages))
    stats = sim.stats()["symbols"]
    assert set(ids) == {"SOLUSDT", "ADAUSDT"}
    assert ids["SOLUSDT"] == list(range(1, stats["SOLUSDT"]["generated"] + 1))
    assert ids["ADAUSDT"] == list(range(1, stats["ADAUSDT"]["generated"] + 1))
    assert listed == {"result": ["solusdt@trade", "adausdt@trade"], "id": 2}


def test_unsubscribe_stops_trades_after_its_answer(start_sim: Callable[..., ExchangeSim]) -> None:
    # Arrange
    sim = start_sim(rate=5_000)
    ws = connect(f"{sim.ws_url}/stream?streams=btcusdt@trade")
    assert read_binance_trades(ws, 10)

    # Act
    ws.send(json.dumps({"method": "UNSUBSCRIBE", "params": ["btcusdt@trade"], "id": 7}))
    before_answer: list[str] = []
    for _ in range(100_000):  # trades already in flight arrive before the answer
        message = ws.recv()
        if json.loads(message).get("id") == 7:
            break
        before_answer.append(message)
    after = read_messages(ws, quiet_s=0.5)
    ws.close()

    # Assert
    assert message == '{"result":null,"id":7}'
    assert after == []


def test_malformed_method_messages_get_binance_errors(start_sim: Callable[..., ExchangeSim]) -> None:
    # Arrange
    sim = start_sim()
    ws = connect(f"{sim.ws_url}/ws")

    # Act
    ws.send("not json")
    bad_json = json.loads(ws.recv())
    ws.send(json.dumps({"method": "FLY", "id": 5}))
    bad_method = json.loads(ws.recv())
    ws.close()

    # Assert
    assert bad_json["code"] == 3 and bad_json["msg"].startswith("Invalid JSON")
    assert bad_method["code"] == 2 and bad_method["id"] == 5


def test_unknown_path_is_refused_with_404(start_sim: Callable[..., ExchangeSim]) -> None:
    sim = start_sim()

    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        connect(f"{sim.ws_url}/nowhere")

    assert refused.value.status_code == 404


def test_stats_count_open_connections_by_kind(start_sim: Callable[..., ExchangeSim]) -> None:
    # Arrange
    sim = start_sim()

    # Act
    raw, combined = (
        connect(f"{sim.ws_url}/ws/btcusdt@trade"),
        connect(f"{sim.ws_url}/stream?streams=btcusdt@trade"),
    )
    finnhub = connect(f"{sim.finnhub_url}?token=t")
    opened = wait_for(lambda: sum(sim.stats()["connections"]["open"].values()) == 3, 5)
    counts = sim.stats()["connections"]
    for ws in (raw, combined, finnhub):
        ws.close()
    closed = wait_for(lambda: sum(sim.stats()["connections"]["open"].values()) == 0, 5)

    # Assert
    assert opened and closed
    assert counts["open"] == {"binance_raw": 1, "binance_combined": 1, "finnhub": 1}
    assert sim.stats()["connections"]["opened"] == {"binance_raw": 1, "binance_combined": 1, "finnhub": 1}
