"""One day of paper trading summed up: PnL, drawdown, exposure, turnover and attribution by model version.

Pure functions from ledger rows (:mod:`ledger_tables`) to the day's summary; the ``portfolio_daily``
asset reads the rows and stores :func:`summary_table`.

- Realized PnL and fees come from replaying every fill up to the day's end, in the order the ledger
  recorded them (``seq``), through the one :class:`~trading_assets.trading.portfolio.Portfolio`: a fill
  of the day that closes a position opened on an earlier day realizes against that day's average cost.
  Each of the day's fills is attributed what it realized and its fee.
- Unrealized PnL, equity, drawdown and exposure come from the executor's equity snapshots (its marks):
  the day starts at the last snapshot before midnight and ends at the day's last snapshot.
  Without an earlier snapshot the day starts at the initial cash (equity identity
  ``equity = initial cash + realized - fees + unrealized`` of the day's first snapshot) plus what the
  earlier fills realized net of fees.
- ``pnl = realized - fees + unrealized change``; equal to ``end equity - start equity`` when the last
  snapshot of the day follows the last fill (the executor marks after each fill).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

import pyarrow as pa

from resources.table_store import TableSpec
from trading_assets.core.time import day_bounds_us
from trading_assets.execution.ledger_tables import EquityRow, FillRow, OrderRow
from trading_assets.trading.orders import Fill
from trading_assets.trading.portfolio import Portfolio

TOTAL = "total"
"""``scope`` of the row that sums the whole portfolio's day."""
MODEL = "model"
"""``scope`` of a row attributing the day to one (symbol, model version)."""

Key = tuple[str, str, int]
"""(symbol, model name, model version)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelDay:
    """What one model version's fills on one symbol did during the day."""

    symbol: str
    """Instrument."""
    model_name: str
    """Registered model."""
    model_version: int
    """Its version."""
    orders: int
    """Orders it placed that day (by decision time)."""
    fills: int
    """Its fills that day."""
    turnover: float
    """Notional it traded (quantity × fill price)."""
    realized_pnl: float
    """PnL its closing fills realized, gross of fees."""
    fees: float
    """Fees of its fills."""

    @property
    def net_pnl(self) -> float:
        """Realized PnL after fees."""
        return self.realized_pnl - self.fees


@dataclass(frozen=True, slots=True, kw_only=True)
class PortfolioDay:
    """The whole portfolio's day."""

    day: dt.date
    """The UTC day."""
    fills: int
    """Fills of the day."""
    orders: int
    """Orders decided during the day."""
    realized_pnl: float
    """PnL realized by the day's fills, gross of fees."""
    fees: float
    """Fees of the day's fills."""
    unrealized_change: float
    """Unrealized PnL at the day's end minus at its start."""
    start_equity: float
    """Equity at the start of the day."""
    end_equity: float
    """Equity at the day's last snapshot (the start equity when there is none)."""
    max_drawdown: float
    """Largest ``1 - equity / running peak`` within the day, the peak starting at the start equity."""
    max_gross_exposure: float
    """Largest gross exposure of the day's snapshots."""
    end_gross_exposure: float
    """Gross exposure at the day's end."""
    max_net_exposure: float
    """Net exposure of the largest size (signed) among the day's snapshots."""
    end_net_exposure: float
    """Net exposure at the day's end."""
    turnover: float
    """Notional traded during the day."""
    models: tuple[ModelDay, ...]
    """Attribution by (symbol, model name, model version), sorted."""

    @property
    def pnl(self) -> float:
        """The day's PnL: realized - fees + unrealized change."""
        return self.realized_pnl - self.fees + self.unrealized_change


def to_fill(row: FillRow) -> Fill:
    """The portfolio's fill of a ledger row (the portfolio keys attribution by the version as text)."""
    return Fill(
        fill_id=row.fill_id,
        symbol=row.symbol,
        side=row.side,
        quantity=row.quantity,
        decision_us=row.decision_us,
        bar_minute_us=row.bar_minute_us,
        model_name=row.model_name,
        model_version=str(row.model_version),
        run_id=row.run_id,
        reason=row.reason,
        time_us=row.time_us,
        reference_price=row.reference_price,
        price=row.price,
        fee=row.fee,
    )


