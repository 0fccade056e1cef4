"""Orders and fills: ids derived from the decision, validation, a fill carries its order's fields."""

from __future__ import annotations

import pytest

from trading_assets.core.time import US_PER_MINUTE, US_PER_SECOND
from trading_assets.trading.orders import (
    FLATTEN,
    SIGNAL,
    Fill,
    FlattenIntent,
    Order,
    flatten_order_id,
    order_id,
)

M = US_PER_MINUTE


def make_order(**overrides: object) -> Order:
    fields: dict[str, object] = {
        "order_id": order_id("BTCUSDT", 10 * M, "3", SIGNAL),
        "symbol": "BTCUSDT",
        "side": 1,
        "quantity": 2.0,
        "decision_us": 11 * M,
        "bar_minute_us": 10 * M,
        "model_name": "btc",
        "model_version": "3",
        "run_id": "run-abc",
        "reason": SIGNAL,
    }
    fields.update(overrides)
    return Order(**fields)  # type: ignore[arg-type]


def test_the_same_decision_always_gets_the_same_id() -> None:
    first = order_id("BTCUSDT", 10 * M, "3", SIGNAL)

    assert first == order_id("BTCUSDT", 10 * M, "3", SIGNAL)
    assert len(first) == 32
    int(first, 16)  # hex


@pytest.mark.parametrize(
    "other",
    [
        ("ETHUSDT", 10 * M, "3", SIGNAL),
        ("BTCUSDT", 11 * M, "3", SIGNAL),
        ("BTCUSDT", 10 * M, "4", SIGNAL),
        ("BTCUSDT", 10 * M, "3", FLATTEN),
    ],
)
def test_any_change_of_the_decision_changes_the_id(other: tuple[str, int, str, str]) -> None:
    assert order_id(*other) != order_id("BTCUSDT", 10 * M, "3", SIGNAL)


def test_id_parts_cannot_run_into_each_other() -> None:
    assert order_id("AB", 1, "23", SIGNAL) != order_id("A", 1, "B23", SIGNAL)


def test_flatten_id_is_deterministic_from_symbol_mark_and_reason_and_apart_from_signal_ids() -> None:
    mark = 5 * M + 7 * US_PER_SECOND

    assert flatten_order_id("BTCUSDT", mark) == flatten_order_id("BTCUSDT", mark, FLATTEN)
    assert flatten_order_id("BTCUSDT", mark) != flatten_order_id("BTCUSDT", mark + 1)
    assert flatten_order_id("BTCUSDT", mark) != flatten_order_id("ETHUSDT", mark)
    assert flatten_order_id("BTCUSDT", mark) != order_id("BTCUSDT", mark, "", FLATTEN)


@pytest.mark.parametrize(("side", "quantity"), [(0, 1.0), (2, 1.0), (1, 0.0), (-1, -1.0)])
def test_an_order_needs_a_side_of_one_and_a_positive_quantity(side: int, quantity: float) -> None:
    with pytest.raises(ValueError, match="order"):
        make_order(side=side, quantity=quantity)


def test_signed_quantity_carries_the_side() -> None:
    assert make_order(side=-1, quantity=2.5).signed_quantity == -2.5


def test_a_fill_carries_the_order_fields_and_its_id_is_the_order_id() -> None:
    order = make_order(side=-1)

    fill = Fill.of(order, time_us=11 * M + 5, reference_price=100.0, price=99.98, fee=0.2)

    assert fill.fill_id == fill.order_id == order.order_id
    assert (fill.symbol, fill.side, fill.quantity) == ("BTCUSDT", -1, 2.0)
    assert (fill.model_name, fill.model_version, fill.run_id, fill.reason) == ("btc", "3", "run-abc", SIGNAL)
    assert (fill.decision_us, fill.bar_minute_us, fill.time_us) == (11 * M, 10 * M, 11 * M + 5)
    assert fill.signed_quantity == -2.0
    assert fill.notional == pytest.approx(2.0 * 99.98)


def test_a_fill_refuses_a_negative_fee_or_a_non_positive_price() -> None:
    order = make_order()
    with pytest.raises(ValueError, match="fee"):
        Fill.of(order, time_us=1, reference_price=1.0, price=1.0, fee=-0.1)
    with pytest.raises(ValueError, match="price"):
        Fill.of(order, time_us=1, reference_price=1.0, price=0.0, fee=0.0)


def test_a_flatten_intent_becomes_a_flatten_order_with_its_id_and_the_model_given() -> None:
    mark = 5 * M + 7 * US_PER_SECOND
    intent = FlattenIntent(
        order_id=flatten_order_id("BTCUSDT", mark), symbol="BTCUSDT", side=-1, quantity=3.0, mark_us=mark
    )

    order = intent.order(model_name="btc", model_version="4", run_id="run-x")

    assert order.order_id == intent.order_id
    assert order.reason == FLATTEN
    assert order.signed_quantity == -3.0
    assert (order.decision_us, order.bar_minute_us) == (mark, 5 * M)
    assert (order.model_name, order.model_version, order.run_id) == ("btc", "4", "run-x")
