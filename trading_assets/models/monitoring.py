"""Drift of a symbol's champion: its latest day of features and predictions against its training data.

The reference is the version's own training days (its ``tradegraph.partitions`` tag), read back from the
table store; the recent sample is one later day. Features and predictions are compared with the
population stability index (trading_assets.models.drift); a PSI above the threshold asks for a retrain.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from resources.model_registry.base import ModelRegistry, ModelVersion
from resources.table_store.base import TableStore
from trading_assets.core.time import day_bounds_us, parse_day
from trading_assets.models.drift import drifted, feature_drift, prediction_drift
from trading_assets.models.features import FEATURE_COLUMNS, FEATURES_TABLE
from trading_assets.models.training import predict

MAX_REFERENCE_DAYS = 7
"""Latest training days used as the reference sample (a week of minutes is plenty for decile bins)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DriftReport:
    """PSI of one symbol's recent day against its champion's training data."""

    symbol: str
    """The symbol."""
    version: int
    """The champion version compared."""
    day: dt.date
    """The recent day."""
    feature_psi: dict[str, float]
    """PSI per feature."""
    prediction_psi: float
    """PSI of the champion's predictions."""
    drifted: tuple[str, ...]
    """Features (and ``prediction``) whose PSI exceeds the threshold, most drifted first."""


def _read(store: TableStore, symbol: str, days: list[dt.date]) -> pa.Table:
    tables = []
    for day in days:
        start_us, end_us = day_bounds_us(day)
        tables.append(
            store.read(FEATURES_TABLE, start_us=start_us, end_us=end_us, filters={"symbol": symbol})
        )
    return pa.concat_tables(tables) if tables else FEATURES_TABLE.schema.empty_table()


def training_days(version: ModelVersion) -> list[dt.date]:
    """The training days a version records (empty when it has no such tag)."""
    text = version.tags.get("tradegraph.partitions", "")
    return [parse_day(day) for day in text.split(",") if day]


def drift_report(
    store: TableStore,
    registry: ModelRegistry,
    version: ModelVersion,
    *,
    symbol: str,
    day: dt.date,
    threshold: float,
) -> DriftReport | None:
    """The drift of ``day`` against ``version``'s training days; None when either sample has no rows."""
    reference = _read(store, symbol, training_days(version)[-MAX_REFERENCE_DAYS:])
    recent = _read(store, symbol, [day])
    if reference.num_rows == 0 or recent.num_rows == 0:
        return None
    by_feature = feature_drift(reference, recent, FEATURE_COLUMNS)
    model = registry.load(version.name, version=version.version)
    columns = list(FEATURE_COLUMNS)
    prediction = prediction_drift(
        predict(model, reference.select(columns).to_pandas()),
        predict(model, recent.select(columns).to_pandas()),
    )
    scores = {**by_feature, "prediction": prediction}
    return DriftReport(
        symbol=symbol,
        version=version.version,
        day=day,
        feature_psi=by_feature,
        prediction_psi=prediction,
        drifted=tuple(drifted(scores, threshold=threshold)),
    )


def finite_max(values: dict[str, float]) -> float:
    """The largest finite value (0 when none is)."""
    finite = [value for value in values.values() if np.isfinite(value)]
    return max(finite, default=0.0)
