import dataclasses
import math

import numpy as np
import pytest

from tests.trading_assets.market.test_ticks import make_tick
from trading_assets.core.ticks import ticks_to_table
from trading_assets.core.validation import (
    TickValidationError,
    detect_unit,
    to_microseconds,
    to_microseconds_array,
    validate_table,
    validate_tick,
)

TRADE_MS = 1_575_526_691_134


@pytest.mark.parametrize(
    ("value", "unit"),
    [(TRADE_MS // 1000, "s"), (TRADE_MS, "ms"), (TRADE_MS * 1000, "us"), (TRADE_MS * 1_000_000, "ns")],
)
def test_timestamp_unit_is_detected_and_normalised_to_microseconds(value: int, unit: str) -> None:
    assert detect_unit(value) == unit
    expected = TRADE_MS * 1000 if unit != "s" else TRADE_MS // 1000 * 1_000_000
    assert to_microseconds(value) == expected
    assert to_microseconds_array(np.array([value]))[0] == expected


@pytest.mark.parametrize("value", [0, 5, -TRADE_MS, 9 * 10**18, 900_000_000])
def test_timestamps_in_no_unit_are_rejected_with_the_value(value: int) -> None:
    with pytest.raises(TickValidationError, match=str(value)):
        detect_unit(value)
    assert to_microseconds_array(np.array([value], dtype=np.int64))[0] == -1


def test_valid_tick_in_milliseconds_comes_back_in_microseconds() -> None:
    tick = make_tick(trade_time_us=TRADE_MS, event_time_us=TRADE_MS, receive_time_us=TRADE_MS + 5)

    checked = validate_tick(tick)

    assert checked.trade_time_us == TRADE_MS * 1000
    assert checked.receive_time_us == (TRADE_MS + 5) * 1000


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("price", 0.0, "price 0.0 of BTCUSDT must be positive and finite"),
        ("price", -1.0, "price -1.0"),
        ("price", math.nan, "price nan"),
        ("quantity", math.inf, "quantity inf"),
        ("symbol", "btc usdt", "symbol 'btc usdt' is malformed"),
        ("symbol", "", "symbol '' is malformed"),
        ("venue", "Binance!", "venue 'Binance!' is malformed"),
        ("trade_time_us", 42, "trade_time_us of BTCUSDT: timestamp 42"),
    ],
)
def test_invalid_tick_error_names_the_field_and_value(field: str, value: object, message: str) -> None:
    tick = dataclasses.replace(make_tick(), **{field: value})

    with pytest.raises(TickValidationError, match=message.replace("(", r"\(").replace(")", r"\)")):
        validate_tick(tick)


def test_trade_far_in_the_future_is_rejected() -> None:
    tick = make_tick(
        trade_time_us=1_700_000_000_000_000 + 7_200_000_000, receive_time_us=1_700_000_000_000_000
    )

    with pytest.raises(TickValidationError, match="7200 s after its receive time"):
        validate_tick(tick)


def test_validate_table_keeps_good_rows_in_order_and_explains_each_bad_row() -> None:
    rows = [
        make_tick(trade_id=1),
        make_tick(trade_id=2, price=-5.0),
        make_tick(trade_id=3, symbol="bad symbol"),
        make_tick(trade_id=4, trade_time_us=TRADE_MS, event_time_us=TRADE_MS, receive_time_us=TRADE_MS),
        make_tick(trade_id=5, trade_time_us=1_900_000_000_000_000),
    ]

    result = validate_table(ticks_to_table(rows))

    assert result.valid.column("trade_id").to_pylist() == [1, 4]
    assert result.valid.column("trade_time_us").to_pylist()[1] == TRADE_MS * 1000
    assert [r.row for r in result.rejected] == [1, 2, 4]
    assert "price -5.0" in result.rejected[0].reason
    assert "symbol 'bad symbol'" in result.rejected[1].reason
    assert "after receive time" in result.rejected[2].reason


def test_validate_table_on_all_good_rows_rejects_nothing() -> None:
    table = ticks_to_table([make_tick(trade_id=i) for i in range(100)])

    result = validate_table(table)

    assert result.valid.equals(table)
    assert result.rejected == ()


def test_validate_table_matches_each_name_in_full_in_every_row_it_appears() -> None:
    # Names are matched once per distinct value: every row of a bad one is rejected, and a trailing
    # newline (which a Python "$" alone would let through) is not a symbol.
    rows = [
        make_tick(trade_id=1),
        make_tick(trade_id=2, symbol="BTC\n"),
        make_tick(trade_id=3),
        make_tick(trade_id=4, symbol="BTC\n"),
        make_tick(trade_id=5, venue="Binance"),
    ]

    result = validate_table(ticks_to_table(rows))

    assert result.valid.column("trade_id").to_pylist() == [1, 3]
    assert [r.row for r in result.rejected] == [1, 3, 4]
    assert "symbol 'BTC\\n' is malformed" in result.rejected[0].reason
    assert "venue 'Binance' is malformed" in result.rejected[2].reason


def test_timestamps_all_in_microseconds_come_back_as_they_are_in_a_new_array() -> None:
    values = np.array([TRADE_MS * 1000, TRADE_MS * 1000 + 1], dtype=np.int64)

    normalised = to_microseconds_array(values)

    assert normalised.tolist() == values.tolist()
    assert normalised is not values
