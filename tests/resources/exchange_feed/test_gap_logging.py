"""What an operator reads: each gap logged once, summaries of the gaps, no empty fields in event lines.

The feed runs under a real :class:`Streamer` (embedded bus), which used to log every feed event a second
time: one gap took 2 to 4 lines.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import pytest

from resources.bus.embedded import EmbeddedTickBus
from resources.exchange_feed.base import FeedEvent
from resources.exchange_feed.binance import BinanceFeed, BinanceFeedConfig
from resources.service_state import EmbeddedServiceState, ServiceInstance
from tests.resources.exchange_feed.venue import ScriptedVenue, Send, binance_trade, wait_for
from trading_assets.services.streamer import Streamer, StreamerConfig

SENT = [*range(1, 11), *range(15, 21), *range(30, 41)]  # ids 11..14 and 21..29 never sent


def test_each_gap_is_logged_once_and_the_run_ends_with_a_summary(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Arrange: two gaps on the websocket, the venue's REST history holding every id.
    caplog.set_level(logging.INFO)
    script = [Send(binance_trade("BTCUSDT", i)) for i in SENT]
    with ScriptedVenue([script], rest_trades={"BTCUSDT": list(range(1, 41))}) as venue:
        feed = BinanceFeed(
            BinanceFeedConfig(
                symbols=("BTCUSDT",),
                ws_base_url=venue.ws_base,
                rest_base_url=venue.http_base,
                flush_interval_s=0.02,
                gap_grace_s=0.05,
                tail_probe_after_s=0,
                gap_summary_interval_s=0.2,
            )
        )
        streamer = Streamer(
            feeds=[feed],
            bus=EmbeddedTickBus(),
            state=EmbeddedServiceState(tmp_path / "state.sqlite"),
            instance=ServiceInstance(service="streamer", venues=("binance",), symbols=("BTCUSDT",), host="h"),
            config=StreamerConfig(flush_interval_s=0.01),
        )
        stop = threading.Event()
        thread = threading.Thread(target=streamer.run, args=(stop,), daemon=True)

        # Act
        thread.start()
        try:
            wait_for(lambda: feed.stats.gap_filled_ticks == 13, timeout_s=10, what="both gaps filled")
            wait_for(
                lambda: any("gaps in the last" in r.getMessage() for r in caplog.records),
                timeout_s=5,
                what="a periodic gap summary",
            )
        finally:
            stop.set()
            thread.join(10)
    assert not thread.is_alive()

    # Assert: one line per gap, one closing summary with exact counts, no empty field anywhere.
    messages = [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO]
    assert [m for m in messages if "11..14" in m] == [
        "binance BTCUSDT: gap ids 11..14: filled 4 missing trades"
    ]
    assert [m for m in messages if "21..29" in m] == [
        "binance BTCUSDT: gap ids 21..29: filled 9 missing trades"
    ]
    assert [m for m in messages if "gaps this run" in m] == [
        "binance feed stopped; gaps this run: 2 gaps (13 ids missing), 13 ids filled, 0 failed; "
        "0 ids still missing"
    ]
    connected = [m for m in messages if "connected" in m]
    assert connected == [f"binance feed: connected to {venue.ws_base}/stream?streams=btcusdt@trade"]
    assert not [m for m in messages if " : " in m or "  " in m]


def test_an_event_line_has_no_empty_field() -> None:
    connected = FeedEvent(kind="connected", venue="binance", detail="ws://127.0.0.1:1/stream", count=1)
    gap = FeedEvent(kind="gap_found", venue="binance", symbol="BTCUSDT", detail="ids 5..9 missing", count=5)

    assert connected.describe() == "binance connected: ws://127.0.0.1:1/stream (1)"
    assert gap.describe() == "binance gap_found BTCUSDT: ids 5..9 missing (5)"
