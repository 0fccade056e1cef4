"""The ``portfolio_daily`` table: the rows of a day's summary (:mod:`daily`), and its attribution as Markdown."""

from __future__ import annotations

import pyarrow as pa

from resources.table_store import TableSpec
from trading_assets.core.time import day_bounds_us
from trading_assets.execution.daily import PortfolioDay

TOTAL = "total"
"""``scope`` of the row that sums the whole portfolio's day."""
MODEL = "model"
"""``scope`` of a row attributing the day to one (symbol, model version)."""

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
