"""Seeded energy-market inputs in the source tables: ENTSO-E-shaped prices and forecasts (with revisions)
and exchange-style intraday trades whose spread to the day-ahead price follows the wind forecast."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa

from resources.sources.base import RecordSchema, SourceSpec
from resources.sources.entsoe import RECORDS as ENTSOE
from resources.table_store.base import TableStore
from resources.table_store.embedded import EmbeddedTableStore
from trading_assets.core.time import US_PER_DAY, US_PER_MINUTE, day_start_us
from trading_assets.energy.config import EnergyConfig
from trading_assets.sources.tables import merge_day, source_table, split_by_day

HOUR_US = US_PER_DAY // 24
FIRST_DAY = dt.date(2026, 3, 2)
ZONE = "10Y1001A1001A82H"

TRADES_SCHEMA = pa.schema(
    [
        pa.field(name, kind, nullable=False)
        for name, kind in (
            ("trade_id", pa.string()),
            ("trade_time", pa.int64()),
            ("delivery_start", pa.int64()),
            ("delivery_end", pa.int64()),
            ("product", pa.string()),
            ("area", pa.string()),
            ("price", pa.float64()),
            ("quantity", pa.float64()),
            ("aggressor", pa.string()),
            ("file", pa.string()),
            ("file_sha256", pa.string()),
            ("line", pa.int64()),
        )
    ]
)

DA = SourceSpec(name="entsoe_da_de", kind="entsoe", records=ENTSOE, periods_per_day=24)
LOAD = SourceSpec(name="entsoe_load_de", kind="entsoe", records=ENTSOE, periods_per_day=24)
WIND_SOLAR = SourceSpec(name="entsoe_wind_solar_de", kind="entsoe", records=ENTSOE, periods_per_day=96)
TRADES = SourceSpec(
    name="intraday_trades_de",
    kind="ftp",
    records=RecordSchema(schema=TRADES_SCHEMA, time_column="trade_time", key=("file", "file_sha256", "line")),
)
SPECS = (DA, LOAD, WIND_SOLAR, TRADES)
CONFIG = EnergyConfig(
    area="DE",
    da_prices_source=DA.name,
    load_forecast_source=LOAD.name,
    generation_forecast_source=WIND_SOLAR.name,
    intraday_trades_source=TRADES.name,
    entsoe_area=ZONE,
    trades_area="DE",
)


def days(count: int, first: dt.date = FIRST_DAY) -> list[dt.date]:
    return [first + dt.timedelta(days=n) for n in range(count)]


def hour(day: dt.date, number: float) -> int:
    """The start of hour ``number`` of ``day`` (fractions allowed), µs."""
    return day_start_us(day) + int(number * HOUR_US)


def entsoe_rows(
    document_type: str,
    points: Sequence[tuple[int, float, int]],
    *,
    psr_type: str = "",
    resolution_minutes: int = 60,
    area: str = ZONE,
) -> pa.Table:
    """ENTSO-E records from (period_start_us, value, published_us) points of one series (one document
    per publication, revision 1)."""
    unit = "EUR/MWH" if document_type == "A44" else "MAW"
    rows = [
        {
            "area": area,
            "document_type": document_type,
            "process_type": "" if document_type == "A44" else "A01",
            "business_type": "" if document_type == "A44" else "A94",
            "psr_type": psr_type,
            "period_start_us": start,
            "resolution_minutes": resolution_minutes,
            "value": value,
            "unit": unit,
            "published_us": published,
            "document_mrid": f"{document_type}-{psr_type}-{published}",
            "revision": 1,
        }
        for start, value, published in points
    ]
    return pa.Table.from_pylist(rows, schema=ENTSOE.schema)


def trade_rows(trades: Sequence[dict[str, object]], *, file: str = "trades.csv") -> pa.Table:
    """Trades from dicts with trade_time, delivery_start, product, price, quantity (and optionally area)."""
    rows = []
    for line, trade in enumerate(trades, start=2):
        start = int(trade["delivery_start"])  # type: ignore[call-overload]
        minutes = 60 if trade["product"] == "PH" else 15
        rows.append(
            {
                "trade_id": f"T{line}",
                "trade_time": trade["trade_time"],
                "delivery_start": start,
                "delivery_end": start + minutes * US_PER_MINUTE,
                "product": trade["product"],
                "area": trade.get("area", "DE"),
                "price": trade["price"],
                "quantity": trade["quantity"],
                "aggressor": "BUY",
                "file": file,
                "file_sha256": "0" * 64,
                "line": line,
            }
        )
    return pa.Table.from_pylist(rows, schema=TRADES_SCHEMA)


def store_records(store: TableStore, spec: SourceSpec, rows: pa.Table) -> None:
    """Merge ``rows`` into ``spec``'s stored days as the source loader does (one row per key)."""
    table = source_table(spec)
    for day, part in split_by_day(table, rows):
        start = day_start_us(day)
        stored = store.read(table, start_us=start, end_us=start + US_PER_DAY)
        merged, _ = merge_day(table, stored, part)
        store.write_partition(table, day, merged)


