"""CostModel: adverse prices, fees, round-trip cost; scalars and arrays agree."""

from __future__ import annotations

import numpy as np
import pytest

from trading_assets.trading.costs import CostModel


def test_buy_pays_above_and_sell_receives_below_the_reference_price() -> None:
    costs = CostModel(fee_bps=10.0, half_spread_bps=2.0, slippage_bps=3.0)

    buy = costs.fill_price(100.0, +1)
    sell = costs.fill_price(100.0, -1)

    assert buy == pytest.approx(100.05, rel=1e-12)  # 5 bps up
    assert sell == pytest.approx(99.95, rel=1e-12)  # 5 bps down
    assert buy > 100.0 > sell


def test_fee_is_bps_of_notional_whatever_its_sign() -> None:
    costs = CostModel(fee_bps=7.5)

    assert costs.fee(10_000.0) == pytest.approx(7.5, rel=1e-12)
    assert costs.fee(-10_000.0) == pytest.approx(7.5, rel=1e-12)


def test_scalar_and_array_forms_agree_elementwise() -> None:
    costs = CostModel(fee_bps=4.0, half_spread_bps=1.5, slippage_bps=0.5)
    rng = np.random.default_rng(3)
    prices = rng.uniform(1.0, 1000.0, 50)
    sides = rng.choice(np.array([-1, 1], dtype=np.int8), 50)

    array_prices = costs.fill_price(prices, sides)
    array_fees = costs.fee(prices * 3.0)

    for i in range(50):
        assert array_prices[i] == costs.fill_price(float(prices[i]), int(sides[i]))
        assert array_fees[i] == costs.fee(float(prices[i]) * 3.0)


def test_round_trip_cost_is_twice_fee_spread_and_slippage() -> None:
    costs = CostModel(fee_bps=10.0, half_spread_bps=1.0, slippage_bps=1.0)

    assert costs.round_trip_cost == pytest.approx(0.0024, rel=1e-12)


def test_round_trip_cost_is_close_to_the_exact_cost_of_buying_and_selling_at_one_price() -> None:
    costs = CostModel(fee_bps=10.0, half_spread_bps=1.0, slippage_bps=1.0)
    quantity, price = 2.0, 100.0
    paid = quantity * costs.fill_price(price, +1)
    paid += costs.fee(paid)
    received = quantity * costs.fill_price(price, -1)
    received -= costs.fee(received)

    exact = (paid - received) / (quantity * price)

    assert exact == pytest.approx(costs.round_trip_cost, abs=1e-6)


@pytest.mark.parametrize(
    "field, value", [("fee_bps", -1.0), ("half_spread_bps", float("nan")), ("slippage_bps", float("inf"))]
)
def test_negative_or_non_finite_costs_are_refused(field: str, value: float) -> None:
    with pytest.raises(ValueError, match=field):
        CostModel(**{field: value})


def test_negative_latency_is_refused() -> None:
    with pytest.raises(ValueError, match="latency_us"):
        CostModel(latency_us=-1)
