"""BinanceFrameParser.add_many (the frames of one socket read at once): the same result as add, frame by frame.

The well-formed frames of a read are decoded together (typed, in C); a read with any other frame goes
through add one frame at a time. Either way the batch must be exactly what add alone gives.
"""

from __future__ import annotations

import random

import orjson
import pytest

from resources.exchange_feed.binance.wire import BinanceFrameParser
from resources.exchange_feed.wire import ParsedBatch
from tests.trading_assets.market.test_wire import (
    _DROP,
    BINANCE_ACK,
    BINANCE_COMBINED,
    BINANCE_ERROR,
    BINANCE_MALFORMED,
    BINANCE_RAW,
    RECEIVED_US,
    _binance_event,
)

Reads = list[list[bytes]]


def _combined(trade_id: int, symbol: str = "BTCUSDT") -> bytes:
    return _binance_event(t=trade_id, s=symbol, p=f"{16_000 + trade_id / 100:.8f}", m=trade_id % 2 == 0)


def _raw(trade_id: int) -> bytes:
    return orjson.dumps(orjson.loads(_combined(trade_id))["data"])


def _frame_by_frame(reads: Reads) -> ParsedBatch:
    parser = BinanceFrameParser()
    for i, frames in enumerate(reads):
        for frame in frames:
            parser.add(frame, RECEIVED_US + i)
    return parser.take()


def _together(reads: Reads, parser: BinanceFrameParser | None = None) -> tuple[ParsedBatch, list[int]]:
    parser = parser or BinanceFrameParser()
    added = [parser.add_many(frames, RECEIVED_US + i) for i, frames in enumerate(reads)]
    return parser.take(), added


def _assert_same(reads: Reads) -> None:
    expected = _frame_by_frame(reads)
    actual, added = _together(reads)
    # repr: NaN prices ("nan" is a decimal string to float()) compare equal that way.
    assert repr(actual.ticks.to_pylist()) == repr(expected.ticks.to_pylist())
    assert actual.ticks.schema.equals(expected.ticks.schema)
    assert actual.malformed == expected.malformed
    assert actual.venue_errors == expected.venue_errors
    assert (actual.frames, actual.control_frames) == (expected.frames, expected.control_frames)
    assert sum(added) == expected.ticks.num_rows


def test_well_formed_reads_are_decoded_together_without_the_per_frame_path() -> None:
    # Arrange: combined-stream reads, then raw-endpoint reads (the decoder switches), then combined again
    reads = [
        [_combined(i) for i in range(1, 400)],
        [_combined(i, "ETHUSDT") for i in range(1, 50)],
        [_raw(i) for i in range(400, 420)],
        [BINANCE_RAW],
        [BINANCE_COMBINED, _combined(421)],
    ]
    parser = BinanceFrameParser()

    def per_frame(frame: bytes | str, receive_time_us: int) -> int:
        raise AssertionError(f"the per-frame path was taken for {frame!r}")

    parser.add = per_frame  # type: ignore[method-assign]

    # Act
    batch, added = _together(reads, parser)

    # Assert: every trade, in order, each with its read's receive time, as add gives them
    expected = _frame_by_frame(reads)
    assert added == [len(frames) for frames in reads]
    assert batch.ticks.equals(expected.ticks)
    assert batch.ticks.column("receive_time_us").to_pylist()[398:400] == [RECEIVED_US, RECEIVED_US + 1]
    assert (batch.frames, batch.control_frames, batch.malformed) == (expected.frames, 0, ())


@pytest.mark.parametrize(
    "odd",
    [
        BINANCE_ACK,
        BINANCE_ERROR,
        b'{"code":-1121,"msg":"Invalid symbol."}',
        *(f for f, _ in BINANCE_MALFORMED),
    ],
    ids=["ack", "error", "code-error", *(r for _, r in BINANCE_MALFORMED)],
)
def test_a_read_with_any_other_frame_gives_what_add_gives(odd: bytes) -> None:
    _assert_same([[_combined(1), _combined(2)], [_combined(3), odd, _combined(4)], [odd], [_combined(5)]])


