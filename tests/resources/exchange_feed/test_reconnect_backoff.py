"""Reconnect backoff against a venue that ends connections on purpose: a server that closes the websocket
cleanly every 500 trades (as seen replaying real trades) must not slow the stream down."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from resources.exchange_feed.binance import BinanceFeed, BinanceFeedConfig
from tests.resources.exchange_feed.conftest import RecordingSink
from tests.resources.exchange_feed.venue import (
    Action,
    Close,
    Drop,
    ScriptedVenue,
    Send,
    binance_trade,
    wait_for,
)

TRADES = 10_000
EVERY = 500


def _scripts(end: Callable[[], Action], every: int) -> list[list[Action]]:
    """``TRADES`` Binance trades (ids 1..), the connection ended by ``end()`` after every ``every`` trades."""
    return [
        [*(Send(binance_trade("BTCUSDT", i)) for i in range(first, first + every)), end()]
        for first in range(1, TRADES + 1, every)
    ]


def _stream(scripts: list[list[Action]], sink: RecordingSink, **cfg: float) -> tuple[BinanceFeed, float]:
    """Stream every trade of ``scripts`` into ``sink``; return the feed and the seconds it took."""
    with ScriptedVenue(scripts) as venue:
        feed = BinanceFeed(
            BinanceFeedConfig(
                symbols=("BTCUSDT",),
                ws_base_url=venue.ws_base,
                rest_base_url=venue.http_base,
                tail_probe_after_s=0,
                **cfg,  # type: ignore[arg-type]
            )
        )
        stop = threading.Event()
        thread = threading.Thread(target=feed.run, args=(sink, stop), daemon=True)
        started = time.monotonic()
        thread.start()
        try:
            # Generous: before the fix this took minutes (the backoff doubled on every clean close).
            wait_for(lambda: len(sink.ids("BTCUSDT")) >= TRADES, timeout_s=60, what=f"all {TRADES} trades")
            return feed, time.monotonic() - started
        finally:
            stop.set()
            thread.join(10)
            assert not thread.is_alive(), "feed did not stop within 10 s of the stop event"


def test_clean_closes_every_500_trades_keep_80_percent_of_the_fault_free_rate() -> None:
    # Arrange: the same 10,000 trades, once over one connection, once with a clean close every 500.
    fault_free_sink, closing_sink = RecordingSink(), RecordingSink()

    # Act: default backoff settings (0.5 s first ceiling, 30 s cap), as a streamer runs them.
    _, fault_free_s = _stream(_scripts(Close, TRADES), fault_free_sink)
    closing, _ = _stream(_scripts(Close, EVERY), closing_sink)

    # Assert: every trade exactly once over 20 connections, and the time spent waiting to reconnect
    # is at most a quarter of the fault-free run's time (so the rate stays at 80% or more of it).
    assert closing_sink.ids("BTCUSDT") == list(range(1, TRADES + 1))
    assert closing.stats.connections >= TRADES // EVERY  # and one more after the last close
    assert closing.stats.reconnects >= TRADES // EVERY - 1
    assert closing.stats.backoff_s <= 0.25 * fault_free_s
    assert all(e.count == 0 for e in closing_sink.kinds("reconnect"))  # at once, no backoff step
    assert fault_free_sink.ids("BTCUSDT") == list(range(1, TRADES + 1))


def test_a_dropped_connection_that_delivered_trades_resets_the_backoff(sink: RecordingSink) -> None:
    # Arrange: the connection is cut (no close frame) every 500 trades.
    scripts = _scripts(Drop, EVERY)

    # Act
    feed, _ = _stream(scripts, sink, backoff_initial_s=0.02, backoff_max_s=30.0)

    # Assert: each reconnect is the first step of the backoff, never a doubled one.
    reconnects = sink.kinds("reconnect")
    assert sink.ids("BTCUSDT") == list(range(1, TRADES + 1))
    assert len(reconnects) >= TRADES // EVERY - 1
    assert all(e.count == 1 for e in reconnects)
    assert feed.stats.backoff_s <= 0.02 * len(reconnects)
