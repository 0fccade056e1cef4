"""The energy-market example (examples/energy/, docs/ENERGY.md): prices, forecasts and their revisions,
intraday trades and the model's features, read from the store with SQL (the data is in ClickHouse, not in
Prometheus; the sources dashboard shows the pollers' health).

The table names are those of examples/energy/sources.toml (``src_<source name>``) and of its
``[energy]`` area (``energy_features_de``); a deployment with other source names edits ``TABLES``.
"""

from __future__ import annotations

from ops.dashboards.panels import Board, board
from ops.dashboards.sql import sql_series

TABLES = {
    "prices": "src_entsoe_da_prices_de",
    "load": "src_entsoe_load_de",
    "wind_solar": "src_entsoe_wind_solar_de",
    "trades": "src_intraday_trades_de",
    "features": "energy_features_de",
}
"""Table of each dataset, as the example's sources file and energy area name them."""


def _in_range(column: str) -> str:
    """The dashboard's time range on an int64 microseconds column (the store's time columns)."""
    return (
        f"{column} >= toInt64(toUnixTimestamp($__fromTime)) * 1000000 "
        f"AND {column} < toInt64(toUnixTimestamp($__toTime)) * 1000000"
    )


def _time(column: str) -> str:
    return f"toDateTime(intDiv({column}, 1000000))"


def _latest(table: str, alias: str, *, by: str = "") -> str:
    """Per delivery period, the latest published version of the value (what a model may see now)."""
    group = f", {by}" if by else ""
    return (
        f"SELECT {_time('period_start_us')} AS time{group}, argMax(value, published_us) AS {alias} "
        f"FROM {table} WHERE {_in_range('period_start_us')} GROUP BY time{group} ORDER BY time"
    )


def build() -> Board:
    """The energy dashboard."""
    features, trades = TABLES["features"], TABLES["trades"]
    return board(
        file="energy.json",
        uid="tradegraph-energy",
        title="tradegraph energy",
        description="The energy example: day-ahead prices, load and wind/solar forecasts (latest version and "
        "revisions), intraday trades, and the spread the model predicts.",
        rows=[
            (
                "Prices",
                [
                    sql_series(
                        "Day-ahead price (latest version), EUR/MWh",
                        "currencyEUR",
                        _latest(TABLES["prices"], "day_ahead_eur_mwh"),
                    ),
                    sql_series(
                        "Intraday VWAP against the day-ahead price, and the spread (the model's label)",
                        "currencyEUR",
                        f"SELECT {_time('delivery_us')} AS time, da_price, intraday_vwap, spread "
                        f"FROM {features} WHERE {_in_range('delivery_us')} ORDER BY time",
                    ),
                ],
            ),
            (
                "Forecasts",
                [
                    sql_series(
                        "Load forecast (latest version), MW", "watt", _latest(TABLES["load"], "load_mw")
                    ),
                    sql_series(
                        "Wind and solar forecast by production type (latest version), MW",
                        "watt",
                        _latest(TABLES["wind_solar"], "forecast_mw", by="psr_type"),
                    ),
                    sql_series(
                        "Forecast versions per delivery period (revisions kept, never overwritten)",
                        "short",
                        f"SELECT {_time('period_start_us')} AS time, count() AS load_versions "
                        f"FROM {TABLES['load']} WHERE {_in_range('period_start_us')} GROUP BY time ORDER BY time",
                    ),
                    sql_series(
                        "Residual load (load minus wind and solar, as of the decision), MW",
                        "watt",
                        f"SELECT {_time('delivery_us')} AS time, residual_load_mw "
                        f"FROM {features} WHERE {_in_range('delivery_us')} ORDER BY time",
                    ),
                ],
            ),
            (
                "Intraday trades",
                [
                    sql_series(
                        "Intraday trades and volume (MW) per 15 minutes",
                        "short",
                        f"SELECT toStartOfFifteenMinutes({_time('trade_time')}) AS time, count() AS trades, "
                        f"sum(quantity) AS volume_mw FROM {trades} WHERE {_in_range('trade_time')} "
                        "GROUP BY time ORDER BY time",
                    ),
                ],
            ),
        ],
    )