def _max_drawdown(start_equity: float, equities: Iterable[float]) -> float:
    peak = start_equity
    worst = 0.0
    for equity in equities:
        peak = max(peak, equity)
        if peak > 0:
            worst = max(worst, 1.0 - equity / peak)
    return worst


def summarize_day(
    day: dt.date,
    fills: Sequence[FillRow],
    equity: Sequence[EquityRow],
    orders: Sequence[OrderRow] = (),
) -> PortfolioDay:
    """The day's summary from the fills recorded up to its end (in recorded order, earlier days included),
    the equity snapshots up to its end (earlier days included, any order) and the day's orders.

    Rows stamped after the day are ignored.
    """
    start_us, end_us = day_bounds_us(day)
    portfolio = Portfolio(0.0)
    realized_before = fees_before = 0.0
    counted: dict[Key, ModelDay] = {}
    for row in fills:
        if row.time_us >= end_us:
            continue
        realized = portfolio.realized_pnl
        portfolio.apply(to_fill(row))
        realized = portfolio.realized_pnl - realized  # what this fill realized, at the average cost before it
        if row.time_us < start_us:
            realized_before += realized
            fees_before += row.fee
            continue
        key = (row.symbol, row.model_name, row.model_version)
        seen = counted.get(key) or ModelDay(
            symbol=row.symbol,
            model_name=row.model_name,
            model_version=row.model_version,
            orders=0,
            fills=0,
            turnover=0.0,
            realized_pnl=0.0,
            fees=0.0,
        )
        counted[key] = replace(
            seen,
            fills=seen.fills + 1,
            turnover=seen.turnover + row.quantity * row.price,
            realized_pnl=seen.realized_pnl + realized,
            fees=seen.fees + row.fee,
        )
    order_counts: dict[Key, int] = {}
    day_orders = [o for o in orders if start_us <= o.decision_us < end_us]
    for order in day_orders:
        key = (order.symbol, order.model_name, order.model_version)
        order_counts[key] = order_counts.get(key, 0) + 1
    models = tuple(
        replace(counted[key], orders=order_counts.get(key, 0))
        if key in counted
        else ModelDay(
            symbol=key[0],
            model_name=key[1],
            model_version=key[2],
            orders=order_counts[key],
            fills=0,
            turnover=0.0,
            realized_pnl=0.0,
            fees=0.0,
        )
        for key in sorted(set(counted) | set(order_counts))
    )
    ordered = sorted((row for row in equity if row.time_us < end_us), key=lambda row: row.time_us)
    earlier = [row for row in ordered if row.time_us < start_us]
    today = [row for row in ordered if row.time_us >= start_us]
    if earlier:
        start_equity, start_unrealized = earlier[-1].equity, earlier[-1].unrealized_pnl
    elif today:
        first = today[0]
        initial_cash = first.equity - first.realized_pnl + first.fees - first.unrealized_pnl
        start_equity, start_unrealized = initial_cash + realized_before - fees_before, 0.0
    else:
        start_equity, start_unrealized = 0.0, 0.0
    last = today[-1] if today else (earlier[-1] if earlier else None)
    return PortfolioDay(
        day=day,
        fills=sum(m.fills for m in models),
        orders=len(day_orders),
        realized_pnl=sum(m.realized_pnl for m in models),
        fees=sum(m.fees for m in models),
        unrealized_change=(last.unrealized_pnl if last else 0.0) - start_unrealized,
        start_equity=start_equity,
        end_equity=last.equity if last else start_equity,
        max_drawdown=_max_drawdown(start_equity, (row.equity for row in today)),
        max_gross_exposure=max((row.gross_exposure for row in today), default=0.0),
        end_gross_exposure=last.gross_exposure if last else 0.0,
        max_net_exposure=max((row.net_exposure for row in today), key=abs, default=0.0),
        end_net_exposure=last.net_exposure if last else 0.0,
        turnover=sum(m.turnover for m in models),
        models=models,
    )


