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

The stored table and the Markdown of a summary are in :mod:`daily_table`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from trading_assets.core.time import day_bounds_us
from trading_assets.execution.ledger_tables import EquityRow, FillRow, OrderRow
from trading_assets.trading.orders import Fill
from trading_assets.trading.portfolio import Portfolio

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


def _replay(fills: Sequence[FillRow], start_us: int, end_us: int) -> tuple[dict[Key, ModelDay], float, float]:
    """Replay the fills before ``end_us`` in the given (recorded) order: the day's attribution by
    (symbol, model name, version), and the realized PnL and fees of the fills before ``start_us``."""
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
        seen = counted.get(key) or _empty(key)
        counted[key] = replace(
            seen,
            fills=seen.fills + 1,
            turnover=seen.turnover + row.quantity * row.price,
            realized_pnl=seen.realized_pnl + realized,
            fees=seen.fees + row.fee,
        )
    return counted, realized_before, fees_before


def _empty(key: Key) -> ModelDay:
    symbol, name, version = key
    return ModelDay(
        symbol=symbol,
        model_name=name,
        model_version=version,
        orders=0,
        fills=0,
        turnover=0.0,
        realized_pnl=0.0,
        fees=0.0,
    )


def summarize_day(
    day: dt.date,
    fills: Sequence[FillRow],
    equity: Sequence[EquityRow],
    orders: Sequence[OrderRow] = (),
) -> PortfolioDay:
    """The day's summary from the fills recorded up to its end (in recorded order, earlier days included),
    the equity snapshots up to its end (earlier days included, in stored order: a tie in time keeps it)
    and the day's orders.

    Rows stamped after the day are ignored.
    """
    start_us, end_us = day_bounds_us(day)
    counted, realized_before, fees_before = _replay(fills, start_us, end_us)
    order_counts: dict[Key, int] = {}
    day_orders = [o for o in orders if start_us <= o.decision_us < end_us]
    for order in day_orders:
        key = (order.symbol, order.model_name, order.model_version)
        order_counts[key] = order_counts.get(key, 0) + 1
    models = tuple(
        replace(counted.get(key) or _empty(key), orders=order_counts.get(key, 0))
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
