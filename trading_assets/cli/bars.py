"""``tradegraph bars``: a stored day's 1-minute bars as CSV (computed from its ticks when not stored)."""

from __future__ import annotations

import argparse
import datetime as dt
import sys

from trading_assets.core.settings import Settings


def _cmd_bars(args: argparse.Namespace, settings: Settings) -> int:
    import pyarrow.csv as pa_csv

    from resources.table_store.factory import TableStoreConfig, open_table_store
    from resources.tick_store.factory import TickStoreConfig, open_tick_store
    from trading_assets.core.time import day_bounds_us
    from trading_assets.market.bars import BARS_TABLE, compute_bars_1m

    day = dt.date.fromisoformat(args.day)
    start_us, end_us = day_bounds_us(day)
    filters = {"symbol": args.symbol} if args.symbol else None
    about = f"{day}{f' and {args.symbol}' if args.symbol else ''}"
    with open_table_store(TableStoreConfig.from_settings(settings)) as tables:
        stored_days = {partition.day for partition in tables.days(BARS_TABLE)}
        bars = tables.read(BARS_TABLE, start_us=start_us, end_us=end_us, filters=filters)
    if day not in stored_days:
        # Not materialized yet (bars_1m runs after the day is sealed): compute them from the stored ticks.
        with open_tick_store(TickStoreConfig.from_settings(settings)) as store:
            # One symbol's bars are computed where the ticks are (ClickHouse aggregates on the server).
            if args.symbol:
                bars = store.minute_bars(symbol=args.symbol, start_us=start_us, end_us=end_us)
            else:
                bars = compute_bars_1m(store.export(day))
        if bars.num_rows == 0:
            print(
                f"tradegraph bars: no bars and no ticks stored for {about} in the {settings.store} store",
                file=sys.stderr,
            )
            return 1
        print(
            f"tradegraph bars: no stored bars for {day} (materialize bars_1m for it to store them); "
            "computed from the stored ticks",
            file=sys.stderr,
        )
    elif bars.num_rows == 0:
        print(f"tradegraph bars: the stored bars of {day} have none for {args.symbol}", file=sys.stderr)
        return 1
    pa_csv.write_csv(bars, args.out if args.out else sys.stdout.buffer)
    return 0


def add_bars_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``tradegraph bars`` to the CLI's subcommands."""
    bars = sub.add_parser(
        "bars",
        help="1-minute OHLCV bars of a stored day as CSV",
        description="Write a day's 1-minute bars (open, high, low, close, volume, VWAP, trades, buy/sell "
        "volume) as CSV: the bars stored in the table store by the bars_1m asset, or, for a day without "
        "stored bars, bars computed from the day's deduplicated ticks in the tick store (minute_us is the "
        "minute's start in microseconds since epoch, UTC).",
    )
    bars.add_argument("--day", required=True, help="UTC day, YYYY-MM-DD")
    bars.add_argument("--symbol", default=None, help="only this symbol (default: all)")
    bars.add_argument("--out", default=None, help="CSV file (default: standard output)")
    bars.set_defaults(handler=_cmd_bars)