_FLOAT_COLUMNS = (
    "turnover",
    "realized_pnl",
    "fees",
    "net_pnl",
    "unrealized_change",
    "pnl",
    "start_equity",
    "end_equity",
    "max_drawdown",
    "max_gross_exposure",
    "end_gross_exposure",
    "max_net_exposure",
    "end_net_exposure",
)
_PORTFOLIO_ONLY = _FLOAT_COLUMNS[4:]

PORTFOLIO_DAILY = TableSpec(
    name="portfolio_daily",
    schema=pa.schema(
        [
            pa.field("day_us", pa.int64(), nullable=False),
            pa.field("scope", pa.string(), nullable=False),
            pa.field("symbol", pa.string(), nullable=False),
            pa.field("model_name", pa.string(), nullable=False),
            pa.field("model_version", pa.int64(), nullable=False),
            pa.field("orders", pa.int64(), nullable=False),
            pa.field("fills", pa.int64(), nullable=False),
            *(pa.field(name, pa.float64(), nullable=False) for name in _FLOAT_COLUMNS),
        ]
    ),
    time_column="day_us",
    key=("day_us", "scope", "symbol", "model_name", "model_version"),
)
"""One row per (symbol, model version) that ordered or filled during the day (``scope`` ``model``) and one
``total`` row (empty symbol and model name, version 0) for the whole portfolio. ``day_us`` is the day's
midnight. The portfolio columns (``unrealized_change`` to ``end_net_exposure``) are set on the total row
only (0 on the model rows: unrealized PnL and equity are the portfolio's, not a model's)."""


def summary_rows(summary: PortfolioDay) -> list[dict[str, object]]:
    """The rows of :data:`PORTFOLIO_DAILY` for the day: the model rows, then the total row."""
    day_us = day_bounds_us(summary.day)[0]
    rows: list[dict[str, object]] = []
    for model in summary.models:
        row: dict[str, object] = {
            "day_us": day_us,
            "scope": MODEL,
            "symbol": model.symbol,
            "model_name": model.model_name,
            "model_version": model.model_version,
            "orders": model.orders,
            "fills": model.fills,
            "turnover": model.turnover,
            "realized_pnl": model.realized_pnl,
            "fees": model.fees,
            "net_pnl": model.net_pnl,
        }
        rows.append(row | dict.fromkeys(_PORTFOLIO_ONLY, 0.0))
    total: dict[str, object] = {
        "day_us": day_us,
        "scope": TOTAL,
        "symbol": "",
        "model_name": "",
        "model_version": 0,
        "orders": summary.orders,
        "fills": summary.fills,
        "turnover": summary.turnover,
        "realized_pnl": summary.realized_pnl,
        "fees": summary.fees,
        "net_pnl": summary.realized_pnl - summary.fees,
        "pnl": summary.pnl,
    }
    total |= {name: float(getattr(summary, name)) for name in _PORTFOLIO_ONLY if name != "pnl"}
    rows.append(total)
    return rows


def summary_table(summary: PortfolioDay) -> pa.Table:
    """:func:`summary_rows` as an Arrow table of :data:`PORTFOLIO_DAILY`'s schema."""
    return pa.Table.from_pylist(summary_rows(summary), schema=PORTFOLIO_DAILY.schema)


def attribution_md(summary: PortfolioDay) -> str:
    """The day's attribution by (symbol, model version) as a Markdown table, with a total line."""
    lines = [
        "| symbol | model | version | orders | fills | turnover | realized PnL | fees | net |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for m in summary.models:
        lines.append(
            f"| {m.symbol} | {m.model_name} | {m.model_version} | {m.orders} | {m.fills} | "
            f"{m.turnover:,.2f} | {m.realized_pnl:,.2f} | {m.fees:,.2f} | {m.net_pnl:,.2f} |"
        )
    lines.append(
        f"| **total** | | | {summary.orders} | {summary.fills} | {summary.turnover:,.2f} | "
        f"{summary.realized_pnl:,.2f} | {summary.fees:,.2f} | {summary.realized_pnl - summary.fees:,.2f} |"
    )
    return "\n".join(lines)
