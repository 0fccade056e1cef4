"""Wire parsing: exact ticks from documented frame formats, precise reasons for every malformed frame."""

from __future__ import annotations

import numpy as np
import orjson
import pyarrow as pa
import pytest

from resources.exchange_feed.binance.wire import BinanceFrameParser, parse_binance_rest_trades
from resources.exchange_feed.finnhub.wire import FinnhubFrameParser
from trading_assets.core.ticks import (
    TICK_SCHEMA,
    Side,
    Tick,
    content_trade_ids,
    table_to_ticks,
    ticks_to_table,
)

RECEIVED_US = 1_672_515_782_200_000

# Examples in the shape of Binance's "Trade Streams" documentation, raw and combined-stream wrapped.
BINANCE_RAW = (
    b'{"e":"trade","E":1672515782136,"s":"BNBBTC","t":12345,"p":"0.001","q":"100",'
    b'"T":1672515782134,"m":true,"M":true}'
)
BINANCE_COMBINED = (
    b'{"stream":"btcusdt@trade","data":{"e":"trade","E":1672515782140,"s":"BTCUSDT","t":3000000001,'
    b'"p":"16542.17000000","q":"0.00120000","T":1672515782139,"m":false,"M":true}}'
)
BINANCE_ACK = b'{"result":null,"id":1}'
BINANCE_ERROR = b'{"error":{"code":2,"msg":"Invalid request: unknown variant `SUBSCRIBEE`"},"id":1}'
# Binance's "Old trade lookup" (GET /api/v3/historicalTrades) example response.
BINANCE_REST = (
    b'[{"id":28457,"price":"4.00000100","qty":"12.00000000","quoteQty":"48.000012",'
    b'"time":1499865549590,"isBuyerMaker":true,"isBestMatch":true},'
    b'{"id":28458,"price":"4.00000200","qty":"1.50000000","quoteQty":"6.000003",'
    b'"time":1499865549591,"isBuyerMaker":false,"isBestMatch":true}]'
)
# Finnhub's websocket trades example, with two trades in the frame.
FINNHUB_TRADES = (
    b'{"data":[{"p":7296.89,"s":"BINANCE:BTCUSDT","t":1575526691134,"v":0.011467,"c":null},'
    b'{"p":7296.9,"s":"BINANCE:BTCUSDT","t":1575526691135,"v":2,"c":["1","12"]}],"type":"trade"}'
)


def _binance_event(**changes: object) -> bytes:
    event: dict[str, object] = {
        "e": "trade",
        "E": 1672515782136,
        "s": "BTCUSDT",
        "t": 7,
        "p": "16542.17",
        "q": "0.5",
        "T": 1672515782134,
        "m": True,
        "M": True,
    }
    for key, value in changes.items():
        if value is _DROP:
            event.pop(key)
        else:
            event[key] = value
    return orjson.dumps({"stream": "btcusdt@trade", "data": event})


_DROP = object()


def test_binance_trade_events_parse_exactly() -> None:
    parser = BinanceFrameParser()
    assert parser.add(BINANCE_RAW, RECEIVED_US) == 1
    assert parser.add(BINANCE_COMBINED.decode(), RECEIVED_US + 1) == 1  # str frames work too
    assert parser.add(BINANCE_ACK, RECEIVED_US + 2) == 0
    assert parser.pending() == 2
    batch = parser.take()
    assert batch.ticks.schema.equals(TICK_SCHEMA)
    assert batch.malformed == () and batch.venue_errors == ()
    assert (batch.frames, batch.control_frames) == (3, 1)
    assert table_to_ticks(batch.ticks) == [
        Tick(
            venue="binance",
            symbol="BNBBTC",
            trade_id=12345,
            price=0.001,
            quantity=100.0,
            side=Side.SELL,
            trade_time_us=1672515782134000,
            event_time_us=1672515782136000,
            receive_time_us=RECEIVED_US,
        ),
        Tick(
            venue="binance",
            symbol="BTCUSDT",
            trade_id=3000000001,
            price=16542.17,
            quantity=0.0012,
            side=Side.BUY,
            trade_time_us=1672515782139000,
            event_time_us=1672515782140000,
            receive_time_us=RECEIVED_US + 1,
        ),
    ]
    assert parser.pending() == 0 and parser.take().ticks.num_rows == 0


