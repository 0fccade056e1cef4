"""BinanceFeed against a scripted venue on 127.0.0.1: gaps, reorders, duplicates, drops, stale links."""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable
from threading import Thread

import pytest

from resources.exchange_feed.base import ExchangeFeed
from resources.exchange_feed.binance import BinanceFeed, BinanceFeedConfig
from tests.resources.exchange_feed.conftest import RecordingSink
from tests.resources.exchange_feed.venue import (
    Close,
    Drop,
    Ping,
    ScriptedVenue,
    Send,
    Sleep,
    binance_trade,
    wait_for,
)
from trading_assets.core.ticks import Side, table_to_ticks

RunFeed = Callable[[ExchangeFeed], Thread]


def btc(*ids: int) -> list[Send]:
    return [Send(binance_trade("BTCUSDT", i)) for i in ids]


def eth(*ids: int) -> list[Send]:
    return [Send(binance_trade("ETHUSDT", i)) for i in ids]


def config(scripted: ScriptedVenue, **overrides: object) -> BinanceFeedConfig:
    settings: dict[str, object] = {
        "symbols": ("BTCUSDT", "ETHUSDT"),
        "ws_base_url": scripted.ws_base,
        "rest_base_url": scripted.http_base,
        "connect_timeout_s": 2.0,
        "ping_interval_s": 0.2,
        "stale_after_s": 5.0,
        "flush_interval_s": 0.02,
        "flush_every_ticks": 16,
        "backoff_initial_s": 0.05,
        "backoff_max_s": 0.2,
        "gap_grace_s": 0.2,
        "rest_backoff_initial_s": 0.05,
        "rest_max_attempts": 3,
        "rest_timeout_s": 2.0,
        "tail_probe_after_s": 0.0,  # off unless a test is about it: the others count REST requests
    }
    settings.update(overrides)
    return BinanceFeedConfig(**settings)  # type: ignore[arg-type]


def gap_counts(sink: RecordingSink, kind: str) -> list[tuple[str | None, int]]:
    return sorted((e.symbol, e.count) for e in sink.kinds(kind))