_SHAPE = np.array(
    [-18, -22, -25, -26, -24, -16, -2, 16, 24, 18, 6, -4, -10, -12, -8, 0, 12, 28, 40, 36, 24, 10, -2, -10],
    dtype=np.float64,
)


def market_days(
    tables: Path | TableStore, count: int, *, seed: int = 11, first: dt.date = FIRST_DAY
) -> dict[str, object]:
    """``count`` delivery days of all four sources in ``tables`` (a store, or the embedded store's folder).

    Day-ahead prices are published at D-1 11:45 UTC, the load forecast at D-2 09:00 and revised at D-1
    09:00, wind (hourly) and solar (quarter-hourly) at D-1 08:00. The intraday spread of an hour is
    ``-1.2 EUR/MWh per GW of wind forecast above 20 GW`` plus noise (4 EUR/MWh): high wind makes
    intraday cheaper than day-ahead.
    Also quarter-hour trades far off the price (to be ignored). Returns the true hourly spreads by day.
    """
    rng = np.random.default_rng(seed)
    da_rows, load_rows, gen_rows, trades = [], [], [], []
    spreads: dict[dt.date, np.ndarray] = {}
    for day in days(count, first):
        starts = [hour(day, h) for h in range(24)]
        da = 80.0 + _SHAPE * rng.uniform(0.8, 1.2) + rng.normal(0.0, 3.0, 24)
        load = 55_000.0 + 300.0 * _SHAPE + rng.normal(0.0, 800.0, 24)
        wind = np.clip(20_000.0 + rng.normal(0.0, 5_000.0) + rng.normal(0.0, 800.0, 24).cumsum(), 0.0, None)
        solar_q = np.clip(np.sin(np.pi * (np.arange(96) / 4.0 - 6.0) / 12.0), 0.0, None) * rng.uniform(
            5e3, 2e4
        )
        published_da = hour(day, -12.25)
        da_rows.append(
            entsoe_rows("A44", [(s, float(v), published_da) for s, v in zip(starts, da, strict=True)])
        )
        first_load, revised_load = hour(day, -39), hour(day, -15)
        load_rows.append(
            entsoe_rows(
                "A65", [(s, float(v) - 2_000.0, first_load) for s, v in zip(starts, load, strict=True)]
            )
        )
        load_rows.append(
            entsoe_rows("A65", [(s, float(v), revised_load) for s, v in zip(starts, load, strict=True)])
        )
        gen_published = hour(day, -16)
        gen_rows.append(
            entsoe_rows(
                "A69",
                [(s, float(v), gen_published) for s, v in zip(starts, wind, strict=True)],
                psr_type="B19",
            )
        )
        gen_rows.append(
            entsoe_rows(
                "A69",
                [(hour(day, q / 4.0), float(v), gen_published) for q, v in enumerate(solar_q)],
                psr_type="B16",
                resolution_minutes=15,
            )
        )
        spread = -0.0012 * (wind - 20_000.0) + rng.normal(0.0, 4.0, 24)
        spreads[day] = spread
        for h in range(24):
            for _ in range(12):
                lead = rng.uniform(5.0, 400.0) * US_PER_MINUTE
                trades.append(
                    {
                        "trade_time": starts[h] - int(lead),
                        "delivery_start": starts[h],
                        "product": "PH",
                        "price": round(float(da[h] + spread[h] + rng.normal(0.0, 1.0)), 2),
                        "quantity": round(float(rng.uniform(0.1, 8.0)), 1),
                    }
                )
            trades.append(
                {
                    "trade_time": starts[h] - 30 * US_PER_MINUTE,
                    "delivery_start": starts[h] + 15 * US_PER_MINUTE,
                    "product": "QH",
                    "price": 999.0,
                    "quantity": 5.0,
                }
            )
    store = tables if isinstance(tables, TableStore) else EmbeddedTableStore(tables)
    store_records(store, DA, pa.concat_tables(da_rows))
    store_records(store, LOAD, pa.concat_tables(load_rows))
    store_records(store, WIND_SOLAR, pa.concat_tables(gen_rows))
    trades.sort(key=lambda trade: int(trade["trade_time"]))  # type: ignore[call-overload]
    store_records(store, TRADES, trade_rows(trades))
    if store is not tables:
        store.close()
    return {"spreads": spreads}
