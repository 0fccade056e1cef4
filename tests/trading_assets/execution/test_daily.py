"""The day's summary of paper trading, computed by hand: two symbols, two versions, a flip, fees."""

import datetime as dt

import pytest

from trading_assets.core.time import US_PER_DAY, US_PER_MINUTE, day_start_us
from trading_assets.execution.daily import ModelDay, summarize_day
from trading_assets.execution.daily_chart import equity_chart_png
from trading_assets.execution.daily_table import MODEL, PORTFOLIO_DAILY, TOTAL, attribution_md, summary_table
from trading_assets.execution.ledger_tables import EquityRow, FillRow, OrderRow

DAY = dt.date(2024, 3, 2)
T0 = day_start_us(DAY)
BTC, ETH = "BTCUSDT", "ETHUSDT"


def fill(
    n: int, symbol: str, version: int, side: int, quantity: float, price: float, fee: float, at: int
) -> FillRow:
    return FillRow(
        fill_id=f"f{n}",
        order_id=f"f{n}",
        symbol=symbol,
        side=side,
        quantity=quantity,
        decision_us=at - 1,
        bar_minute_us=at - US_PER_MINUTE,
        model_name=f"tradegraph-{symbol}",
        model_version=version,
        run_id=f"run-{symbol}-{version}",
        reason="signal",
        time_us=at,
        reference_price=price,
        price=price,
        fee=fee,
    )


def order(n: int, symbol: str, version: int, at: int) -> OrderRow:
    return OrderRow(
        order_id=f"o{n}",
        symbol=symbol,
        side=1,
        quantity=1.0,
        decision_us=at,
        bar_minute_us=at - US_PER_MINUTE,
        model_name=f"tradegraph-{symbol}",
        model_version=version,
        run_id=f"run-{symbol}-{version}",
        reason="signal",
    )


def mark(
    at: int, equity: float, *, unrealized: float = 0.0, gross: float = 0.0, net: float = 0.0
) -> EquityRow:
    return EquityRow(
        time_us=at,
        cash=equity - net,
        equity=equity,
        realized_pnl=0.0,
        unrealized_pnl=unrealized,
        fees=0.0,
        gross_exposure=gross,
        net_exposure=net,
        high_water_mark=equity,
        drawdown=0.0,
    )


def minute(n: int) -> int:
    return T0 + n * US_PER_MINUTE


# The day before: BTC v1 buys 1 @ 100. The day: BTC v1 sells 2 @ 110 (closes the long: +10, flips
# short 1 @ 110), BTC v2 buys 1 @ 105 (closes the short: +5); ETH v1 buys 2 @ 50, sells 1 @ 45 (-5).
FILLS = [
    fill(0, BTC, 1, +1, 1.0, 100.0, 0.10, T0 - 60 * US_PER_MINUTE),
    fill(1, BTC, 1, -1, 2.0, 110.0, 0.20, minute(10)),
    fill(2, ETH, 1, +1, 2.0, 50.0, 0.05, minute(20)),
    fill(3, BTC, 2, +1, 1.0, 105.0, 0.10, minute(30)),
    fill(4, ETH, 1, -1, 1.0, 45.0, 0.05, minute(40)),
    fill(5, BTC, 2, +1, 1.0, 999.0, 0.10, T0 + US_PER_DAY + 1),  # the next day's: not part of this one
]
EQUITY = [
    mark(T0 - 30 * US_PER_MINUTE, 1000.0, unrealized=2.0, gross=102.0, net=102.0),
    mark(minute(10), 1010.0, unrealized=0.0, gross=110.0, net=-110.0),
    mark(minute(20), 1020.0, unrealized=1.0, gross=210.0, net=-10.0),
    mark(minute(40), 1005.0, unrealized=-2.0, gross=45.0, net=45.0),
    mark(minute(50), 1015.0, unrealized=-3.0, gross=44.0, net=44.0),
]
ORDERS = [
    order(1, BTC, 1, minute(9)),
    order(2, ETH, 1, minute(19)),
    order(3, BTC, 2, minute(29)),
    order(4, ETH, 1, minute(39)),
    order(5, BTC, 2, minute(45)),  # placed, not filled yet
    order(6, BTC, 1, T0 - US_PER_MINUTE),  # the day before's
]


