"""FinnhubFeed against a scripted venue on 127.0.0.1: subscriptions, dedup window, the token kept secret."""

from __future__ import annotations

import logging
from collections.abc import Callable
from threading import Thread

import orjson
import pyarrow as pa
import pytest

from resources.exchange_feed.base import ExchangeFeed
from resources.exchange_feed.finnhub import ContentDeduper, FinnhubFeed, FinnhubFeedConfig
from tests.resources.exchange_feed.conftest import RecordingSink
from tests.resources.exchange_feed.venue import Drop, Ping, Reject, ScriptedVenue, Send, Sleep, wait_for
from trading_assets.core.ticks import Side, Tick, ticks_to_table

RunFeed = Callable[[ExchangeFeed], Thread]
TOKEN = "tok-c0ffee-SECRET-9f3a"
T0 = 1_575_526_691_134  # ms


def trades(*rows: tuple[str, int, float, float]) -> Send:
    """A Finnhub trade frame of (symbol, trade ms, price, volume) rows."""
    data = [{"p": p, "s": s, "t": t, "v": v, "c": None} for s, t, p, v in rows]
    return Send(orjson.dumps({"type": "trade", "data": data}))


def config(venue: ScriptedVenue, **overrides: object) -> FinnhubFeedConfig:
    settings: dict[str, object] = {
        "symbols": ("BINANCE:BTCUSDT", "AAPL"),
        "ws_url": venue.ws_base,
        "connect_timeout_s": 2.0,
        "flush_interval_s": 0.02,
        "backoff_initial_s": 0.05,
        "backoff_max_s": 0.1,
        "stale_after_s": 5.0,
    }
    settings.update(overrides)
    return FinnhubFeedConfig(**settings)  # type: ignore[arg-type]


