"""The paper-trading assets: ``paper_fills`` (the executor's fills of a day) and ``portfolio_daily``.

The executor (``tradegraph execute``, a service outside Dagster) writes its ledger into the table store
as it trades; these assets describe a day of it, and the ``paper_fills`` sensor materializes them as
fills arrive. Lineage in the asset graph: ``tick_stream -> tick_partition -> bars_1m -> features ->
trained_models -> backtest -> champion_model -> paper_fills -> portfolio_daily``, and ``tick_stream ->
paper_fills`` for the live ticks the executor builds its bars, features and signals from. The signal is
no asset: the executor computes it online from the champion and the ticks; every fill carries the
model name, version and MLflow run id that decided it, which the metadata counts.

No ``from __future__ import annotations``: Dagster reads the annotations of decorated functions.
"""

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Mapping

import dagster as dg

from resources.table_store import TableStore
from resources.table_store.resource import TableStoreResource
from trading_assets.core.time import day_bounds_us
from trading_assets.execution.daily import summarize_day
from trading_assets.execution.daily_chart import equity_chart_png
from trading_assets.execution.daily_table import PORTFOLIO_DAILY, attribution_md, summary_table
from trading_assets.execution.ledger_tables import (
    EQUITY,
    FILLS,
    ORDERS,
    RISK_EVENTS,
    SEQ,
    EquityRow,
    FillRow,
    LedgerTable,
    OrderRow,
    Row,
)
from trading_assets.market.assets import tick_stream
from trading_assets.market.partitions import partition_day, partitions_start
from trading_assets.models.report import png_md, time_text

PAPER_DAILY = dg.DailyPartitionsDefinition(
    start_date=partitions_start().isoformat(), timezone="UTC", end_offset=1
)
"""UTC days like the market's daily partitions, today included: the executor trades today, and its
fills are summed up while the day goes on (the market assets wait for a day to close)."""

DENIAL = "denial"
"""``kind`` of a risk event that denied an order."""


def _day_rows(store: TableStore, table: LedgerTable[Row], day: dt.date) -> list[Row]:
    start_us, end_us = day_bounds_us(day)
    return table.from_table(store.read(table.spec, start_us=start_us, end_us=end_us))


def _count_md(header: str, counts: Mapping[str, int]) -> dg.MetadataValue:
    rows = "\n".join(f"| {key} | {count:,} |" for key, count in sorted(counts.items()))
    return dg.MetadataValue.md(f"| {header} | count |\n|---|---|\n{rows}" if counts else "none")


def _version(row: FillRow | OrderRow) -> str:
    return f"{row.model_name} v{row.model_version}"


def _fills_metadata(
    fills: list[FillRow], orders: list[OrderRow], denials: Iterable[str]
) -> dict[str, dg.MetadataValue]:
    by_rule = Counter(denials)
    metadata = {
        "dagster/row_count": dg.MetadataValue.int(len(fills)),
        "fills": dg.MetadataValue.int(len(fills)),
        "orders": dg.MetadataValue.int(len(orders)),
        "denials": dg.MetadataValue.int(sum(by_rule.values())),
        "denials_by_rule": _count_md("rule", by_rule),
        "fills_per_symbol": _count_md("symbol", Counter(f.symbol for f in fills)),
        "fills_per_model_version": _count_md("model version", Counter(_version(f) for f in fills)),
        "orders_per_model_version": _count_md("model version", Counter(_version(o) for o in orders)),
        "traded_notional": dg.MetadataValue.float(float(sum(f.quantity * f.price for f in fills))),
        "fees": dg.MetadataValue.float(float(sum(f.fee for f in fills))),
        "stored_in": dg.MetadataValue.text(
            f"table store tables {FILLS.spec.name}, {ORDERS.spec.name}, {RISK_EVENTS.spec.name} "
            "(the executor's ledger is the data; nothing is copied)"
        ),
    }
    if fills:
        times = [f.time_us for f in fills]
        metadata["first_fill"] = dg.MetadataValue.text(time_text(min(times)))
        metadata["last_fill"] = dg.MetadataValue.text(time_text(max(times)))
    return metadata


