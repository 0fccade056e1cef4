"""Portfolio accounting, checked by hand: average cost, partial close, flip, fees, PnL, equity, drawdown."""

from __future__ import annotations

import itertools
import random

import pytest

from trading_assets.trading.orders import SIGNAL, Fill
from trading_assets.trading.portfolio import Attribution, Portfolio

_ids = itertools.count()


def fill(
    symbol: str,
    side: int,
    quantity: float,
    price: float,
    *,
    fee: float = 0.0,
    version: str = "1",
    time_us: int = 0,
    fill_id: str | None = None,
    reference_price: float | None = None,
) -> Fill:
    return Fill(
        fill_id=fill_id if fill_id is not None else f"f{next(_ids)}",
        symbol=symbol,
        side=side,
        quantity=quantity,
        decision_us=time_us,
        bar_minute_us=time_us,
        model_name=symbol.lower(),
        model_version=version,
        run_id=f"run-{version}",
        reason=SIGNAL,
        time_us=time_us,
        reference_price=reference_price if reference_price is not None else price,
        price=price,
        fee=fee,
    )


def test_adding_to_a_position_averages_its_cost_and_pays_price_and_fee_in_cash() -> None:
    p = Portfolio(1000.0)

    p.apply(fill("BTC", 1, 2.0, 100.0, fee=0.2))
    p.apply(fill("BTC", 1, 2.0, 110.0, fee=0.22))

    position = p.positions["BTC"]
    assert position.quantity == 4.0
    assert position.avg_cost == pytest.approx(105.0)
    assert p.cash == pytest.approx(1000.0 - 200.0 - 0.2 - 220.0 - 0.22)
    assert p.fees == pytest.approx(0.42)
    assert p.realized_pnl == 0.0
    assert p.turnover == pytest.approx(420.0)


def test_a_partial_close_realizes_at_the_average_cost_and_keeps_the_rest_at_it() -> None:
    p = Portfolio(1000.0)
    p.apply(fill("BTC", 1, 2.0, 100.0, fee=0.2))
    p.apply(fill("BTC", 1, 2.0, 110.0, fee=0.22))

    p.apply(fill("BTC", -1, 1.0, 120.0, fee=0.12))

    assert p.realized_pnl == pytest.approx((120.0 - 105.0) * 1.0)
    assert p.positions["BTC"].quantity == 3.0
    assert p.positions["BTC"].avg_cost == pytest.approx(105.0)
    assert p.cash == pytest.approx(579.58 + 120.0 - 0.12)


def test_marking_gives_unrealized_pnl_equity_and_exposures() -> None:
    p = Portfolio(1000.0)
    p.apply(fill("BTC", 1, 2.0, 100.0, fee=0.2))
    p.apply(fill("BTC", 1, 2.0, 110.0, fee=0.22))
    p.apply(fill("BTC", -1, 1.0, 120.0, fee=0.12))
    p.apply(fill("ETH", -1, 10.0, 20.0, fee=0.0))

    snap = p.mark({"BTC": 130.0, "ETH": 25.0}, time_us=5)

    assert snap.time_us == 5
    assert snap.unrealized_pnl == pytest.approx((130.0 - 105.0) * 3.0 + (25.0 - 20.0) * -10.0)
    assert snap.cash == pytest.approx(699.46 + 200.0)
    assert snap.equity == pytest.approx(899.46 + 3.0 * 130.0 - 10.0 * 25.0)
    # The identity between the two ways of counting equity.
    assert snap.equity == pytest.approx(1000.0 + snap.realized_pnl - snap.fees + snap.unrealized_pnl)
    assert snap.gross_exposure == pytest.approx(390.0 + 250.0)
    assert snap.net_exposure == pytest.approx(390.0 - 250.0)
    assert snap.positions == (("BTC", 3.0), ("ETH", -10.0))
    assert snap.quantity("ETH") == -10.0 and snap.quantity("SOL") == 0.0


def test_a_flip_realizes_the_old_side_and_opens_the_new_one_at_the_fill_price() -> None:
    p = Portfolio(1000.0)
    p.apply(fill("BTC", 1, 3.0, 105.0))

    p.apply(fill("BTC", -1, 5.0, 100.0, fee=0.5))

    assert p.realized_pnl == pytest.approx((100.0 - 105.0) * 3.0)
    assert p.positions["BTC"].quantity == -2.0
    assert p.positions["BTC"].avg_cost == 100.0
    assert p.cash == pytest.approx(1000.0 - 315.0 + 500.0 - 0.5)


def test_a_short_averages_on_adding_and_realizes_with_its_sign_on_covering() -> None:
    p = Portfolio(0.0)
    p.apply(fill("BTC", -1, 2.0, 100.0))
    p.apply(fill("BTC", -1, 2.0, 90.0))
    assert p.positions["BTC"].avg_cost == pytest.approx(95.0)

    p.apply(fill("BTC", 1, 1.0, 80.0))

    assert p.realized_pnl == pytest.approx(15.0)  # sold at 95 on average, bought back at 80
    assert p.positions["BTC"].quantity == -3.0
    assert p.positions["BTC"].avg_cost == pytest.approx(95.0)


