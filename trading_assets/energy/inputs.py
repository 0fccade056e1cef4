"""The energy example's inputs as the source tables hold them: the ONE place that names their columns.

Two kinds of source feed the example (both written to ``src_<name>`` by the source loader):

- ENTSO-E records (kind ``entsoe``): one row per delivery period and published version, columns
  :data:`AREA`, :data:`DOCUMENT_TYPE`, :data:`PERIOD_START`, :data:`VALUE`, :data:`PUBLISHED` and, for the
  wind and solar forecast, :data:`GENERATION_TYPE` (the ``psrType``: solar, wind on- and offshore). Its
  other series columns (process type, resolution, ...) are read from the source's spec, not named here.
- Intraday trades (kind ``ftp``, the exchange's trades CSV): :data:`DELIVERY_START`, :data:`PRODUCT`,
  :data:`TRADE_AREA`, :data:`PRICE`, :data:`QUANTITY`.

Forecasts are re-issued: every value read here for a decision is the latest version published at or
before the decision time (:func:`trading_assets.sources.versions.latest_as_of`), never a later one.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from resources.sources.base import SourceSpec
from resources.table_store.base import TableStore
from trading_assets.core.time import US_PER_DAY, day_bounds_us
from trading_assets.sources.tables import source_table
from trading_assets.sources.versions import latest_as_of

HOUR_US = US_PER_DAY // 24
HOURS = 24

# ENTSO-E records (resources/sources/entsoe).
AREA = "area"
"""Bidding zone of a record (the EIC code the document names)."""
DOCUMENT_TYPE = "document_type"
"""``A44`` day-ahead prices, ``A65`` load forecast, ``A69`` wind and solar forecast."""
PERIOD_START = "period_start_us"
"""Start of the delivery period (int64 µs UTC): the records' time column."""
VALUE = "value"
"""The price (EUR/MWh) or the quantity (MW)."""
PUBLISHED = "published_us"
"""When the document was created (int64 µs UTC): the version column."""
GENERATION_TYPE = "psr_type"
"""Production type of a generation forecast (B16 solar, B18 wind offshore, B19 wind onshore); summed."""

DA_PRICES_DOCUMENT = "A44"
LOAD_DOCUMENT = "A65"
GENERATION_DOCUMENT = "A69"

# Intraday trades (the exchange's CSV, trading_assets/services/energy_sim/intraday_trades.py).
DELIVERY_START = "delivery_start"
"""Start of the traded delivery period (int64 µs UTC)."""
PRODUCT = "product"
"""``PH`` hourly or ``QH`` quarter-hourly product."""
TRADE_AREA = "area"
"""Market area of the trade (``DE``)."""
PRICE = "price"
"""EUR/MWh."""
QUANTITY = "quantity"
"""MW."""
HOURLY_PRODUCT = "PH"


@dataclass(frozen=True, slots=True, kw_only=True)
class HourlyValues:
    """One input over the 24 delivery hours of a day, as known at a decision time."""

    value: np.ndarray
    """Per hour (float64); NaN when no version was published by the decision time."""
    published_us: np.ndarray
    """Per hour, the newest publication time of the versions used (int64 µs); 0 when none."""

    @property
    def missing(self) -> int:
        """Hours without a value."""
        return int(np.isnan(self.value).sum())


@dataclass(frozen=True, slots=True, kw_only=True)
class HourlyTrades:
    """The hourly-product intraday trades of a day's 24 delivery hours."""

    vwap: np.ndarray
    """Volume-weighted average price per hour (EUR/MWh); NaN for an hour without trades."""
    volume_mw: np.ndarray
    """Traded quantity per hour (MW)."""
    trades: np.ndarray
    """Number of trades per hour (int64)."""

    @property
    def missing(self) -> int:
        """Hours without a trade."""
        return int((self.trades == 0).sum())


def read_entsoe_day(store: TableStore, spec: SourceSpec, day: dt.date) -> pa.Table:
    """Every stored version of ``spec``'s records for delivery periods in ``day``."""
    start_us, end_us = day_bounds_us(day)
    return store.read(source_table(spec), start_us=start_us, end_us=end_us)


def read_trades_day(store: TableStore, spec: SourceSpec, day: dt.date) -> pa.Table:
    """The stored trades that may deliver in ``day``: the day and the day before it, whether the source
    keeps them by trade time (trading opens the afternoon before delivery) or by delivery start."""
    start_us, end_us = day_bounds_us(day)
    return store.read(source_table(spec), start_us=start_us - US_PER_DAY, end_us=end_us)


