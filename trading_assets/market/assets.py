"""Market assets over ticks: the live stream, sealed daily tick partitions, and 1-minute bars.

Asset bodies stay thin: open the resources, call the pure functions beside them (sealing, quality, bars),
and return a MaterializeResult with counts, time ranges, check results and a chart.

No ``from __future__ import annotations`` in modules of Dagster definitions: Dagster reads the annotations
of decorated functions (context, resources, config) and needs real types, not strings.
"""

import base64
import datetime as dt

import dagster as dg
import pyarrow as pa
import pyarrow.compute as pc

from resources.exchange_feed.resource import VenueHistoryResource
from resources.service_state.resource import ServiceStateResource
from resources.table_store.resource import TableStoreResource
from resources.tick_store.resource import TickStoreResource
from trading_assets.core.time import day_bounds_us
from trading_assets.market import quality
from trading_assets.market.bars import BARS_TABLE, bars_chart_png, compute_bars_1m
from trading_assets.market.chart_md import bars_sparklines_md
from trading_assets.market.completeness import MAX_SILENCE_US, day_coverage
from trading_assets.market.history_guard import GuardedHistory
from trading_assets.market.live_gaps import live_gap_metadata
from trading_assets.market.partitions import DAILY, daily_check_spec, partition_day
from trading_assets.market.sealing import seal_day

tick_stream = dg.AssetSpec(
    "tick_stream",
    group_name="ingestion",
    description="Live trades from the exchange websockets: the streamer publishes them to the bus and the "
    "loader writes them into the tick store (services outside Dagster; the stream-health sensor watches "
    "their heartbeats and records observations here).",
    kinds={"kafka"},
)

# (check name, what it guards) for the checks computed while sealing; all block downstream assets.
_SEAL_CHECKS = {
    "no_trade_id_gaps": "Every trade id between a symbol's first and last of the day is present.",
    "no_duplicates": "Each (venue, symbol, trade_id) appears once after sealing.",
    "time_monotonic": "Within a symbol, trade time never decreases as trade ids increase.",
    "price_jumps_within_bounds": "No consecutive trades of a symbol differ in price by more than 10%.",
}


_COMPLETE_CHECK = "day_complete"


def _time(time_us: int) -> str:
    return dt.datetime.fromtimestamp(time_us / 1e6, dt.UTC).isoformat()


def _check_result(result: quality.CheckResult, check_name: str) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        check_name=check_name,
        passed=result.passed,
        description=result.description,
        metadata={
            "failing": result.count,
            "checked": result.checked,
            "examples": "\n".join(result.examples) or "-",
        },
    )


def day_summary(ticks: pa.Table) -> dict[str, dg.MetadataValue]:
    """Row count, symbols and first/last trade time of a day's ticks, as metadata."""
    if ticks.num_rows == 0:
        return {"rows": dg.MetadataValue.int(0)}
    symbols = sorted(pc.unique(ticks["symbol"]).to_pylist())
    per_symbol = ticks.group_by("symbol").aggregate([("trade_id", "count")]).sort_by("symbol")
    table = "\n".join(
        f"| {s} | {n:,} |"
        for s, n in zip(
            per_symbol["symbol"].to_pylist(), per_symbol["trade_id_count"].to_pylist(), strict=True
        )
    )
    return {
        "rows": dg.MetadataValue.int(ticks.num_rows),
        "symbols": dg.MetadataValue.int(len(symbols)),
        "first_trade": dg.MetadataValue.text(_time(pc.min(ticks["trade_time_us"]).as_py())),
        "last_trade": dg.MetadataValue.text(_time(pc.max(ticks["trade_time_us"]).as_py())),
        "rows_per_symbol": dg.MetadataValue.md(f"| symbol | rows |\n|---|---|\n{table}"),
    }


def _coverage_check(ticks: pa.Table, day: dt.date) -> dg.AssetCheckResult:
    coverage = day_coverage(ticks, day)
    longest_at = coverage.longest_inner_silence_start_us
    return dg.AssetCheckResult(
        check_name=_COMPLETE_CHECK,
        passed=coverage.passed,
        severity=dg.AssetCheckSeverity.WARN,
        description=None
        if coverage.passed
        else f"{day} is not covered by trades: a stretch longer than {MAX_SILENCE_US / 60e6:.0f} min "
        "has none (stream stopped, started late or paused); the day may be incomplete",
        metadata={
            "covered_fraction": dg.MetadataValue.float(round(coverage.covered_fraction, 6)),
            "head_silence_min": dg.MetadataValue.float(round(coverage.head_silence_us / 60e6, 2)),
            "tail_silence_min": dg.MetadataValue.float(round(coverage.tail_silence_us / 60e6, 2)),
            "longest_inner_silence_min": dg.MetadataValue.float(
                round(coverage.longest_inner_silence_us / 60e6, 2)
            ),
            "longest_inner_silence_from": dg.MetadataValue.text(
                _time(longest_at) if longest_at is not None else "-"
            ),
            "max_silence_min": dg.MetadataValue.float(MAX_SILENCE_US / 60e6),
        },
    )


