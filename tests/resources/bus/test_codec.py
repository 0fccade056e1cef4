"""The record codec: exact round trips, precise decode errors, grouping and chunking by key."""

from __future__ import annotations

import struct

import numpy as np
import pyarrow as pa
import pytest

from resources.bus import DEAD_LETTER_TOPIC, RecordDecodeError, decode, decode_to_table, encode, split_by_key
from resources.bus.codec import (
    MAGIC,
    ROW_DTYPE,
    DeadLetter,
    dead_letter_from_json,
    dead_letter_to_json,
    decode_batch,
    encode_table,
    records_to_table,
)
from tests.resources.bus.conftest import make_ticks, sort_ticks
from trading_assets.core.ticks import TICK_SCHEMA

SYMBOLS = ["BTCUSDT", "ETHUSDT", "SOLUSDT", "BINANCE:XRPUSDT", "ADAUSDT"]


def one_symbol(n: int = 100, symbol: str = "BTCUSDT") -> pa.Table:
    return make_ticks("binance", [symbol], n, first_id=10_000)


def test_round_trip_reproduces_ticks_exactly() -> None:
    ticks = one_symbol(1234)
    content_keys = pa.array(np.arange(-1234, 0, dtype=np.int64))  # venues without ids use negative keys
    ticks = ticks.set_column(2, TICK_SCHEMA.field("trade_id"), content_keys)

    decoded = decode_to_table(encode("binance", "BTCUSDT", ticks))

    assert decoded.schema.equals(TICK_SCHEMA)
    assert decoded.equals(ticks)


def test_record_size_is_header_names_and_49_bytes_per_tick() -> None:
    value = encode("binance", "BTCUSDT", one_symbol(1000))

    assert ROW_DTYPE.itemsize == 49
    assert len(value) == 14 + len("binance") + len("BTCUSDT") + 1000 * 49


def test_decode_of_many_records_is_one_table_in_record_order() -> None:
    a, b = one_symbol(5, "AAA"), one_symbol(7, "BBB")

    table = records_to_table([decode(encode("binance", "AAA", a)), decode(encode("binance", "BBB", b))])

    assert table.equals(pa.concat_tables([a, b]))


def test_empty_record_list_gives_empty_tick_table() -> None:
    assert records_to_table([]).equals(TICK_SCHEMA.empty_table())


@pytest.mark.parametrize(
    ("mangle", "message"),
    [
        (lambda v: b"XXXX" + v[4:], "bad magic b'XXXX'"),
        (lambda v: v[:10], "shorter than the 14-byte header"),
        (lambda v: v[:-1], "truncated: payload is 489 bytes but 10 ticks of 49 bytes need 490 bytes"),
        (lambda v: v + b"\0", "trailing bytes: payload is 491 bytes"),
        (lambda v: v[:14] + b"bin", "truncated: header announces venue 7 + symbol 7 bytes but only 3 bytes"),
        (lambda v: v[:4] + struct.pack("<H", 9) + v[6:], "unsupported format version 9"),
        (lambda v: v[:14] + b"\xff\xfe" + v[16:], "venue name b'\\xff\\xfenance' is not valid UTF-8"),
        (lambda v: b"", "record is 0 bytes"),
        (lambda v: b"garbage, not a tick record at all", "bad magic b'garb'"),
    ],
    ids=["magic", "short-header", "truncated", "trailing", "names", "version", "utf8", "empty", "garbage"],
)
def test_decode_names_what_is_wrong(mangle, message: str) -> None:  # type: ignore[no-untyped-def]
    value = encode("binance", "BTCUSDT", one_symbol(10))

    with pytest.raises(RecordDecodeError) as info:
        decode(mangle(value))

    assert message in str(info.value)


def test_decode_rejects_null_value() -> None:
    with pytest.raises(RecordDecodeError, match="no value"):
        decode(None)


def test_split_by_key_groups_by_venue_and_symbol_keeping_order() -> None:
    ticks = pa.concat_tables(
        [make_ticks("binance", SYMBOLS, 1000), make_ticks("sim", SYMBOLS[:2], 10, first_id=5000)]
    )

    parts = split_by_key(ticks, max_ticks_per_record=10_000)

    keys = [(venue, symbol) for venue, symbol, _ in parts]
    assert (
        keys
        == sorted(keys)
        == sorted({(v, s) for v in ["binance"] for s in SYMBOLS} | {("sim", "BTCUSDT"), ("sim", "ETHUSDT")})
    )
    for venue, symbol, part in parts:
        assert set(part.column("venue").to_pylist()) == {venue}
        assert set(part.column("symbol").to_pylist()) == {symbol}
        assert part.column("trade_id").to_pylist() == sorted(part.column("trade_id").to_pylist())
    assert sort_ticks(pa.concat_tables([p for _, _, p in parts])).equals(sort_ticks(ticks))


def test_split_by_key_chunks_to_max_ticks_per_record() -> None:
    ticks = make_ticks("binance", ["AAA", "BBB"], 2 * 2500)  # 2500 ticks per symbol

    parts = split_by_key(ticks, max_ticks_per_record=1000)

    assert [(s, p.num_rows) for _, s, p in parts] == [
        ("AAA", 1000),
        ("AAA", 1000),
        ("AAA", 500),
        ("BBB", 1000),
        ("BBB", 1000),
        ("BBB", 500),
    ]
    aaa = pa.concat_tables([p for _, s, p in parts if s == "AAA"])
    assert aaa.column("trade_id").to_pylist() == list(range(2, 5001, 2))


def test_split_by_key_of_empty_table_is_empty() -> None:
    assert split_by_key(TICK_SCHEMA.empty_table()) == []


def test_encode_table_matches_split_by_key_then_encode() -> None:
    ticks = make_ticks("binance", SYMBOLS, 7777)

    encoded = encode_table(ticks, max_ticks_per_record=500)

    expected = [(v, s, encode(v, s, part)) for v, s, part in split_by_key(ticks, max_ticks_per_record=500)]
    assert encoded == expected


def test_encode_table_rejects_a_venue_that_cannot_name_a_topic() -> None:
    with pytest.raises(ValueError, match="venue 'Bad Venue' is malformed"):
        encode_table(make_ticks("Bad Venue", ["AAA"], 3))


def test_decode_batch_turns_bad_and_misrouted_records_into_dead_letters() -> None:
    good = encode("binance", "AAA", one_symbol(3, "AAA"))
    records = [
        ("ticks.binance", 0, 0, b"AAA", good),
        ("ticks.binance", 0, 1, b"K", b"junk"),
        ("ticks.sim", 1, 7, b"AAA", good),
        ("ticks.binance", 2, 3, b"BBB", good),
    ]

    table, dead = decode_batch(records)

    assert table.num_rows == 3
    assert [(d.topic, d.partition, d.offset) for d in dead] == [
        ("ticks.binance", 0, 1),
        ("ticks.sim", 1, 7),
        ("ticks.binance", 2, 3),
    ]
    assert "record is 4 bytes" in dead[0].reason
    assert "venue 'binance' does not belong on topic 'ticks.sim'" in dead[1].reason
    assert "key b'BBB' is not the record's symbol 'AAA'" in dead[2].reason


def test_dead_letter_json_round_trip() -> None:
    letter = DeadLetter(
        topic="ticks.x", partition=2, offset=41, key=None, value=MAGIC + b"\xff", reason="bad"
    )

    assert dead_letter_from_json(dead_letter_to_json(letter)) == letter
    with pytest.raises(ValueError, match="not a dead-letter record"):
        dead_letter_from_json(b"{}")
    assert DEAD_LETTER_TOPIC == "ticks.dead-letters"