def _matching(rows: pa.Table, column: str, value: str | None) -> pa.Table:
    if value is None or column not in rows.column_names:
        return rows
    return rows.filter(pc.equal(rows.column(column), pa.scalar(value, rows.schema.field(column).type)))


def hourly_latest(
    spec: SourceSpec,
    rows: pa.Table,
    *,
    day: dt.date,
    as_of_us: int,
    document_type: str,
    area: str | None,
    sum_generation_types: bool = False,
) -> HourlyValues:
    """The latest version as of ``as_of_us`` of each delivery period of ``day``, averaged per hour.

    Rows of other document types or areas (``area`` None: any) are ignored. Periods shorter than an hour
    are averaged into their hour, series that differ only by resolution or process type are averaged,
    and with ``sum_generation_types`` the production types are added up (wind plus solar).
    """
    start_us, end_us = day_bounds_us(day)
    chosen = _matching(_matching(rows, DOCUMENT_TYPE, document_type), AREA, area)
    chosen = chosen.filter(
        pc.and_(
            pc.greater_equal(chosen.column(PERIOD_START), start_us),
            pc.less(chosen.column(PERIOD_START), end_us),
        )
    )
    latest = latest_as_of(spec, chosen, as_of_us)
    value = np.full(HOURS, np.nan)
    published = np.zeros(HOURS, dtype=np.int64)
    if latest.num_rows == 0:
        return HourlyValues(value=value, published_us=published)
    kind = GENERATION_TYPE if sum_generation_types and GENERATION_TYPE in latest.column_names else None
    others = [c for c in spec.records.series if c not in (AREA, DOCUMENT_TYPE, GENERATION_TYPE)]
    frame = latest.select([PERIOD_START, VALUE, PUBLISHED, *others, *([kind] if kind else [])]).to_pandas()
    frame["hour"] = (frame[PERIOD_START] - start_us) // HOUR_US
    kinds = [kind] if kind else []
    # Per series and hour the mean of its periods; then the mean over series of one production type.
    per_series = frame.groupby([*kinds, *others, "hour"], sort=True).agg(
        value=(VALUE, "mean"), published=(PUBLISHED, "max")
    )
    per_kind = per_series.groupby([*kinds, "hour"], sort=True).agg(
        value=("value", "mean"), published=("published", "max")
    )
    per_hour = per_kind.groupby("hour").agg(
        value=("value", "sum" if kind else "mean"), published=("published", "max")
    )
    hours = per_hour.index.to_numpy(dtype=np.int64)
    value[hours] = per_hour["value"].to_numpy(dtype=np.float64)
    published[hours] = per_hour["published"].to_numpy(dtype=np.int64)
    return HourlyValues(value=value, published_us=published)


def hourly_trades(rows: pa.Table, *, day: dt.date, area: str | None) -> HourlyTrades:
    """VWAP, volume and count of the hourly-product (``PH``) trades delivering in each hour of ``day``."""
    start_us, end_us = day_bounds_us(day)
    chosen = _matching(_matching(rows, PRODUCT, HOURLY_PRODUCT), TRADE_AREA, area)
    starts = chosen.column(DELIVERY_START)
    chosen = chosen.filter(pc.and_(pc.greater_equal(starts, start_us), pc.less(starts, end_us)))
    frame = pd.DataFrame(
        {
            "hour": (np.asarray(chosen.column(DELIVERY_START).to_numpy(), dtype=np.int64) - start_us)
            // HOUR_US,
            "notional": np.asarray(chosen.column(PRICE).to_numpy(), dtype=np.float64)
            * np.asarray(chosen.column(QUANTITY).to_numpy(), dtype=np.float64),
            "quantity": np.asarray(chosen.column(QUANTITY).to_numpy(), dtype=np.float64),
        }
    )
    sums = frame.groupby("hour").agg(
        notional=("notional", "sum"), quantity=("quantity", "sum"), trades=("quantity", "size")
    )
    volume = np.zeros(HOURS)
    notional = np.zeros(HOURS)
    count = np.zeros(HOURS, dtype=np.int64)
    hours = sums.index.to_numpy(dtype=np.int64)
    volume[hours] = sums["quantity"].to_numpy(dtype=np.float64)
    notional[hours] = sums["notional"].to_numpy(dtype=np.float64)
    count[hours] = sums["trades"].to_numpy(dtype=np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):
        vwap = np.where(volume > 0, notional / np.where(volume > 0, volume, 1.0), np.nan)
    return HourlyTrades(vwap=vwap, volume_mw=volume, trades=count)
