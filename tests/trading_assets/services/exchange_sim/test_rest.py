"""Binance REST and /sim endpoints of the simulated exchange, called with requests."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import requests

from tests.trading_assets.services.exchange_sim.helpers import START_US, all_history, stats, wait_for
from trading_assets.services.exchange_sim import ExchangeSim


@pytest.fixture
def finished_sim(start_sim: Callable[..., ExchangeSim]) -> ExchangeSim:
    """A simulator that has generated its 12,345 trades and stopped generating."""
    sim = start_sim(rate=200_000, max_trades=12_345)
    assert wait_for(lambda: sim.stats()["finished"], 20)
    return sim


def test_historical_trades_pages_through_the_whole_history_exactly(finished_sim: ExchangeSim) -> None:
    # Arrange
    per_symbol = stats(finished_sim.rest_url)["symbols"]

    # Act
    histories = {symbol: all_history(finished_sim.rest_url, symbol, page=1000) for symbol in per_symbol}

    # Assert
    assert sum(len(h) for h in histories.values()) == 12_345
    for symbol, history in histories.items():
        assert [t["id"] for t in history] == list(range(1, per_symbol[symbol]["generated"] + 1))
        times = [t["time"] for t in history]
        assert times == sorted(times) and times[0] >= START_US // 1000
    trade = histories["BTCUSDT"][0]
    assert set(trade) == {"id", "price", "qty", "quoteQty", "time", "isBuyerMaker", "isBestMatch"}
    assert isinstance(trade["price"], str) and len(trade["price"].split(".")[1]) == 8
    assert float(trade["quoteQty"]) == pytest.approx(float(trade["price"]) * float(trade["qty"]), abs=1e-8)
    assert trade["isBestMatch"] is True and isinstance(trade["isBuyerMaker"], bool)


def test_historical_trades_from_an_id_returns_that_page(finished_sim: ExchangeSim) -> None:
    url = f"{finished_sim.rest_url}/api/v3/historicalTrades"

    page = requests.get(url, params={"symbol": "ETHUSDT", "fromId": 100, "limit": 7}, timeout=10).json()
    beyond = requests.get(url, params={"symbol": "ETHUSDT", "fromId": 10**9}, timeout=10).json()

    assert [t["id"] for t in page] == list(range(100, 107))
    assert beyond == []


def test_limit_defaults_to_500_and_is_capped_at_1000(finished_sim: ExchangeSim) -> None:
    url = f"{finished_sim.rest_url}/api/v3/historicalTrades"

    default = requests.get(url, params={"symbol": "BTCUSDT", "fromId": 1}, timeout=10).json()
    capped = requests.get(url, params={"symbol": "BTCUSDT", "fromId": 1, "limit": 5000}, timeout=10).json()

    assert [t["id"] for t in default] == list(range(1, 501))
    assert [t["id"] for t in capped] == list(range(1, 1001))


def test_without_from_id_the_newest_trades_are_returned(finished_sim: ExchangeSim) -> None:
    last = stats(finished_sim.rest_url)["symbols"]["SOLUSDT"]["generated"]

    historical = requests.get(
        f"{finished_sim.rest_url}/api/v3/historicalTrades",
        params={"symbol": "SOLUSDT", "limit": 10},
        timeout=10,
    ).json()
    recent = requests.get(
        f"{finished_sim.rest_url}/api/v3/trades", params={"symbol": "SOLUSDT", "limit": 3}, timeout=10
    ).json()

    assert [t["id"] for t in historical] == list(range(last - 9, last + 1))
    assert [t["id"] for t in recent] == [last - 2, last - 1, last]


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"symbol": "DOGEUSDT"}, -1121),
        ({}, -1102),
        ({"symbol": "BTCUSDT", "limit": "0"}, -1130),
        ({"symbol": "BTCUSDT", "limit": "ten"}, -1100),
        ({"symbol": "BTCUSDT", "fromId": "-5"}, -1100),
    ],
)
def test_bad_requests_get_binance_errors_with_http_400(
    finished_sim: ExchangeSim, params: dict[str, str], code: int
) -> None:
    response = requests.get(f"{finished_sim.rest_url}/api/v3/historicalTrades", params=params, timeout=10)

    assert response.status_code == 400
    assert response.json()["code"] == code and response.json()["msg"]


def test_invalid_symbol_message_is_binances(finished_sim: ExchangeSim) -> None:
    response = requests.get(f"{finished_sim.rest_url}/api/v3/trades", params={"symbol": "NOPE"}, timeout=10)

    assert (response.status_code, response.json()) == (400, {"code": -1121, "msg": "Invalid symbol."})


def test_ping_time_and_exchange_info(finished_sim: ExchangeSim) -> None:
    url = finished_sim.rest_url

    ping = requests.get(f"{url}/api/v3/ping", timeout=10).json()
    server_time = requests.get(f"{url}/api/v3/time", timeout=10).json()["serverTime"]
    info = requests.get(f"{url}/api/v3/exchangeInfo", timeout=10).json()

    assert ping == {}
    assert server_time == stats(url)["exchange_time_ms"] >= START_US // 1000
    assert [s["symbol"] for s in info["symbols"]] == ["BTCUSDT", "ETHUSDT", "SOLUSDT", "ADAUSDT", "XRPUSDT"]


def test_fault_settings_change_at_run_time_and_bad_ones_are_refused(finished_sim: ExchangeSim) -> None:
    url = f"{finished_sim.rest_url}/sim/faults"

    changed = requests.post(url, json={"p_duplicate": 0.5, "drop_every_s": 3}, timeout=10)
    unknown = requests.post(url, json={"p_explode": 1}, timeout=10)
    out_of_range = requests.post(url, json={"p_skip": 2}, timeout=10)
    current = requests.get(url, timeout=10).json()

    assert changed.status_code == 200 and changed.json()["p_duplicate"] == 0.5
    assert unknown.status_code == 400 and "p_explode" in unknown.json()["error"]
    assert out_of_range.status_code == 400 and "p_skip" in out_of_range.json()["error"]
    assert current["p_duplicate"] == 0.5 and current["drop_every_s"] == 3.0 and current["p_skip"] == 0.0
    assert stats(finished_sim.rest_url)["fault_config"] == current


def test_history_is_bounded_per_symbol(start_sim: Callable[..., ExchangeSim]) -> None:
    # Arrange: 200,000 trades of one symbol, at most 70,000 kept (forgotten in 65,536-trade blocks).
    sim = start_sim(symbols=("BTCUSDT",), rate=2_000_000, max_trades=200_000, history_per_symbol=70_000)
    assert wait_for(lambda: sim.stats()["finished"], 30)

    # Act
    held = sim.stats()["symbols"]["BTCUSDT"]
    oldest = requests.get(
        f"{sim.rest_url}/api/v3/historicalTrades",
        params={"symbol": "BTCUSDT", "fromId": 1, "limit": 2},
        timeout=10,
    ).json()

    # Assert
    assert held["history_last_id"] == 200_000
    assert 70_000 <= held["history_trades"] < 70_000 + 65_536
    assert held["history_first_id"] == 200_000 - held["history_trades"] + 1
    assert [t["id"] for t in oldest] == [held["history_first_id"], held["history_first_id"] + 1]