def test_binance_venue_errors_are_reported_not_malformed() -> None:
    parser = BinanceFrameParser()
    parser.add(BINANCE_ERROR, RECEIVED_US)
    parser.add(b'{"code":-1121,"msg":"Invalid symbol."}', RECEIVED_US)
    batch = parser.take()
    assert batch.malformed == () and batch.ticks.num_rows == 0
    assert batch.venue_errors == (
        '{"code":2,"msg":"Invalid request: unknown variant `SUBSCRIBEE`"}',
        '{"code":-1121,"msg":"Invalid symbol."}',
    )


BINANCE_MALFORMED: list[tuple[bytes, str]] = [
    (b"not json{", "not JSON: "),
    (b'{"e":"trade","E":1,', "not JSON: "),
    (b"\xff\xfe{}", "not JSON: "),
    (b"[1, 2]", "expected a JSON object, got list"),
    (b'"trade"', "expected a JSON object, got str"),
    (b'{"stream":"x","data":[]}', "field 'data' = [] is list, not an object"),
    (b'{"foo":1}', "not a trade event, ack or error: no field 'e' in ['foo']"),
    (_binance_event(e="aggTrade"), "field 'e' (event type) = 'aggTrade' is not 'trade'"),
    (_binance_event(p=_DROP), "missing field 'p' (price)"),
    (_binance_event(s=_DROP), "missing field 's' (symbol)"),
    (_binance_event(p="abc"), "field 'p' (price) = 'abc' is not a decimal number"),
    (_binance_event(p=16542.17), "field 'p' (price) = 16542.17 is float, not a decimal string"),
    (_binance_event(q=None), "field 'q' (quantity) = None is null, not a decimal string"),
    (_binance_event(t="12"), "field 't' (trade id) = '12' is str, not an integer"),
    (_binance_event(t=-3), "field 't' (trade id) = -3 is out of range [0, 9223372036854775807]"),
    (_binance_event(t=2**63), "field 't' (trade id) = 9223372036854775808 is out of range"),
    (_binance_event(t=True), "field 't' (trade id) = True is bool, not an integer"),
    (_binance_event(T=None), "field 'T' (trade time) = None is null, not an integer"),
    (_binance_event(E=10**17), "field 'E' (event time) = 100000000000000000 is out of range"),
    (_binance_event(m="true"), "field 'm' (buyer-is-maker flag) = 'true' is str, not a boolean"),
    (_binance_event(s=""), "field 's' (symbol) = '' is not a non-empty string"),
]


@pytest.mark.parametrize(("frame", "reason"), BINANCE_MALFORMED, ids=[r for _, r in BINANCE_MALFORMED])
def test_binance_malformed_frame_has_precise_reason(frame: bytes, reason: str) -> None:
    parser = BinanceFrameParser()
    assert parser.add(_binance_event(t=1), RECEIVED_US) == 1
    assert parser.add(frame, RECEIVED_US) == 0
    assert parser.add(_binance_event(t=2), RECEIVED_US) == 1
    batch = parser.take()
    assert batch.ticks.column("trade_id").to_pylist() == [1, 2]
    assert len(batch.malformed) == 1
    (bad,) = batch.malformed
    assert bad.venue == "binance" and bad.raw == frame
    assert bad.reason.startswith(reason), bad.reason


def test_binance_all_malformed_in_one_batch_keep_good_frames() -> None:
    parser = BinanceFrameParser()
    for i, (frame, _) in enumerate(BINANCE_MALFORMED):
        parser.add(frame, RECEIVED_US)
        parser.add(_binance_event(t=100 + i), RECEIVED_US)
    batch = parser.take()
    assert batch.ticks.column("trade_id").to_pylist() == [100 + i for i in range(len(BINANCE_MALFORMED))]
    assert [m.raw for m in batch.malformed] == [f for f, _ in BINANCE_MALFORMED]


