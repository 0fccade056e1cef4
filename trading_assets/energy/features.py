"""One delivery day's features and labels per hour, as known at the day-ahead gate closure.

A row per delivery hour of day D. Features (what is known at the decision, D-1 ``decision_hour_utc``):
the hour's day-ahead price, the latest load forecast and wind/solar forecast published by then, the
residual load (load minus wind and solar), the hour of day and the weekday. Labels (known only once the
hour has traded): the VWAP of the hour's hourly-product intraday trades and the spread, that VWAP minus
the day-ahead price. The publication times of the versions used are stored beside them, so anyone can
check that no feature was published after its decision.

Stored per area in the table ``energy_features_<area>`` (one partition per delivery day). Missing inputs
are NaN (XGBoost routes them); a row without a label never trains or scores.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import inspect
import sys

import numpy as np
import pyarrow as pa

from resources.table_store.spec import TableSpec
from trading_assets.core.time import day_start_us
from trading_assets.energy import inputs
from trading_assets.energy.inputs import HOUR_US, HOURS, HourlyTrades, HourlyValues

FEATURE_COLUMNS = (
    "da_price",
    "load_forecast_mw",
    "wind_solar_forecast_mw",
    "residual_load_mw",
    "hour",
    "weekday",
)
"""The model's inputs, in this order."""
LABEL_COLUMN = "spread"
"""The label: intraday VWAP minus day-ahead price, EUR/MWh."""

_FLOAT = pa.float64()
FEATURES_SCHEMA = pa.schema(
    [
        pa.field("delivery_us", pa.int64(), nullable=False),
        pa.field("decision_us", pa.int64(), nullable=False),
        *(pa.field(name, _FLOAT, nullable=False) for name in FEATURE_COLUMNS),
        pa.field("intraday_vwap", _FLOAT, nullable=False),
        pa.field(LABEL_COLUMN, _FLOAT, nullable=False),
        pa.field("intraday_volume_mw", _FLOAT, nullable=False),
        pa.field("intraday_trades", pa.int64(), nullable=False),
        pa.field("da_published_us", pa.int64(), nullable=False),
        pa.field("load_published_us", pa.int64(), nullable=False),
        pa.field("generation_published_us", pa.int64(), nullable=False),
    ]
)
"""A row: the delivery hour, its decision time, the features, the labels and the versions used (0: none)."""


def features_table(area: str) -> TableSpec:
    """The table of ``area``'s energy features: ``energy_features_<area>``, one row per delivery hour."""
    return TableSpec(
        name=f"energy_features_{area.lower()}",
        schema=FEATURES_SCHEMA,
        time_column="delivery_us",
        key=("delivery_us",),
    )


def day_features(
    day: dt.date,
    *,
    decision_us: int,
    da_price: HourlyValues,
    load: HourlyValues,
    generation: HourlyValues,
    intraday: HourlyTrades,
) -> pa.Table:
    """The 24 rows of delivery ``day`` (see the module docstring); inputs per hour of the day."""
    delivery = day_start_us(day) + np.arange(HOURS, dtype=np.int64) * HOUR_US
    for name, values in (("day-ahead price", da_price), ("load", load), ("generation", generation)):
        late = values.published_us > decision_us
        if late.any():
            raise ValueError(
                f"{day}: the {name} of hour {int(np.flatnonzero(late)[0])} was published after the decision "
                f"time; read it with inputs.hourly_latest(as_of_us=decision_us)"
            )
    columns: dict[str, np.ndarray] = {
        "delivery_us": delivery,
        "decision_us": np.full(HOURS, decision_us, dtype=np.int64),
        "da_price": da_price.value,
        "load_forecast_mw": load.value,
        "wind_solar_forecast_mw": generation.value,
        "residual_load_mw": load.value - generation.value,
        "hour": np.arange(HOURS, dtype=np.float64),
        "weekday": np.full(HOURS, float(day.weekday())),
        "intraday_vwap": intraday.vwap,
        LABEL_COLUMN: intraday.vwap - da_price.value,
        "intraday_volume_mw": intraday.volume_mw,
        "intraday_trades": intraday.trades,
        "da_published_us": da_price.published_us,
        "load_published_us": load.published_us,
        "generation_published_us": generation.published_us,
    }
    return pa.table(columns, schema=FEATURES_SCHEMA)


def feature_code_digest() -> str:
    """SHA-256 of the code that makes the features (this module and the inputs module): a model records
    it, so a change of how features are made is visible in the registry."""
    digest = hashlib.sha256()
    for module in (inputs, sys.modules[__name__]):
        digest.update(inspect.getsource(module).encode())
    return digest.hexdigest()
