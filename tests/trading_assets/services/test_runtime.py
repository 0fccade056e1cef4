"""The services build their feeds by venue name through the venue registry, from the settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from resources.exchange_feed.binance import BinanceFeed
from resources.exchange_feed.finnhub import FinnhubFeed
from trading_assets.core.settings import Settings
from trading_assets.services.runtime import FeedOverrides, build_feeds
from trading_assets.services.streamer import StreamerState


def test_feeds_come_from_the_registry_with_the_settings_endpoints_and_the_saved_state(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Arrange
    monkeypatch.setenv("FINNHUB_TOKEN", "tok")
    settings = Settings.from_env(
        {
            "TRADEGRAPH_HOME": str(tmp_path),
            "TRADEGRAPH_VENUES": "sim,binance,finnhub",
            "TRADEGRAPH_SYMBOLS": "BTCUSDT,AAPL",
            "TRADEGRAPH_BINANCE_WS_URL": "ws://127.0.0.1:1",
            "TRADEGRAPH_BINANCE_REST_URL": "http://127.0.0.1:2",
            "TRADEGRAPH_FINNHUB_WS_URL": "ws://127.0.0.1:3",
        }
    )
    state = StreamerState(last_ids={"binance": {"BTCUSDT": 41}}, gaps={"binance": {"BTCUSDT": [(7, 9)]}})

    # Act
    sim, binance, finnhub = build_feeds(
        settings, state, FeedOverrides(sim_ws_url="ws://127.0.0.1:4", sim_rest_url="http://127.0.0.1:5")
    )

    # Assert
    assert (
        isinstance(sim, BinanceFeed) and isinstance(binance, BinanceFeed) and isinstance(finnhub, FinnhubFeed)
    )
    assert (sim.venue, sim.config.ws_base_url, sim.config.rest_base_url) == (
        "sim",
        "ws://127.0.0.1:4",
        "http://127.0.0.1:5",
    )
    assert (binance.venue, binance.config.ws_base_url, binance.config.rest_base_url) == (
        "binance",
        "ws://127.0.0.1:1",
        "http://127.0.0.1:2",
    )
    assert binance.last_ids() == {"BTCUSDT": 41} and binance.unfilled_gaps() == {"BTCUSDT": [(7, 9)]}
    assert sim.last_ids() == {} and sim.config.symbols == ("BTCUSDT", "AAPL")
    assert (finnhub.venue, finnhub.config.ws_url) == ("finnhub", "ws://127.0.0.1:3")
    assert finnhub.config.symbols == ("BINANCE:BTCUSDT", "AAPL")  # Finnhub's naming, from its adapter
