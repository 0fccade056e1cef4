"""BinanceRestClient against a real HTTP server on 127.0.0.1: what is retried, what is not, and how."""

from __future__ import annotations

import socket
import threading
import time

import orjson
import pytest

from resources.exchange_feed.binance.rest import BinanceRestClient
from resources.exchange_feed.rest import RestError, parse_retry_after, safe_url
from tests.resources.exchange_feed.venue import ScriptedVenue, binance_rest_trade


def client(venue_url: str, **overrides: object) -> BinanceRestClient:
    settings: dict[str, object] = {
        "api_key": "secret-key-42",
        "timeout_s": 2.0,
        "max_attempts": 3,
        "backoff_initial_s": 0.01,
        "backoff_max_s": 0.05,
    }
    settings.update(overrides)
    return BinanceRestClient(venue_url, **settings)  # type: ignore[arg-type]


def test_historical_trades_returns_the_body_and_sends_the_key() -> None:
    with ScriptedVenue([], rest_trades={"BTCUSDT": list(range(1, 20))}) as venue:
        body = client(venue.http_base).historical_trades("BTCUSDT", from_id=5, limit=3)
        assert orjson.loads(body) == [binance_rest_trade("BTCUSDT", i) for i in (5, 6, 7)]
        (request,) = venue.rest_requests
        assert request.query == {"symbol": "BTCUSDT", "fromId": "5", "limit": "3"}
        assert request.api_key == "secret-key-42"


def test_429_is_retried_after_retry_after() -> None:
    failures = [(429, {"Retry-After": "1"}, '{"code":-1003,"msg":"Too many requests"}')]
    with ScriptedVenue([], rest_trades={"BTCUSDT": [1]}, rest_failures=failures) as venue:
        started = time.monotonic()
        body = client(venue.http_base, backoff_initial_s=5.0).historical_trades("BTCUSDT", from_id=1)
        elapsed = time.monotonic() - started
        assert orjson.loads(body)[0]["id"] == 1
        assert [r.status for r in venue.rest_requests] == [429, 200]
        assert 1.0 <= elapsed < 3.0  # Retry-After, not the 5 s backoff ceiling


def test_5xx_and_418_are_retried_with_backoff() -> None:
    failures = [(503, {}, "unavailable"), (418, {}, "banned for now"), (502, {}, "bad gateway")]
    with ScriptedVenue([], rest_trades={"BTCUSDT": [1]}, rest_failures=failures) as venue:
        body = client(venue.http_base, max_attempts=4).historical_trades("BTCUSDT", from_id=1)
        assert orjson.loads(body)[0]["id"] == 1
        assert [r.status for r in venue.rest_requests] == [503, 418, 502, 200]


def test_400_is_not_retried_and_the_error_names_url_status_and_answer() -> None:
    failures = [(400, {}, '{"code":-1121,"msg":"Invalid symbol."}')]
    with ScriptedVenue([], rest_failures=failures) as venue:
        with pytest.raises(RestError) as caught:
            client(venue.http_base).historical_trades("NOPE", from_id=1, limit=10)
        error = caught.value
        assert str(error) == (
            f"GET {venue.http_base}/api/v3/historicalTrades?symbol=NOPE&fromId=1&limit=10 failed with "
            'HTTP 400: {"code":-1121,"msg":"Invalid symbol."} (not retried)'
        )
        assert (error.status, error.attempts) == (400, 1)
        assert len(venue.rest_requests) == 1
        assert "secret-key-42" not in str(error) and "secret-key-42" not in repr(client(venue.http_base))


def test_retries_are_bounded() -> None:
    failures = [(502, {}, "bad gateway")] * 5
    with ScriptedVenue([], rest_failures=failures) as venue:
        with pytest.raises(
            RestError, match=r"failed after 3 attempts; last: HTTP 502: bad gateway"
        ) as caught:
            client(venue.http_base).historical_trades("BTCUSDT", from_id=1)
        assert caught.value.attempts == 3 and len(venue.rest_requests) == 3


def test_retry_after_beyond_the_limit_fails_at_once() -> None:
    failures = [(418, {"Retry-After": "3600"}, '{"code":-1003,"msg":"Way too many requests; IP banned"}')]
    with ScriptedVenue([], rest_failures=failures) as venue:
        with pytest.raises(RestError, match=r"asks to retry after 3600 s, more than max_retry_after_s=120"):
            client(venue.http_base).historical_trades("BTCUSDT", from_id=1)
        assert len(venue.rest_requests) == 1


def test_connection_errors_are_retried_then_reported() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again below: nothing listens there
    with pytest.raises(RestError, match=r"failed after 3 attempts; last: ConnectionError") as caught:
        client(f"http://127.0.0.1:{port}").historical_trades("BTCUSDT", from_id=1)
    assert caught.value.status is None and caught.value.attempts == 3


def test_stop_abandons_the_wait() -> None:
    stop = threading.Event()
    failures = [(503, {"Retry-After": "30"}, "maintenance")]
    with ScriptedVenue([], rest_failures=failures) as venue:
        threading.Timer(0.2, stop.set).start()
        started = time.monotonic()
        with pytest.raises(RestError, match="abandoned: stopping"):
            client(venue.http_base, stop=stop).historical_trades("BTCUSDT", from_id=1)
        assert time.monotonic() - started < 5


def test_parse_retry_after() -> None:
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(" 0.5 ") == 0.5
    assert parse_retry_after(None) is None and parse_retry_after("soon") is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == 10.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412490.0) == 0.0


def test_safe_url_drops_user_info() -> None:
    assert safe_url("https://user:pw@api.binance.com:443/x?y=1") == "https://api.binance.com:443/x?y=1"
    assert safe_url("https://api.binance.com/x") == "https://api.binance.com/x"
