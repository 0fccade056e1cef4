"""CSV replay (data.binance.vision trade files) and the accelerated exchange clock."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import requests

from tests.trading_assets.services.exchange_sim.helpers import (
    START_US,
    all_history,
    binance_events,
    connect,
    read_messages,
)
from trading_assets.services.exchange_sim import ExchangeSim, ExchangeSimConfig
from trading_assets.services.exchange_sim.replay import has_header, read_trades_csv, times_to_us

HOUR_MS = 3_600_000


def write_trades_csv(path: Path, *, count: int, microseconds: bool, header: bool) -> list[tuple]:
    """A small trades file like data.binance.vision's; returns its rows."""
    rng = np.random.default_rng(3)
    base_us = START_US + 3 * 86_400_000_000  # 2025-01-04, after the switch to microseconds
    rows = []
    for i in range(count):
        time_us = base_us + i * 2_000_000 + int(rng.integers(0, 1000))  # one trade every 2 exchange seconds
        price = round(97_000 + float(rng.normal()) * 10, 2)
        qty = round(float(rng.uniform(0.0001, 0.5)), 5)
        stamp = time_us if microseconds else time_us // 1000
        rows.append((5_000_000 + i, price, qty, round(price * qty, 8), stamp, bool(i % 3 == 0), True))
    lines = ["id,price,qty,quoteQty,time,isBuyerMaker,isBestMatch"] if header else []
    lines += [f"{r[0]},{r[1]:.8f},{r[2]:.8f},{r[3]:.8f},{r[4]},{r[5]},{r[6]}" for r in rows]
    path.write_text("\n".join(lines) + "\n")
    return rows


@pytest.mark.parametrize(("microseconds", "header"), [(False, False), (True, True), (True, False)])
def test_replay_streams_exactly_the_file_trades(
    start_sim: Callable[..., ExchangeSim], tmp_path: Path, microseconds: bool, header: bool
) -> None:
    # Arrange: 60 trades over 2 exchange minutes, played at 600x (about 0.2 s).
    csv_path = tmp_path / "ETHUSDT-trades-2025-01-04.csv"
    rows = write_trades_csv(csv_path, count=60, microseconds=microseconds, header=header)
    sim = start_sim(replay_path=csv_path, replay_symbol="ETHUSDT", speed=600, wait_for_subscribers=1)
    ws = connect(f"{sim.ws_url}/ws/ethusdt@trade")

    # Act
    events = binance_events(read_messages(ws, quiet_s=0.7))
    ws.close()

    # Assert
    assert [e["t"] for e in events] == [r[0] for r in rows]
    assert [e["p"] for e in events] == [f"{r[1]:.8f}" for r in rows]
    assert [e["q"] for e in events] == [f"{r[2]:.8f}" for r in rows]
    expected_ms = [r[4] // 1000 if microseconds else r[4] for r in rows]
    assert [e["T"] for e in events] == expected_ms
    assert [e["m"] for e in events] == [r[5] for r in rows]
    assert all(e["s"] == "ETHUSDT" for e in events)
    stats = sim.stats()
    assert stats["mode"] == "replay" and stats["finished"] and stats["generated"] == 60
    assert [t["id"] for t in all_history(sim.rest_url, "ETHUSDT")] == [r[0] for r in rows]
    assert [t["time"] for t in all_history(sim.rest_url, "ETHUSDT")] == expected_ms


def test_replay_plays_at_the_configured_speed(start_sim: Callable[..., ExchangeSim], tmp_path: Path) -> None:
    # Arrange: 30 trades 2 exchange seconds apart = 58 s of market; at 60x that takes about 1 s.
    csv_path = tmp_path / "trades.csv"
    write_trades_csv(csv_path, count=30, microseconds=False, header=False)
    sim = start_sim(replay_path=csv_path, replay_symbol="BTCUSDT", speed=60, wait_for_subscribers=1)
    ws = connect(f"{sim.ws_url}/ws/btcusdt@trade")

    # Act
    started = time.monotonic()
    events = binance_events(read_messages(ws, count=30, deadline_s=10))
    took = time.monotonic() - started
    ws.close()

    # Assert
    assert len(events) == 30
    assert 0.8 < took < 2.5


def test_replay_csv_helpers_detect_header_and_time_unit(tmp_path: Path) -> None:
    with_header, without = tmp_path / "a.csv", tmp_path / "b.csv"
    us_rows = write_trades_csv(with_header, count=3, microseconds=True, header=True)
    ms_rows = write_trades_csv(without, count=3, microseconds=False, header=False)

    assert has_header(with_header) and not has_header(without)
    assert read_trades_csv(with_header).time_us.tolist() == [r[4] for r in us_rows]
    assert read_trades_csv(without).time_us.tolist() == [r[4] * 1000 for r in ms_rows]
    assert read_trades_csv(with_header).trade_id.tolist() == [r[0] for r in us_rows]
    assert times_to_us(np.array([1_735_689_600_000, 1_735_689_600_000_123])).tolist() == [
        1_735_689_600_000_000,
        1_735_689_600_000_123,
    ]


def test_replay_of_a_bad_file_fails_at_start_naming_it(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("1,not-a-price,1,1,1735689600000,True,True\n")

    with pytest.raises(ValueError, match=r"bad\.csv"):
        ExchangeSim(ExchangeSimConfig(replay_path=bad)).start()


def test_accelerated_clock_covers_two_exchange_hours_in_two_wall_seconds(
    start_sim: Callable[..., ExchangeSim],
) -> None:
    # Arrange: 3600 exchange seconds per wall second; 300 trades/s on the wire.
    sim = start_sim(speed=3600, rate=300, wait_for_subscribers=1)
    ws = connect(f"{sim.ws_url}/stream?streams=btcusdt@trade/ethusdt@trade")

    # Act
    events = binance_events(read_messages(ws, deadline_s=2.0, quiet_s=1.0))
    server_ms = requests.get(f"{sim.rest_url}/api/v3/time", timeout=10).json()["serverTime"]
    ws.close()

    # Assert: trade times start at the configured start and span about two hours.
    first, last = events[0]["T"], events[-1]["T"]
    assert START_US // 1000 <= first < START_US // 1000 + HOUR_MS // 10
    assert 1.9 * HOUR_MS <= last - START_US // 1000 <= 2.3 * HOUR_MS
    assert server_ms >= last