@dg.asset(
    partitions_def=PAPER_DAILY,
    group_name="trading",
    kinds={"parquet", "clickhouse"},
    deps=[
        # Every symbol's champion (the models are partitioned by symbol, the fills by day).
        dg.AssetDep("champion_model", partition_mapping=dg.AllPartitionMapping()),
        tick_stream,
    ],
)
def paper_fills(context: dg.AssetExecutionContext, table_store: TableStoreResource) -> dg.MaterializeResult:
    """The paper executor's fills of a day; each carries the model name, version and MLflow run id.
    Lineage: tick -> bars -> features -> model -> signal -> fill. The graph draws the champion's chain
    (ticks, sealed day, bars_1m, features, models, champion_model) and the live tick_stream the executor
    builds the same bars and features from online; the signal and the risk check happen in the executor,
    then the order fills on the shared fill and cost model. The ledger table ``paper_fills`` in the
    table store is the data (no copy); the metadata counts fills, orders and risk denials by rule, per
    symbol and model version, with traded notional and fees."""
    day = partition_day(context.partition_key)
    with table_store.open() as store:
        fills = _day_rows(store, FILLS, day)
        orders = _day_rows(store, ORDERS, day)
        events = _day_rows(store, RISK_EVENTS, day)
    denials = [event.rule for event in events if event.kind == DENIAL]
    return dg.MaterializeResult(metadata=_fills_metadata(fills, orders, denials))


def _history(store: TableStore, day: dt.date) -> tuple[list[FillRow], list[EquityRow]]:
    """Every fill up to the day's end in recorded order, and the equity snapshots of the day and of the
    last earlier day with any (the day's start state)."""
    end_us = day_bounds_us(day)[1]
    fill_days = [p.day for p in store.days(FILLS.spec) if p.day <= day]
    fills: list[FillRow] = []
    if fill_days:
        table = store.read(FILLS.spec, start_us=day_bounds_us(fill_days[0])[0], end_us=end_us)
        fills = FILLS.from_table(table.sort_by(SEQ))
    earlier = [p.day for p in store.days(EQUITY.spec) if p.day < day]
    equity = _day_rows(store, EQUITY, earlier[-1]) if earlier else []
    return fills, equity + _day_rows(store, EQUITY, day)


@dg.asset(
    partitions_def=PAPER_DAILY, group_name="trading", kinds={"parquet", "clickhouse"}, deps=[paper_fills]
)
def portfolio_daily(
    context: dg.AssetExecutionContext, table_store: TableStoreResource
) -> dg.MaterializeResult:
    """The paper portfolio's day: PnL (realized, unrealized change, fees), start and end equity, max
    drawdown within the day, gross and net exposure (max and end), turnover, and attribution of realized
    PnL and fees by (symbol, model version), with the equity curve and its drawdown. Stored in the table
    store as ``portfolio_daily`` (one row per symbol and model version plus a total row; the day replaced
    atomically)."""
    day = partition_day(context.partition_key)
    start_us, end_us = day_bounds_us(day)
    with table_store.open() as store:
        fills, equity = _history(store, day)
        orders = _day_rows(store, ORDERS, day)
        summary = summarize_day(day, fills, equity, orders)
        store.write_partition(PORTFOLIO_DAILY, day, summary_table(summary))
    day_fills = [f for f in fills if start_us <= f.time_us < end_us]
    png = equity_chart_png(
        day,
        [row for row in equity if row.time_us >= start_us],
        start_equity=summary.start_equity,
        fills=day_fills,
        title=f"paper equity {day}",
    )
    numbers = {
        "pnl": summary.pnl,
        "realized_pnl": summary.realized_pnl,
        "unrealized_change": summary.unrealized_change,
        "fees": summary.fees,
        "start_equity": summary.start_equity,
        "end_equity": summary.end_equity,
        "max_drawdown": summary.max_drawdown,
        "max_gross_exposure": summary.max_gross_exposure,
        "end_gross_exposure": summary.end_gross_exposure,
        "max_net_exposure": summary.max_net_exposure,
        "end_net_exposure": summary.end_net_exposure,
        "turnover": summary.turnover,
    }
    return dg.MaterializeResult(
        metadata={
            **{name: dg.MetadataValue.float(float(value)) for name, value in numbers.items()},
            "fills": dg.MetadataValue.int(summary.fills),
            "orders": dg.MetadataValue.int(summary.orders),
            "dagster/row_count": dg.MetadataValue.int(len(summary.models) + 1),
            "attribution": dg.MetadataValue.md(attribution_md(summary)),
            "equity_chart": png_md(png, alt="equity and drawdown"),
        }
    )