def test_binance_rest_trades_parse_exactly() -> None:
    batch = parse_binance_rest_trades(BINANCE_REST, symbol="BNBBTC", receive_time_us=RECEIVED_US)
    assert batch.malformed == ()
    assert table_to_ticks(batch.ticks) == [
        Tick(
            venue="binance",
            symbol="BNBBTC",
            trade_id=28457,
            price=4.000001,
            quantity=12.0,
            side=Side.SELL,
            trade_time_us=1499865549590000,
            event_time_us=1499865549590000,
            receive_time_us=RECEIVED_US,
        ),
        Tick(
            venue="binance",
            symbol="BNBBTC",
            trade_id=28458,
            price=4.000002,
            quantity=1.5,
            side=Side.BUY,
            trade_time_us=1499865549591000,
            event_time_us=1499865549591000,
            receive_time_us=RECEIVED_US,
        ),
    ]


def test_binance_rest_bad_items_are_reported_and_the_rest_parse() -> None:
    items = orjson.loads(BINANCE_REST)
    body = orjson.dumps([items[0], {**items[1], "price": "x"}, 5, {**items[1], "id": 28459}])
    batch = parse_binance_rest_trades(body, symbol="BNBBTC", receive_time_us=RECEIVED_US)
    assert batch.ticks.column("trade_id").to_pylist() == [28457, 28459]
    assert [m.reason for m in batch.malformed] == [
        "item 1: field 'price' (price) = 'x' is not a decimal number",
        "item 2: expected an object, got int",
    ]
    for body, reason in ((b"<html>", "not JSON"), (b'{"code":-1100}', "expected a JSON list, got dict")):
        batch = parse_binance_rest_trades(body, symbol="BNBBTC", receive_time_us=RECEIVED_US)
        assert batch.ticks.num_rows == 0 and batch.malformed[0].reason.startswith(reason)


def test_finnhub_trades_parse_with_content_keys() -> None:
    parser = FinnhubFrameParser()
    assert parser.add(FINNHUB_TRADES, RECEIVED_US) == 2
    assert parser.add(b'{"type":"ping"}', RECEIVED_US) == 0
    batch = parser.take()
    assert (batch.frames, batch.control_frames, batch.malformed) == (2, 1, ())
    times = np.array([1575526691134000, 1575526691135000], dtype=np.int64)
    expected_keys = content_trade_ids(
        ["BINANCE:BTCUSDT"] * 2, times, np.array([7296.89, 7296.9]), np.array([0.011467, 2.0])
    )
    expected = pa.table(
        {
            "venue": ["finnhub"] * 2,
            "symbol": ["BINANCE:BTCUSDT"] * 2,
            "trade_id": expected_keys,
            "price": [7296.89, 7296.9],
            "quantity": [0.011467, 2.0],
            "side": pa.array([0, 0], pa.int8()),
            "trade_time_us": times,
            "event_time_us": times,
            "receive_time_us": [RECEIVED_US] * 2,
        },
        schema=TICK_SCHEMA,
    )
    assert batch.ticks.equals(expected)
    assert all(key < 0 for key in expected_keys)


def test_finnhub_content_keys_are_stable() -> None:
    def keys(frame: bytes, received: int) -> list[int]:
        parser = FinnhubFrameParser()
        parser.add(frame, received)
        return parser.take().ticks.column("trade_id").to_pylist()

    first = keys(FINNHUB_TRADES, RECEIVED_US)
    assert keys(FINNHUB_TRADES, RECEIVED_US + 5_000_000) == first  # receive time is not content
    assert first[0] != first[1]
    assert keys(FINNHUB_TRADES.replace(b"7296.89", b"7296.88"), RECEIVED_US)[0] != first[0]
    # Same keys as ticks_to_table gives for trade_id=None, so every part of tradegraph agrees.
    tick = Tick(
        venue="finnhub",
        symbol="BINANCE:BTCUSDT",
        trade_id=None,
        price=7296.89,
        quantity=0.011467,
        side=Side.UNKNOWN,
        trade_time_us=1575526691134000,
        event_time_us=1575526691134000,
        receive_time_us=RECEIVED_US,
    )
    assert ticks_to_table([tick]).column("trade_id").to_pylist() == first[:1]


