"""A hand-made delivery day in the source tables: every input with a known answer, gaps and revisions."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa

from resources.table_store.base import TableStore
from tests.trading_assets.energy.helpers import (
    CONFIG,
    DA,
    LOAD,
    TRADES,
    WIND_SOLAR,
    entsoe_rows,
    hour,
    store_records,
    trade_rows,
)

HAND_MADE_DAY = dt.date(2026, 3, 4)  # a Wednesday


def hand_made_day(store: TableStore, *, late_load: bool) -> None:
    """:data:`HAND_MADE_HAND_MADE_DAY` with every input (see test_features for what each row tests); with
    ``late_load`` a revision of every load value published one microsecond after the decision."""
    decision = CONFIG.decision_us(HAND_MADE_DAY)
    hours = [hour(HAND_MADE_DAY, h) for h in range(24)]
    store_records(
        store, DA, entsoe_rows("A44", [(t, 50.0 + h, decision - 900_000_000) for h, t in enumerate(hours)])
    )
    # Load: a first issue two days ahead, a revision the morning before; hour 5 only ever issued late.
    load = [(t, 1_000.0 + h, decision - 27 * 3_600_000_000) for h, t in enumerate(hours) if h != 5]
    load += [(t, 2_000.0 + h, decision - 3 * 3_600_000_000) for h, t in enumerate(hours) if h not in (5, 7)]
    load += [(hours[5], 9_999.0, decision + 3_600_000_000)]
    if late_load:
        # The planted late revision: published one microsecond after the decision, absurd values.
        load += [(t, 123_456.0, decision + 1) for t in hours]
    store_records(store, LOAD, entsoe_rows("A65", load))
    # Wind hourly, solar quarter-hourly: the hour's solar is the mean of its quarters; types are added.
    wind = [(t, 300.0, decision - 1) for t in hours]
    solar = [(hour(HAND_MADE_DAY, q / 4), float(q % 4), decision - 1) for q in range(96)]
    other_zone = entsoe_rows(
        "A69", [(t, 1e9, decision - 1) for t in hours], psr_type="B19", area="10YFR-RTE------C"
    )
    store_records(
        store,
        WIND_SOLAR,
        pa.concat_tables(
            [
                entsoe_rows("A69", wind, psr_type="B19"),
                entsoe_rows("A69", solar, psr_type="B16", resolution_minutes=15),
                other_zone,
            ]
        ),
    )
    trades = [
        {
            "trade_time": hours[3] - 600_000_000,
            "delivery_start": hours[3],
            "product": "PH",
            "price": 60.0,
            "quantity": 1.0,
        },
        {
            "trade_time": hours[3] - 400_000_000,
            "delivery_start": hours[3],
            "product": "PH",
            "price": 54.0,
            "quantity": 3.0,
        },
        # Ignored: a quarter-hour product, another area, another delivery day.
        {
            "trade_time": hours[3] - 300_000_000,
            "delivery_start": hours[3],
            "product": "QH",
            "price": 500.0,
            "quantity": 9.0,
        },
        {
            "trade_time": hours[3] - 300_000_000,
            "delivery_start": hours[3],
            "product": "PH",
            "price": 500.0,
            "quantity": 9.0,
            "area": "FR",
        },
        {
            "trade_time": hours[0] - 3_600_000_000 * 2,
            "delivery_start": hours[0] - 3_600_000_000,
            "product": "PH",
            "price": 500.0,
            "quantity": 9.0,
        },
        # Traded the evening before delivery (stored in the day before's partition by trade time).
        {
            "trade_time": hours[0] - 3_600_000_000 * 5,
            "delivery_start": hours[0],
            "product": "PH",
            "price": 40.0,
            "quantity": 2.0,
        },
    ]
    store_records(store, TRADES, trade_rows(trades))