# Frames a looser fast path would read differently from add: each must end as add has it.
EDGE_CASES: list[bytes] = [
    b'{"stream":"btcusdt@trade","data":{"e":"trade","E":1672515782136,"s":"BTCUSDT","t":7,"t":8,'
    b'"p":"1.5","q":"2","T":1672515782134,"m":true,"M":true}}',  # a duplicate key: the last one counts
    b'{"stream":"btcusdt@trade","data":{"e":"trade","E":1672515782136,"s":"BTCUSDT","t":"x","t":9,'
    b'"p":"1.5","q":"2","T":1672515782134,"m":true,"M":true}}',  # a bad value overwritten by a good one
    _binance_event(X="unknown field"),
    _binance_event(X="\udcff".encode("utf-8", "surrogateescape").decode("latin-1")),
    b'{"stream":"x","data":{"e":"trade","E":1672515782136,"s":"BTCUSDT","t":7,"p":"1.5","q":"2",'
    b'"T":1672515782134,"m":true,"M":true,"junk":"\xff"}}',  # invalid UTF-8 in a field add ignores
    b'{"stream":"x","data":{"e":"trade","E":1672515782136,"s":"BTCUSDT","t":7,"p":"1.5","q":"2",'
    b'"T":1672515782134,"m":true,"M":true,"n":1e999}}',  # a number orjson refuses, in an unknown field
    _binance_event(p="1e5"),
    _binance_event(p=" 1.5 "),
    _binance_event(p="nan"),
    _binance_event(q="1_000"),
    _binance_event(p="\u0661\u0662"),  # Arabic-Indic digits: float() takes them
    _binance_event(M=_DROP),
    _binance_event(M=None),
    _binance_event(M="yes"),
    _binance_event(E=0),
    _binance_event(T=2**62),
    _binance_event(t=0),
    _binance_event(s="BTC\u00e9"),
    orjson.dumps({"stream": 5, "data": orjson.loads(_combined(7))["data"]}),
    orjson.dumps({"data": orjson.loads(_combined(7))["data"]}),
    orjson.dumps({**orjson.loads(_combined(7))["data"], "data": {"e": "trade"}}),
    orjson.dumps({**orjson.loads(_combined(7))["data"], "stream": "raw with a stream field"}),
    b'{"stream":"btcusdt@trade","data":{"e":"tr\\u0061de","E":1672515782136,"s":"BTC\\u0055SDT","t":7,'
    b'"p":"1.5","q":"2","T":1672515782134,"m":true,"M":true}}',  # escapes
    b" \n" + _combined(7) + b"\t ",  # whitespace around the document
    _combined(7) + b"\x00",
    b'{"stream":"btcusdt@trade","data":{"e":"trade","E":1672515782136.0,"s":"BTCUSDT","t":7,'
    b'"p":"1.5","q":"2","T":1672515782134,"m":true,"M":true}}',
    b'{"stream":"btcusdt@trade","data":{"e":"trade","E":1672515782136,"s":"BTCUSDT","t":-0,'
    b'"p":"1.5","q":"2","T":1672515782134,"m":true,"M":true}}',
    b'{"stream":"btcusdt@trade","data":{"e":"trade","E":1672515782136,"s":"\\ud800","t":7,'
    b'"p":"1.5","q":"2","T":1672515782134,"m":true,"M":true}}',  # a lone surrogate
]


@pytest.mark.parametrize("frame", EDGE_CASES, ids=[str(i) for i in range(len(EDGE_CASES))])
def test_frames_a_typed_decoder_might_read_otherwise_end_as_add_has_them(frame: bytes) -> None:
    _assert_same([[frame], [_combined(1), frame, _combined(2)], [frame, _raw(3)]])


def test_randomly_damaged_frames_in_random_reads_end_as_add_has_them() -> None:
    # Arrange: well-formed frames (combined and raw), a third of them damaged byte-wise, split into reads
    rng = random.Random(20261201)
    frames = []
    for trade_id in range(1, 3_001):
        frame = bytearray(_combined(trade_id) if rng.random() < 0.8 else _raw(trade_id))
        if rng.random() < 0.33:
            for _ in range(rng.randint(1, 3)):
                at = rng.randrange(len(frame))
                action = rng.random()
                if action < 0.4:
                    frame[at] = rng.choice(b'"{}[],:0123456789.-eE \\tfnaul\xff\x00')
                elif action < 0.7:
                    del frame[at]
                else:
                    frame.insert(at, rng.randrange(256))
        frames.append(bytes(frame))
    reads: Reads = []
    while frames:
        size = rng.choice((1, 2, 5, 40, 300))
        reads.append(frames[:size])
        frames = frames[size:]

    # Act / Assert
    _assert_same(reads)