def test_finnhub_error_is_reported() -> None:
    parser = FinnhubFrameParser()
    parser.add(b'{"type":"error","msg":"Subscribing to too many symbols"}', RECEIVED_US)
    batch = parser.take()
    assert batch.venue_errors == ("Subscribing to too many symbols",) and batch.malformed == ()


FINNHUB_MALFORMED: list[tuple[bytes, str]] = [
    (b"garbage", "not JSON: "),
    (b"[]", "expected a JSON object, got list"),
    (b'{"data":[]}', "missing field 'type' in object with keys ['data']"),
    (b'{"type":"news"}', "field 'type' = 'news' is not 'trade', 'ping' or 'error'"),
    (b'{"type":"trade"}', "field 'data' = None is null, not a list"),
    (b'{"type":"trade","data":{"p":1}}', "field 'data' = {'p': 1} is dict, not a list"),
    (b'{"type":"trade","data":[7]}', "data[0]: expected an object, got int"),
    (b'{"type":"trade","data":[{"s":"X:Y","t":1575526691134,"v":1}]}', "data[0]: missing field 'p' (price)"),
    (
        b'{"type":"trade","data":[{"p":"7296.89","s":"X:Y","t":1575526691134,"v":1}]}',
        "data[0]: field 'p' (price) = '7296.89' is str, not a number",
    ),
    (
        b'{"type":"trade","data":[{"p":1.0,"s":"X:Y","t":1575526691134.5,"v":1}]}',
        "data[0]: field 't' (trade time) = 1575526691134.5 is float, not an integer",
    ),
    (
        b'{"type":"trade","data":[{"p":1.0,"s":null,"t":1575526691134,"v":true}]}',
        "data[0]: field 's' (symbol) = None is not a non-empty string",
    ),
    (
        b'{"type":"trade","data":[{"p":1.0,"s":"X:Y","t":1575526691134,"v":true}]}',
        "data[0]: field 'v' (volume) = True is bool, not a number",
    ),
]


@pytest.mark.parametrize(("frame", "reason"), FINNHUB_MALFORMED, ids=[r for _, r in FINNHUB_MALFORMED])
def test_finnhub_malformed_frame_has_precise_reason(frame: bytes, reason: str) -> None:
    parser = FinnhubFrameParser()
    parser.add(FINNHUB_TRADES, RECEIVED_US)
    parser.add(frame, RECEIVED_US)
    parser.add(FINNHUB_TRADES, RECEIVED_US)
    batch = parser.take()
    assert batch.ticks.num_rows == 4
    (bad,) = batch.malformed
    assert bad.venue == "finnhub" and bad.raw == frame
    assert bad.reason.startswith(reason), bad.reason


def test_finnhub_frame_with_some_bad_trades_keeps_the_good_ones() -> None:
    trades = orjson.loads(FINNHUB_TRADES)["data"]
    frame = orjson.dumps(
        {"type": "trade", "data": [trades[0], {**trades[1], "p": None}, trades[1], {**trades[0], "t": "x"}]}
    )
    parser = FinnhubFrameParser()
    assert parser.add(frame, RECEIVED_US) == 2
    batch = parser.take()
    assert batch.ticks.column("price").to_pylist() == [7296.89, 7296.9]
    assert batch.ticks.column("receive_time_us").to_pylist() == [RECEIVED_US] * 2
    (bad,) = batch.malformed
    assert bad.reason == ("data[1]: field 'p' (price) = None is null, not a number (and 1 more bad trades)")