def test_realized_pnl_and_fees_are_attributed_to_the_model_version_of_each_fill() -> None:
    summary = summarize_day(DAY, FILLS, EQUITY, ORDERS)

    assert summary.models == (
        ModelDay(
            symbol=BTC,
            model_name="tradegraph-BTCUSDT",
            model_version=1,
            orders=1,
            fills=1,
            turnover=220.0,
            realized_pnl=pytest.approx(10.0),
            fees=pytest.approx(0.2),
        ),
        ModelDay(
            symbol=BTC,
            model_name="tradegraph-BTCUSDT",
            model_version=2,
            orders=2,
            fills=1,
            turnover=105.0,
            realized_pnl=pytest.approx(5.0),
            fees=pytest.approx(0.1),
        ),
        ModelDay(
            symbol=ETH,
            model_name="tradegraph-ETHUSDT",
            model_version=1,
            orders=2,
            fills=2,
            turnover=145.0,
            realized_pnl=pytest.approx(-5.0),
            fees=pytest.approx(0.1),
        ),
    )
    assert summary.fills == 4
    assert summary.orders == 5
    assert summary.realized_pnl == pytest.approx(10.0)
    assert summary.fees == pytest.approx(0.4)
    assert summary.turnover == pytest.approx(470.0)


def test_pnl_equity_drawdown_and_exposure_of_the_day() -> None:
    summary = summarize_day(DAY, FILLS, EQUITY, ORDERS)

    assert summary.start_equity == 1000.0
    assert summary.end_equity == 1015.0
    assert summary.unrealized_change == pytest.approx(-5.0)  # -3 at the end, +2 at the start
    assert summary.pnl == pytest.approx(10.0 - 0.4 - 5.0)
    assert summary.max_drawdown == pytest.approx(1 - 1005.0 / 1020.0)
    assert summary.max_gross_exposure == 210.0
    assert summary.end_gross_exposure == 44.0
    assert summary.max_net_exposure == -110.0  # the largest in size, with its sign
    assert summary.end_net_exposure == 44.0


def test_a_drawdown_below_the_opening_equity_counts_from_the_opening() -> None:
    equity = [mark(T0 - 1, 1000.0), mark(minute(1), 950.0), mark(minute(2), 990.0)]

    summary = summarize_day(DAY, [], equity)

    assert summary.max_drawdown == pytest.approx(0.05)
    assert summary.pnl == 0.0  # no fills, no unrealized change
    assert (summary.fills, summary.models) == (0, ())


def test_without_an_earlier_snapshot_the_day_starts_at_the_initial_cash() -> None:
    # Equity identity of the first snapshot: initial cash = equity - realized + fees - unrealized.
    first = EquityRow(
        time_us=minute(5),
        cash=900.0,
        equity=1001.0,
        realized_pnl=3.0,
        unrealized_pnl=0.5,
        fees=2.5,
        gross_exposure=101.0,
        net_exposure=101.0,
        high_water_mark=1001.0,
        drawdown=0.0,
    )

    summary = summarize_day(DAY, [], [first])

    assert summary.start_equity == pytest.approx(1000.0)
    assert summary.unrealized_change == pytest.approx(0.5)


def test_the_stored_rows_are_one_per_model_version_and_a_total() -> None:
    summary = summarize_day(DAY, FILLS, EQUITY, ORDERS)

    rows = summary_table(summary).to_pylist()

    assert summary_table(summary).schema == PORTFOLIO_DAILY.schema
    assert [(r["scope"], r["symbol"], r["model_version"]) for r in rows] == [
        (MODEL, BTC, 1),
        (MODEL, BTC, 2),
        (MODEL, ETH, 1),
        (TOTAL, "", 0),
    ]
    assert {r["day_us"] for r in rows} == {T0}
    assert rows[0]["net_pnl"] == pytest.approx(9.8)
    assert rows[0]["end_equity"] == 0.0  # portfolio columns only on the total row
    total = rows[-1]
    assert (total["fills"], total["orders"]) == (4, 5)
    assert total["pnl"] == pytest.approx(4.6)
    assert total["end_equity"] == 1015.0
    assert total["max_drawdown"] == pytest.approx(1 - 1005.0 / 1020.0)
    assert "| ETHUSDT | tradegraph-ETHUSDT | 1 | 2 | 2 | 145.00 | -5.00 | 0.10 | -5.10 |" in attribution_md(
        summary
    )


def test_the_equity_chart_is_a_png_with_and_without_snapshots() -> None:
    drawn = equity_chart_png(DAY, EQUITY[1:], start_equity=1000.0, fills=FILLS[1:5], title="day")
    empty = equity_chart_png(DAY, [], start_equity=0.0, title="nothing")

    assert drawn.startswith(b"\x89PNG") and empty.startswith(b"\x89PNG")
