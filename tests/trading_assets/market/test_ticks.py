import pyarrow as pa
import pytest

from trading_assets.core.ticks import (
    TICK_SCHEMA,
    Side,
    Tick,
    conform,
    content_trade_ids,
    table_to_ticks,
    ticks_to_table,
)


def make_tick(**overrides: object) -> Tick:
    fields = dict(
        venue="binance",
        symbol="BTCUSDT",
        trade_id=12,
        price=65_000.5,
        quantity=0.01,
        side=Side.BUY,
        trade_time_us=1_700_000_000_000_000,
        event_time_us=1_700_000_000_001_000,
        receive_time_us=1_700_000_000_002_000,
    )
    fields.update(overrides)
    return Tick(**fields)  # type: ignore[arg-type]


def test_tick_round_trips_through_a_table_unchanged() -> None:
    ticks = [make_tick(), make_tick(trade_id=13, side=Side.SELL, price=64_999.0)]

    table = ticks_to_table(ticks)

    assert table.schema.equals(TICK_SCHEMA)
    assert table_to_ticks(table) == ticks


def test_ticks_without_trade_id_get_equal_negative_keys_for_equal_content() -> None:
    a = make_tick(venue="finnhub", trade_id=None)
    b = make_tick(venue="finnhub", trade_id=None)
    c = make_tick(venue="finnhub", trade_id=None, quantity=0.02)

    ids = ticks_to_table([a, b, c]).column("trade_id").to_pylist()

    assert ids[0] == ids[1] < 0
    assert ids[2] < 0 and ids[2] != ids[0]
    assert table_to_ticks(ticks_to_table([a]))[0].trade_id is None


def test_content_keys_differ_by_symbol() -> None:
    import numpy as np

    keys = content_trade_ids(
        ["BTCUSDT", "ETHUSDT"], np.array([1, 1]), np.array([1.0, 1.0]), np.array([2.0, 2.0])
    )

    assert keys[0] != keys[1]


def test_tick_is_frozen() -> None:
    tick = make_tick()

    with pytest.raises(AttributeError):
        tick.price = 1.0  # type: ignore[misc]


def test_conform_casts_compatible_types_and_reorders_columns() -> None:
    table = ticks_to_table([make_tick()])
    shuffled = table.select(list(reversed(table.column_names)))
    widened = shuffled.set_column(
        shuffled.column_names.index("side"), "side", shuffled.column("side").cast(pa.int64())
    )

    assert conform(widened).equals(table)


def test_conform_names_the_missing_columns() -> None:
    table = ticks_to_table([make_tick()]).drop_columns(["price", "side"])

    with pytest.raises(ValueError, match=r"missing columns \['price', 'side'\]"):
        conform(table)