def test_closing_exactly_removes_the_position() -> None:
    p = Portfolio(100.0)
    p.apply(fill("BTC", 1, 0.1 + 0.2, 10.0))

    p.apply(fill("BTC", -1, 0.3, 12.0))  # 0.1 + 0.2 != 0.3 in floats: still flat

    assert "BTC" not in p.positions
    assert p.quantity("BTC") == 0.0
    assert p.unrealized_pnl() == 0.0


def test_applying_the_same_fill_twice_changes_nothing_the_second_time() -> None:
    p = Portfolio(1000.0)
    first = fill("BTC", 1, 2.0, 100.0, fee=0.2, fill_id="abc")
    assert p.apply(first) is True
    before = p.save()

    assert p.apply(first) is False
    assert p.apply(fill("BTC", 1, 5.0, 50.0, fill_id="abc")) is False  # same id, whatever the content

    assert p.save() == before
    assert p.has_applied("abc")


def test_drawdown_is_measured_from_the_high_water_mark_of_the_marks() -> None:
    p = Portfolio(1000.0)
    p.apply(fill("BTC", 1, 10.0, 100.0))

    up = p.mark({"BTC": 110.0}, time_us=1)  # equity 1100
    down = p.mark({"BTC": 99.0}, time_us=2)  # equity 990
    back = p.mark({"BTC": 120.0}, time_us=3)  # equity 1200: new high

    assert (up.high_water_mark, up.drawdown) == (pytest.approx(1100.0), 0.0)
    assert down.high_water_mark == pytest.approx(1100.0)
    assert down.drawdown == pytest.approx(0.1)
    assert (back.high_water_mark, back.drawdown) == (pytest.approx(1200.0), 0.0)


def test_a_symbol_not_in_the_mark_keeps_its_latest_price_and_fills_update_prices_by_time() -> None:
    p = Portfolio(0.0)
    p.apply(fill("BTC", 1, 1.0, 101.0, reference_price=100.0, time_us=10))
    assert p.last_price("BTC") == 100.0  # the fill's market price, before costs

    p.mark({"BTC": 105.0}, time_us=20)
    p.apply(fill("BTC", 1, 1.0, 90.0, reference_price=90.0, time_us=15))  # older than the mark
    snap = p.mark({"ETH": 1.0}, time_us=30)

    assert p.last_price("BTC") == 105.0
    assert snap.net_exposure == pytest.approx(2.0 * 105.0)
    assert p.last_price("SOL") is None


def test_realized_pnl_and_fees_are_attributed_to_each_fills_model_version() -> None:
    p = Portfolio(1000.0)
    p.apply(fill("BTC", 1, 2.0, 100.0, fee=0.2, version="1"))
    p.apply(fill("BTC", -1, 1.0, 110.0, fee=0.11, version="2"))  # a newer champion closes half
    p.apply(fill("ETH", 1, 1.0, 10.0, fee=0.01, version="1"))

    attribution = p.attribution()

    assert attribution[("BTC", "1")] == Attribution(realized_pnl=0.0, fees=0.2, turnover=200.0, fills=1)
    assert attribution[("BTC", "2")] == Attribution(
        realized_pnl=pytest.approx(10.0), fees=0.11, turnover=110.0, fills=1
    )
    assert attribution[("ETH", "1")].fills == 1
    assert sum(a.realized_pnl for a in attribution.values()) == pytest.approx(p.realized_pnl)
    assert sum(a.fees for a in attribution.values()) == pytest.approx(p.fees)


def test_a_restored_portfolio_behaves_as_the_one_saved() -> None:
    rng = random.Random(7)
    original = Portfolio(10_000.0)
    fills = [
        fill(
            rng.choice(["BTC", "ETH", "SOL"]),
            rng.choice([1, -1]),
            rng.uniform(0.1, 5.0),
            rng.uniform(50.0, 150.0),
            fee=rng.uniform(0.0, 1.0),
            version=rng.choice(["1", "2"]),
            time_us=i,
        )
        for i in range(200)
    ]
    for f in fills[:100]:
        original.apply(f)
    original.mark({"BTC": 100.0}, time_us=100)

    restored = Portfolio.restore(original.save())

    assert restored.save() == original.save()
    for i, f in enumerate(fills[100:]):
        assert original.apply(f) == restored.apply(f)
        prices = {"BTC": 90.0 + i, "ETH": 110.0 - i / 2}
        assert original.mark(prices, time_us=200 + i) == restored.mark(prices, time_us=200 + i)
    assert restored.apply(fills[0]) is False  # the applied ids came back too
    assert restored.save() == original.save()
    assert restored.attribution() == original.attribution()