def test_every_trade_id_arrives_through_gaps_reorders_duplicates_garbage_and_a_drop(
    sink: RecordingSink, run_feed: RunFeed, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("BINANCE_API_KEY", "test-api-key")
    caplog.set_level(logging.DEBUG)
    first = [
        *btc(*range(1, 31)),
        *eth(*range(1, 21)),
        Send(b"garbage"),
        Send(b'{"e":"trade","s":"BTCUSDT"}'),
        Send(b'{"result":null,"id":1}'),
        Ping(),
        *btc(*range(31, 51)),
        *btc(*range(61, 81)),  # 51..60 skipped: only REST has them
        *btc(82, 81, 84, 83),  # reordered within the grace period: no gap
        *btc(70, 84),  # duplicates
        *eth(*range(21, 31)),
        Sleep(0.6),  # longer than the grace period: 51..60 is fetched while connected
        Drop(),
    ]
    second = [*btc(*range(91, 101)), *eth(*range(36, 41))]  # 85..90 and 31..35 lost with the drop
    everything = {"BTCUSDT": list(range(1, 101)), "ETHUSDT": list(range(1, 41))}
    with ScriptedVenue([first, second], rest_trades=everything) as venue:
        feed = BinanceFeed(config(venue))
        run_feed(feed)
        wait_for(
            lambda: (
                set(sink.ids("BTCUSDT")) == set(everything["BTCUSDT"])
                and set(sink.ids("ETHUSDT")) == set(everything["ETHUSDT"])
                and len(sink.kinds("gap_filled")) == 3
            ),
            timeout_s=15,
            what="every scripted trade id",
        )
        time.sleep(0.3)  # nothing else may arrive: no further gaps or fills
        assert gap_counts(sink, "gap_found") == [("BTCUSDT", 6), ("BTCUSDT", 10), ("ETHUSDT", 5)]
        assert gap_counts(sink, "gap_filled") == [("BTCUSDT", 6), ("BTCUSDT", 10), ("ETHUSDT", 5)]
        assert sink.kinds("gap_fill_failed") == []
        assert next(e.detail for e in sink.kinds("gap_found") if e.count == 10).startswith(
            "ids 51..60 missing"
        )
        assert len(sink.kinds("connected")) == 2
        assert len(sink.kinds("disconnected")) == 1 and len(sink.kinds("reconnect")) == 1
        assert sink.kinds("reconnect")[0].count == 1
        # Everything exactly once, except the two scripted duplicates (passed through and counted).
        repeats = collections.Counter(sink.ids("BTCUSDT"))
        assert sorted(i for i, n in repeats.items() if n > 1) == [70, 84]
        assert all(n <= 2 for n in repeats.values())
        assert collections.Counter(sink.ids("ETHUSDT")).most_common(1)[0][1] == 1
        assert feed.stats.duplicates == 2
        assert feed.stats.gap_filled_ticks == 21
        assert feed.last_ids() == {"BTCUSDT": 100, "ETHUSDT": 40}
        assert feed.unfilled_gaps() == {}
        # Garbage became malformed frames with reasons; the ack was understood.
        assert [(m.raw, m.reason) for m in sink.malformed] == [
            (b"garbage", sink.malformed[0].reason),
            (b'{"e":"trade","s":"BTCUSDT"}', "missing field 't' (trade id)"),
        ]
        assert sink.malformed[0].reason.startswith("not JSON")
        assert feed.stats.malformed == 2 and feed.stats.control_frames == 1
        # The venue saw the combined-stream path, the pong to its ping, and the API key only over REST.
        assert venue.connections[0].path == "/stream"
        assert venue.connections[0].query == {"streams": "btcusdt@trade/ethusdt@trade"}
        assert venue.connections[0].pongs == 1
        assert {r.api_key for r in venue.rest_requests} == {"test-api-key"}
        assert {r.query["fromId"] for r in venue.rest_requests} == {"51", "85", "31"}
        assert {r.query["limit"] for r in venue.rest_requests} == {"10", "6", "5"}
    # A REST-filled tick is the same trade as the websocket would have delivered (except event time).
    ticks = {(t.symbol, t.trade_id): t for t in table_to_ticks(sink.all_ticks())}
    assert ticks[("BTCUSDT", 51)].price == 100 + 51 % 97 / 100
    assert ticks[("BTCUSDT", 51)].side == Side.SELL and ticks[("BTCUSDT", 52)].side == Side.BUY
    assert ticks[("BTCUSDT", 51)].trade_time_us == (1_700_000_000_000 + 50) * 1000
    assert "test-api-key" not in repr(feed) and "test-api-key" not in caplog.text


def test_late_trades_shrink_a_pending_gap_before_it_is_fetched(
    sink: RecordingSink, run_feed: RunFeed
) -> None:
    script = [*btc(1, 2, 3, 7, 8), Sleep(0.05), *btc(5), Sleep(0.6), *btc(9)]
    with ScriptedVenue([script], rest_trades={"BTCUSDT": list(range(1, 10))}) as venue:
        run_feed(BinanceFeed(config(venue, symbols=("BTCUSDT",), gap_grace_s=0.3)))
        wait_for(lambda: set(sink.ids("BTCUSDT")) == set(range(1, 10)), timeout_s=10, what="ids 1..9")
        wait_for(lambda: len(sink.kinds("gap_filled")) == 2, timeout_s=5, what="two fills")
        # Gap 4..6 shrank to 4 and 6 when 5 arrived late: two gaps of one id, fetched separately.
        assert [(e.detail.split(" missing")[0], e.count) for e in sink.kinds("gap_found")] == [
            ("ids 4..4", 1),
            ("ids 6..6", 1),
        ]
        assert sorted(sink.ids("BTCUSDT")) == list(range(1, 10))
        assert [r.query["fromId"] for r in venue.rest_requests] == ["4", "6"]


def test_stale_connection_is_detected_and_replaced(sink: RecordingSink, run_feed: RunFeed) -> None:
    # First connection goes silent (no frames, TCP stays open); the feed must notice and reconnect.
    with ScriptedVenue([[*btc(1, 2, 3)], [*btc(4, 5, 6)]]) as venue:
        started = time.monotonic()
        run_feed(BinanceFeed(config(venue, symbols=("BTCUSDT",), stale_after_s=0.5, ping_interval_s=0.1)))
        wait_for(lambda: set(sink.ids("BTCUSDT")) == {1, 2, 3, 4, 5, 6}, timeout_s=10, what="ids 1..6")
        assert time.monotonic() - started >= 0.5
        (stale,) = sink.kinds("stale")
        assert stale.detail.startswith("no data frame for") and "stale_after_s=0.5" in stale.detail
        assert [e.kind for e in sink.events if e.kind != "gap_found"][:4] == [
            "connected",
            "stale",
            "disconnected",
            "reconnect",
        ]
        assert len(sink.kinds("connected")) == 2
        assert venue.connections[0].pings >= 2  # client pings kept flowing while the venue was silent
        assert sink.kinds("gap_found") == []


def test_clean_close_by_the_venue_reconnects(sink: RecordingSink, run_feed: RunFeed) -> None:
    with ScriptedVenue([[*btc(1, 2), Close(code=1001, message=b"going away")], [*btc(3)]]) as venue:
        run_feed(BinanceFeed(config(venue, symbols=("BTCUSDT",))))
        wait_for(lambda: set(sink.ids("BTCUSDT")) == {1, 2, 3}, timeout_s=10, what="ids 1..3")
        (disconnected,) = sink.kinds("disconnected")
        assert disconnected.detail == "closed by the venue: code 1001 going away"
        assert len(venue.connections) == 2


def test_restart_fills_the_gap_since_the_last_published_id(sink: RecordingSink, run_feed: RunFeed) -> None:
    with ScriptedVenue([[*btc(1001, 1002)]], rest_trades={"BTCUSDT": list(range(900, 1003))}) as venue:
        feed = BinanceFeed(
            config(venue, symbols=("BTCUSDT",), rest_page_limit=40), initial_last_ids={"BTCUSDT": 950}
        )
        run_feed(feed)
        wait_for(lambda: sink.kinds("gap_filled"), timeout_s=10, what="the restart gap fill")
        assert sorted(sink.ids("BTCUSDT")) == list(range(951, 1003))
        assert gap_counts(sink, "gap_found") == gap_counts(sink, "gap_filled") == [("BTCUSDT", 50)]
        # 50 ids in pages of at most 40: fromId 951 (limit 40) then 991 (limit 10).
        assert [(r.query["fromId"], r.query["limit"]) for r in venue.rest_requests] == [
            ("951", "40"),
            ("991", "10"),
        ]


def test_trades_missed_just_before_a_symbol_went_quiet_are_found_by_the_tail_probe(
    sink: RecordingSink, run_feed: RunFeed
) -> None:
    # 11 and 12 never come over the websocket and nothing follows them, so no id jump reveals them.
    with ScriptedVenue([[*btc(*range(1, 11))]], rest_trades={"BTCUSDT": list(range(1, 13))}) as venue:
        feed = BinanceFeed(config(venue, symbols=("BTCUSDT",), tail_probe_after_s=0.3, tail_probe_max_s=0.6))
        run_feed(feed)
        wait_for(lambda: sink.kinds("gap_filled"), timeout_s=10, what="the tail gap fill")

        assert sorted(sink.ids("BTCUSDT")) == list(range(1, 13))
        assert gap_counts(sink, "gap_found") == gap_counts(sink, "gap_filled") == [("BTCUSDT", 2)]
        assert (
            venue.rest_requests[0].path == "/api/v3/trades" and venue.rest_requests[0].query["limit"] == "1"
        )


def test_gap_filled_trades_carry_the_feeds_venue_name(sink: RecordingSink, run_feed: RunFeed) -> None:
    # The simulated exchange speaks Binance's protocol under venue "sim": its filled trades must not be
    # labelled "binance", or they would travel on another venue's topic.
    with ScriptedVenue([[*btc(1001, 1002)]], rest_trades={"BTCUSDT": list(range(990, 1003))}) as venue:
        feed = BinanceFeed(
            config(venue, symbols=("BTCUSDT",), venue="sim"), initial_last_ids={"BTCUSDT": 995}
        )
        run_feed(feed)
        wait_for(lambda: sink.kinds("gap_filled"), timeout_s=10, what="the restart gap fill")

        assert sorted(sink.ids("BTCUSDT")) == list(range(996, 1003))
        with sink.lock:
            venues = {t.venue for table in sink.tables for t in table_to_ticks(table)}
        assert venues == {"sim"}


def test_rest_failure_reports_gap_fill_failed_and_keeps_the_gap(
    sink: RecordingSink, run_feed: RunFeed
) -> None:
    failures = [(400, {}, '{"code":-1100,"msg":"Illegal characters found in parameter fromId"}')]
    with ScriptedVenue([[*btc(1, 2, 10)]], rest_failures=failures) as venue:
        feed = BinanceFeed(config(venue, symbols=("BTCUSDT",)))
        run_feed(feed)
        wait_for(lambda: sink.kinds("gap_fill_failed"), timeout_s=10, what="gap_fill_failed")
        (failed,) = sink.kinds("gap_fill_failed")
        assert (failed.symbol, failed.count) == ("BTCUSDT", 7)
        assert failed.detail.startswith("ids 3..9: GET http://127.0.0.1:")
        assert (
            "/api/v3/historicalTrades?symbol=BTCUSDT&fromId=3&limit=7 failed with HTTP 400" in failed.detail
        )
        assert "Illegal characters" in failed.detail
        assert len(venue.rest_requests) == 1  # a 400 is not retried
        assert feed.unfilled_gaps() == {"BTCUSDT": [(3, 9)]}


def test_rest_429_during_gap_fill_is_retried_after_retry_after(
    sink: RecordingSink, run_feed: RunFeed
) -> None:
    failures = [(429, {"Retry-After": "1"}, '{"code":-1003,"msg":"Too many requests"}')]
    with ScriptedVenue(
        [[*btc(1, 2, 5)]], rest_trades={"BTCUSDT": [1, 2, 3, 4, 5]}, rest_failures=failures
    ) as venue:
        run_feed(BinanceFeed(config(venue, symbols=("BTCUSDT",))))
        wait_for(lambda: sink.kinds("gap_filled"), timeout_s=10, what="gap_filled")
        assert gap_counts(sink, "gap_filled") == [("BTCUSDT", 2)]
        assert [r.status for r in venue.rest_requests] == [429, 200]
        assert sorted(sink.ids("BTCUSDT")) == [1, 2, 3, 4, 5]


def test_implausible_gap_is_not_fetched(sink: RecordingSink, run_feed: RunFeed) -> None:
    with ScriptedVenue([[*btc(1, 2, 10**12)]]) as venue:
        feed = BinanceFeed(config(venue, symbols=("BTCUSDT",), max_gap_fill_ids=1_000))
        run_feed(feed)
        wait_for(lambda: sink.kinds("gap_fill_failed"), timeout_s=10, what="gap_fill_failed")
        (failed,) = sink.kinds("gap_fill_failed")
        assert failed.count == 10**12 - 3
        assert "more than max_gap_fill_ids=1000" in failed.detail
        assert venue.rest_requests == []
        assert feed.unfilled_gaps() == {"BTCUSDT": [(3, 10**12 - 1)]}


def test_unreachable_venue_retries_with_growing_capped_backoff(
    sink: RecordingSink, run_feed: RunFeed
) -> None:
    with ScriptedVenue([]) as venue:
        port = venue.port
    # The venue is gone: nothing listens on the port any more.
    cfg = BinanceFeedConfig(
        symbols=("BTCUSDT",),
        ws_base_url=f"ws://127.0.0.1:{port}",
        rest_base_url=f"http://127.0.0.1:{port}",
        connect_timeout_s=1.0,
        backoff_initial_s=0.01,
        backoff_max_s=0.04,
    )
    run_feed(BinanceFeed(cfg))
    wait_for(lambda: len(sink.kinds("reconnect")) >= 6, timeout_s=10, what="six reconnect attempts")
    attempts = sink.kinds("reconnect")[:6]
    assert [e.count for e in attempts] == [1, 2, 3, 4, 5, 6]
    delays = [float(e.detail.rsplit("reconnecting in ", 1)[1].split(" s")[0]) for e in attempts]
    ceilings = [0.01, 0.02, 0.04, 0.04, 0.04, 0.04]
    assert all(0 <= d <= c + 0.005 for d, c in zip(delays, ceilings, strict=True)), delays
    assert all("connect to ws://127.0.0.1" in e.detail for e in attempts)
    assert sink.kinds("connected") == []


def test_only_a_connection_that_worked_resets_the_backoff(sink: RecordingSink, run_feed: RunFeed) -> None:
    # Trades then a drop (worked), two short connections without trades (not), trades again (worked),
    # a long quiet one (worked: up >= healthy_after_s), a short quiet one (not).
    scripts = [
        [*btc(1), Drop()],
        [Drop()],
        [Drop()],
        [*btc(2), Drop()],
        [Sleep(0.5), Drop()],
        [Drop()],
        [*btc(3)],
    ]
    with ScriptedVenue(scripts) as venue:
        run_feed(BinanceFeed(config(venue, symbols=("BTCUSDT",), healthy_after_s=0.3)))
        wait_for(lambda: set(sink.ids("BTCUSDT")) == {1, 2, 3}, timeout_s=10, what="ids 1..3")
        assert [e.count for e in sink.kinds("reconnect")] == [1, 2, 3, 1, 1, 2]


def test_config_errors_name_the_setting() -> None:
    with pytest.raises(ValueError, match=r"BinanceFeedConfig.symbols has malformed symbols \['btcusdt'\]"):
        BinanceFeedConfig(symbols=("btcusdt",))
    with pytest.raises(ValueError, match=r"BinanceFeedConfig.flush_interval_s=0 must be a positive number"):
        BinanceFeedConfig(symbols=("BTCUSDT",), flush_interval_s=0)
    with pytest.raises(ValueError, match=r"BinanceFeedConfig.rest_page_limit=5000 must be in 1..1000"):
        BinanceFeedConfig(symbols=("BTCUSDT",), rest_page_limit=5000)
    with pytest.raises(ValueError, match=r"BinanceFeedConfig.symbols='BTCUSDT' must be a non-empty tuple"):
        BinanceFeedConfig(symbols="BTCUSDT")  # type: ignore[arg-type]


def test_stop_during_a_gap_fill_keeps_the_gap_as_unfilled(sink: RecordingSink) -> None:
    failures = [(503, {"Retry-After": "30"}, "maintenance")]
    with ScriptedVenue([[*btc(151)]], rest_failures=failures) as venue:
        feed = BinanceFeed(config(venue, symbols=("BTCUSDT",)), initial_last_ids={"BTCUSDT": 100})
        stop = threading.Event()
        thread = threading.Thread(target=feed.run, args=(sink, stop), daemon=True)
        thread.start()
        try:
            wait_for(lambda: len(venue.rest_requests) == 1, timeout_s=10, what="the first REST request")
        finally:
            stopped_at = time.monotonic()
            stop.set()
            thread.join(10)
        assert not thread.is_alive() and time.monotonic() - stopped_at < 3  # the 30 s wait was cut short
        assert feed.unfilled_gaps() == {"BTCUSDT": [(101, 150)]}
        assert feed.last_ids() == {"BTCUSDT": 151}
        assert gap_counts(sink, "gap_found") == [("BTCUSDT", 50)] and sink.kinds("gap_filled") == []
