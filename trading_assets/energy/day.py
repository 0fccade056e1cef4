"""What ``energy_features`` does for one delivery day: read the four sources, take each forecast as of
the decision time, build the day's rows and describe them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

import dagster as dg
import numpy as np
import pyarrow as pa

from resources.sources.base import SourceSpec
from resources.table_store.base import TableStore
from trading_assets.energy import inputs
from trading_assets.energy.config import EnergyConfig
from trading_assets.energy.features import day_features
from trading_assets.models.report import time_text


@dataclass(frozen=True, slots=True, kw_only=True)
class BuiltDay:
    """One delivery day's feature rows and what was missing."""

    day: dt.date
    """The delivery day."""
    decision_us: int
    """When its positions are decided."""
    rows: pa.Table
    """The 24 rows (:data:`trading_assets.energy.features.FEATURES_SCHEMA`)."""
    missing: Mapping[str, int]
    """Hours without each input (``da_price``, ``load_forecast``, ``wind_solar_forecast``, ``intraday_trades``)."""
    trades: int
    """Hourly-product trades that delivered in the day."""

    @property
    def complete_hours(self) -> int:
        """Hours with every input and a label."""
        columns = ("da_price", "load_forecast_mw", "wind_solar_forecast_mw", "spread")
        values = np.column_stack([self.rows.column(c).to_numpy() for c in columns])
        return int((~np.isnan(values).any(axis=1)).sum())

    def metadata(self) -> dict[str, dg.MetadataValue]:
        """Rows, complete hours, decision time and the missing hours per input, as asset metadata."""
        spread = np.asarray(self.rows.column("spread").to_numpy(), dtype=np.float64)
        known = spread[~np.isnan(spread)]
        return {
            "rows": dg.MetadataValue.int(self.rows.num_rows),
            "hours": dg.MetadataValue.int(self.complete_hours),
            "labelled_hours": dg.MetadataValue.int(int(known.size)),
            "decision_time": dg.MetadataValue.text(time_text(self.decision_us)),
            "intraday_trades": dg.MetadataValue.int(self.trades),
            "missing_inputs": dg.MetadataValue.json(dict(self.missing)),
            **{f"missing_{name}_hours": dg.MetadataValue.int(count) for name, count in self.missing.items()},
            **({"mean_spread_eur_mwh": dg.MetadataValue.float(float(known.mean()))} if known.size else {}),
        }


def build_day(
    store: TableStore, config: EnergyConfig, specs: Mapping[str, SourceSpec], day: dt.date
) -> BuiltDay:
    """The feature rows of delivery ``day`` from the stored source tables."""
    decision_us = config.decision_us(day)

    def forecast(
        source: str, document_type: str, *, sum_generation_types: bool = False
    ) -> inputs.HourlyValues:
        spec = specs[source]
        return inputs.hourly_latest(
            spec,
            inputs.read_entsoe_day(store, spec, day),
            day=day,
            as_of_us=decision_us,
            document_type=document_type,
            area=config.entsoe_area,
            sum_generation_types=sum_generation_types,
        )

    da_price = forecast(config.da_prices_source, inputs.DA_PRICES_DOCUMENT)
    load = forecast(config.load_forecast_source, inputs.LOAD_DOCUMENT)
    generation = forecast(
        config.generation_forecast_source, inputs.GENERATION_DOCUMENT, sum_generation_types=True
    )
    trades_spec = specs[config.intraday_trades_source]
    intraday = inputs.hourly_trades(
        inputs.read_trades_day(store, trades_spec, day), day=day, area=config.trades_area
    )
    rows = day_features(
        day, decision_us=decision_us, da_price=da_price, load=load, generation=generation, intraday=intraday
    )
    return BuiltDay(
        day=day,
        decision_us=decision_us,
        rows=rows,
        missing={
            "da_price": da_price.missing,
            "load_forecast": load.missing,
            "wind_solar_forecast": generation.missing,
            "intraday_trades": intraday.missing,
        },
        trades=int(intraday.trades.sum()),
    )


PUBLISHED_COLUMNS = ("da_published_us", "load_published_us", "generation_published_us")
"""The stored rows' publication times of the versions used."""


def lookahead_rows(rows: pa.Table) -> int:
    """Rows of stored features that used a version published after their decision time."""
    decision = np.asarray(rows.column("decision_us").to_numpy(), dtype=np.int64)
    late = np.zeros(rows.num_rows, dtype=bool)
    for column in PUBLISHED_COLUMNS:
        late |= np.asarray(rows.column(column).to_numpy(), dtype=np.int64) > decision
    return int(late.sum())