def delivered(sink: RecordingSink) -> list[tuple[str, int, float, float]]:
    table = sink.all_ticks()
    if table.num_rows == 0:
        return []
    return list(
        zip(
            table.column("symbol").to_pylist(),
            [t // 1000 for t in table.column("trade_time_us").to_pylist()],
            table.column("price").to_pylist(),
            table.column("quantity").to_pylist(),
            strict=True,
        )
    )


def test_prints_resent_after_a_reconnect_are_dropped_inside_the_window_kept_outside(
    sink: RecordingSink, run_feed: RunFeed, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FINNHUB_TOKEN", TOKEN)
    a = ("BINANCE:BTCUSDT", T0, 7296.89, 0.011467)
    b = ("BINANCE:BTCUSDT", T0 + 1_000, 7297.0, 0.5)
    c = ("AAPL", T0 + 61_000, 190.1, 10.0)  # 61 s later: a falls out of the 60 s window
    first = [trades(a, b), Send(b'{"type":"ping"}'), trades(c), Drop()]
    resent = [trades(b, a), Sleep(0.1), trades(c)]  # Finnhub re-sends recent prints on the new connection
    with ScriptedVenue([first, resent]) as venue:
        feed = FinnhubFeed(config(venue, dedup_window_s=60))
        run_feed(feed)
        wait_for(lambda: len(sink.kinds("connected")) == 2, timeout_s=10, what="the reconnect")
        wait_for(lambda: feed.stats.frames >= 5, timeout_s=10, what="the second connection's frames")
        # Re-sent b and c lie within 60 s of the newest trade: dropped. Re-sent a, 61 s before it, passes
        # with the key it had the first time (the store dedups it).
        assert delivered(sink) == [a, b, c, a]
        assert (feed.stats.ticks, feed.stats.duplicates, feed.stats.control_frames) == (6, 2, 1)
        keys = sink.all_ticks().column("trade_id").to_pylist()
        assert keys[3] == keys[0]
        assert venue.connections[0].query == {"token": TOKEN}  # the venue got the real token
        assert [orjson.loads(m) for m in venue.connections[0].received] == [
            {"type": "subscribe", "symbol": "BINANCE:BTCUSDT"},
            {"type": "subscribe", "symbol": "AAPL"},
        ]
    table = sink.all_ticks()
    assert set(table.column("side").to_pylist()) == {Side.UNKNOWN}
    assert table.column("event_time_us").equals(table.column("trade_time_us"))
    assert all(key < 0 for key in table.column("trade_id").to_pylist())


def test_token_never_appears_in_logs_events_dead_letters_or_reprs(
    sink: RecordingSink, run_feed: RunFeed, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("FINNHUB_TOKEN", TOKEN)
    caplog.set_level(logging.DEBUG)  # every logger, websocket-client's and requests' included
    first = [Reject(401, f'{{"error":"Invalid API key {TOKEN}"}}')]
    second = [
        Send(orjson.dumps({"type": "error", "msg": f"Invalid access token {TOKEN}"})),
        Send(f"garbage echoing {TOKEN}"),
        Ping(),
        trades(("AAPL", T0, 190.0, 1.0)),
        Drop(),
    ]
    with ScriptedVenue([first, second, [trades(("AAPL", T0 + 5, 190.0, 1.0))]]) as venue:
        feed = FinnhubFeed(config(venue))
        run_feed(feed)
        wait_for(lambda: len(delivered(sink)) == 2, timeout_s=10, what="both trades")
        assert len(venue.connections) == 3
    assert [e.kind for e in sink.events][:4] == ["venue_error", "reconnect", "connected", "venue_error"]
    assert "Handshake status 401" in sink.events[0].detail
    assert sink.kinds("venue_error")[1].detail == "Invalid access token ***"
    (garbage,) = sink.malformed
    assert garbage.raw == b"garbage echoing ***" and TOKEN not in garbage.reason
    texts = [caplog.text, repr(feed), *(repr(e) for e in sink.events), *(repr(m) for m in sink.malformed)]
    texts += [r.getMessage() for r in caplog.records]
    assert not [t for t in texts if TOKEN in t]
    assert "token=***" in caplog.text  # the URL is logged, masked


def test_missing_token_fails_at_start_naming_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FINNHUB_TOKEN", raising=False)
    with pytest.raises(ValueError, match="environment variable FINNHUB_TOKEN is not set"):
        FinnhubFeed(FinnhubFeedConfig(symbols=("AAPL",)))


def _table(*rows: tuple[str, int, float]) -> pa.Table:
    return ticks_to_table(
        Tick(
            venue="finnhub",
            symbol=s,
            trade_id=None,
            price=p,
            quantity=1.0,
            side=Side.UNKNOWN,
            trade_time_us=t,
            event_time_us=t,
            receive_time_us=t,
        )
        for s, t, p in rows
    )


def test_deduper_window_and_memory_bound() -> None:
    dedup = ContentDeduper(window_us=10, max_keys=1_000)
    out, dropped = dedup.filter(_table(("A", 100, 1.0), ("A", 100, 1.0), ("A", 105, 2.0)))
    assert (out.num_rows, dropped) == (2, 1)
    out, dropped = dedup.filter(_table(("A", 105, 2.0), ("A", 111, 3.0)))
    assert (out.num_rows, dropped) == (1, 1) and len(dedup) == 2  # t=100 forgotten: older than 111-10
    out, dropped = dedup.filter(_table(("A", 100, 1.0)))
    assert (out.num_rows, dropped) == (1, 0)
    bounded = ContentDeduper(window_us=10**12, max_keys=3)
    bounded.filter(_table(*(("A", 1_000 + i, float(i)) for i in range(10))))
    assert len(bounded) == 3


def test_deduper_outcome_does_not_depend_on_batching() -> None:
    rows = [
        ("A", 100, 1.0),
        ("A", 105, 2.0),
        ("A", 100, 1.0),
        ("A", 111, 3.0),
        ("A", 100, 1.0),
        ("A", 105, 2.0),
    ]
    whole = ContentDeduper(window_us=10, max_keys=100).filter(_table(*rows))[0]
    one_by_one = ContentDeduper(window_us=10, max_keys=100)
    pieces = [one_by_one.filter(_table(row))[0] for row in rows]
    assert pa.concat_tables(pieces).equals(whole)
    # 100 repeated within 10 us is dropped; after 111 it is outside the window and kept; 105 is inside.
    assert whole.column("trade_time_us").to_pylist() == [100, 105, 111, 100]