@dg.asset(
    partitions_def=DAILY,
    group_name="market",
    deps=[tick_stream],
    kinds={"clickhouse", "parquet"},
    io_manager_key="sealed_day_io",
    check_specs=[
        *(
            daily_check_spec(name, asset="tick_partition", blocking=True, description=text)
            for name, text in _SEAL_CHECKS.items()
        ),
        daily_check_spec(
            _COMPLETE_CHECK,
            asset="tick_partition",
            description=f"Trades cover the whole UTC day: no stretch longer than {MAX_SILENCE_US // 60_000_000} "
            "min without any trade, from midnight to midnight. Warns (does not block) when the day is partial.",
        ),
    ],
)
def tick_partition(
    context: dg.AssetExecutionContext,
    tick_store: TickStoreResource,
    venue_history: VenueHistoryResource,
    service_state: ServiceStateResource,
):  # -> MaterializeResult holding the sealed day: annotated, Dagster would type the output as Nothing
    """One closed UTC day of ticks, sealed: trade-id gaps filled from the venue's REST history, duplicates
    removed for good. Blocking checks keep bad days from flowing into bars, features and models."""
    day = partition_day(context.partition_key)
    history = GuardedHistory(venue_history.history_for)
    with tick_store.open() as store:
        report, ticks = seal_day(store, day, history)
    if history.failures:
        raise dg.Failure(
            f"{day}: the seal could not read the REST history of "
            + "; ".join(f"{venue} ({error})" for venue, error in sorted(history.failures.items()))
            + ". Missing trades may be unfilled: start the venue's REST server (for the simulated exchange "
            "`tradegraph exchange-sim`) or list the venue in VenueHistoryResource.without_history, then "
            "re-run this partition.",
            metadata={"history_errors": dg.MetadataValue.text("\n".join(history.failures.values()))},
        )
    if ticks.num_rows == 0:
        raise dg.Failure(
            f"no ticks are stored for {day}: the loader has not written this day (is `tradegraph load` or "
            "`tradegraph run` running?), or it was archived and dropped: rehydrate it first."
        )
    checks = [
        _check_result(quality.check_no_trade_id_gaps(ticks), "no_trade_id_gaps"),
        _check_result(quality.check_no_duplicates(ticks), "no_duplicates"),
        _check_result(quality.check_time_monotonic(ticks), "time_monotonic"),
        _check_result(quality.check_price_jumps(ticks), "price_jumps_within_bounds"),
        _coverage_check(ticks, day),
    ]
    metadata = {
        **day_summary(ticks),
        "gaps_found": dg.MetadataValue.int(report.gaps_found),
        "gaps_filled": dg.MetadataValue.int(report.gaps_filled),
        "gaps_left": dg.MetadataValue.int(sum(g.size for g in report.gaps_left)),
        # Beside what the seal found: what the streamers found and filled live for this day.
        **live_gap_metadata(service_state, day),
    }
    # The value is the sealed day itself: readers later in the run get it in memory (day_io).
    return dg.MaterializeResult(value=ticks, metadata=metadata, check_results=checks)


@dg.asset(
    partitions_def=DAILY,
    group_name="market",
    kinds={"clickhouse", "parquet"},
    check_specs=[
        daily_check_spec(
            "bars_reconcile_with_ticks",
            asset="bars_1m",
            blocking=True,
            description="Per symbol, the bars' volume and trade count equal the day's ticks'.",
        )
    ],
)
def bars_1m(
    context: dg.AssetExecutionContext, tick_partition: pa.Table, table_store: TableStoreResource
) -> dg.MaterializeResult:
    """OHLCV, VWAP, trade count and buy/sell volume per symbol and minute of a day, stored in the table
    store (table ``bars_1m``, the day replaced atomically). Reads the day hot or archived, wherever it lives.
    The reconcile check compares the bars read back from the store with the day's ticks."""
    day = partition_day(context.partition_key)
    ticks = tick_partition
    start_us, end_us = day_bounds_us(day)
    with table_store.open() as store:
        store.write_partition(BARS_TABLE, day, compute_bars_1m(ticks))
        bars = store.read(BARS_TABLE, start_us=start_us, end_us=end_us)
    check = _check_result(quality.check_bars_reconcile(ticks, bars), "bars_reconcile_with_ticks")
    png = base64.b64encode(bars_chart_png(bars, title=f"bars_1m {day}")).decode()
    return dg.MaterializeResult(
        metadata={
            "bars": dg.MetadataValue.int(bars.num_rows),
            "symbols": dg.MetadataValue.int(len(pc.unique(bars["symbol"])) if bars.num_rows else 0),
            "ticks": dg.MetadataValue.int(ticks.num_rows),
            "first_minute": dg.MetadataValue.text(
                _time(pc.min(bars["minute_us"]).as_py()) if bars.num_rows else "-"
            ),
            "last_minute": dg.MetadataValue.text(
                _time(pc.max(bars["minute_us"]).as_py()) if bars.num_rows else "-"
            ),
            # Shown inline in the UI's metadata table: Markdown below 1,000 characters (see chart_md).
            "chart": dg.MetadataValue.md(bars_sparklines_md(bars, day_start_us=day_bounds_us(day)[0])),
            # The full chart: too long to show inline, the UI opens it from "[Show Markdown]".
            "chart_png": dg.MetadataValue.md(f"![price and volume](data:image/png;base64,{png})"),
        },
        check_results=[check],
    )
