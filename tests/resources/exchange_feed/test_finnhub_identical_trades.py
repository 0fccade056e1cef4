"""Finnhub prints without trade ids, replayed as Finnhub frames them: identical distinct trades (one order
filled against several equal resting orders) are all stored; prints Finnhub re-sends after a reconnect
collapse, in the feed and in the store (a restarted streamer re-reading them)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from threading import Thread

import orjson
import pytest

from resources.exchange_feed.base import ExchangeFeed
from resources.exchange_feed.finnhub import FinnhubFeed, FinnhubFeedConfig, FinnhubFrameParser
from resources.tick_store.embedded import EmbeddedTickStore
from tests.resources.exchange_feed.conftest import RecordingSink
from tests.resources.exchange_feed.venue import Drop, ScriptedVenue, Send, wait_for

RunFeed = Callable[[ExchangeFeed], Thread]
T = 1_678_752_000_123  # ms, 2023-03-14 00:00:00.123 UTC
DAY = dt.date(2023, 3, 14)
SYMBOL = "BINANCE:BTCUSDT"


def frame(*prints: tuple[int, float, float]) -> bytes:
    """A Finnhub trade frame as recorded: ``{"data":[{"c":null,"p":..,"s":..,"t":..,"v":..}],"type":"trade"}``."""
    data = [{"c": None, "p": p, "s": SYMBOL, "t": t, "v": v} for t, p, v in prints]
    return orjson.dumps({"data": data, "type": "trade"})


X = (T, 24_671.12, 0.00042)  # printed 4 times: 3 in the first frame, once more in the next
Y = (T, 24_671.13, 0.00042)
Z = (T + 1, 24_671.12, 0.0102)  # printed twice in the second frame
W = (T + 900, 24_670.5, 0.001)  # printed twice after the reconnect
F1 = frame(X, X, X, Y)
F2 = frame(X, Z, Z)
F3 = frame(W, W)
DISTINCT = 4 + 1 + 2 + 2


def test_identical_distinct_trades_are_all_stored_and_resent_prints_collapse(
    sink: RecordingSink, run_feed: RunFeed, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Arrange: F2 is re-sent on the second connection, as Finnhub does after a reconnect.
    monkeypatch.setenv("FINNHUB_TOKEN", "tok")
    with ScriptedVenue([[Send(F1), Send(F2), Drop()], [Send(F2), Send(F3)]]) as venue:
        feed = FinnhubFeed(
            FinnhubFeedConfig(
                symbols=(SYMBOL,),
                ws_url=venue.ws_base,
                flush_interval_s=0.02,
                backoff_initial_s=0.05,
                backoff_max_s=0.1,
            )
        )

        # Act
        run_feed(feed)
        wait_for(lambda: feed.stats.ticks == 4 + 3 + 3 + 2, timeout_s=10, what="every print")
        wait_for(lambda: sink.all_ticks().num_rows == DISTINCT, timeout_s=5, what="the last delivery")
    store = EmbeddedTickStore(tmp_path / "ticks")
    for table in sink.tables:
        store.insert(table)
    # A restarted streamer reads the re-sent F2 again (its fresh dedup window knows nothing).
    restarted = FinnhubFrameParser()
    restarted.add(F2, 0)
    store.insert(restarted.take().ticks)
    store.seal(DAY)
    stored = store.export(DAY)

    # Assert: the feed dropped the 3 re-sent prints; the store kept every distinct trade once.
    assert feed.stats.duplicates == 3
    assert stored.num_rows == DISTINCT
    counts: dict[tuple[int, float, float], int] = {}
    for t_us, p, q in zip(
        stored["trade_time_us"].to_pylist(),
        stored["price"].to_pylist(),
        stored["quantity"].to_pylist(),
        strict=True,
    ):
        counts[(t_us // 1_000, p, q)] = counts.get((t_us // 1_000, p, q), 0) + 1
    assert counts == {X: 4, Y: 1, Z: 2, W: 2}
    assert sum(stored["quantity"].to_pylist()) == pytest.approx(4 * X[2] + Y[2] + 2 * Z[2] + 2 * W[2])


def test_the_same_frame_twice_on_one_connection_is_two_sets_of_trades() -> None:
    parser = FinnhubFrameParser()

    parser.add(frame(X, X), 0)
    parser.add(frame(X), 0)
    keys = parser.take().ticks["trade_id"].to_pylist()

    assert len(set(keys)) == 3 and all(k < 0 for k in keys)
    again = FinnhubFrameParser()  # a new connection: ranks start afresh, so re-sent prints match
    again.add(frame(X, X, X), 0)
    assert again.take().ticks["trade_id"].to_pylist() == keys
