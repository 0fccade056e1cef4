"""A symbol's training window as arrays: features, labels, prices and times, plus its digest.

Features are stored per day (``features`` asset); labels need bars after a row, so they are made here,
once a window of consecutive days is assembled, from the window's own open prices. Rows whose future is
unknown (the window's last ``horizon + 1`` bars) keep a NaN label and never train or score a label.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from resources.table_store.base import TableStore
from trading_assets.core.time import day_bounds_us
from trading_assets.models.features import FEATURE_COLUMNS, FEATURES_TABLE
from trading_assets.models.labels import make_labels
from trading_assets.models.spec import ModelSpec


@dataclass(frozen=True, slots=True, kw_only=True)
class Dataset:
    """One symbol's rows in time order (one row per 1-minute bar with trades)."""

    symbol: str
    """The symbol."""
    minute_us: np.ndarray
    """Bar start per row (int64 µs); a decision on the row is known at ``minute_us + 60 s``."""
    open: np.ndarray
    """Bar open per row: the fill reference of a decision made on the row before."""
    close: np.ndarray
    """Bar close per row: where positions are marked."""
    features: pd.DataFrame
    """The model's inputs, columns :data:`FEATURE_COLUMNS` (NaN while a window warms up)."""
    label: np.ndarray
    """Net forward return (regression) or whether it is positive (classification); NaN when unknown."""

    def __len__(self) -> int:
        return len(self.minute_us)

    def rows(self, index: np.ndarray) -> Dataset:
        """The rows at ``index`` (positions, ascending)."""
        return Dataset(
            symbol=self.symbol,
            minute_us=self.minute_us[index],
            open=self.open[index],
            close=self.close[index],
            features=self.features.iloc[index].reset_index(drop=True),
            label=self.label[index],
        )

    def labelled(self) -> np.ndarray:
        """Positions of the rows whose label is known."""
        return np.flatnonzero(~np.isnan(self.label))


def read_window(store: TableStore, symbol: str, first: dt.date, last: dt.date) -> pa.Table:
    """Stored feature rows of ``symbol`` for the days ``first``..``last`` (inclusive), in time order."""
    start_us, _ = day_bounds_us(first)
    _, end_us = day_bounds_us(last)
    table = store.read(FEATURES_TABLE, start_us=start_us, end_us=end_us, filters={"symbol": symbol})
    return table.sort_by([("minute_us", "ascending"), ("venue", "ascending")])


def build_dataset(features: pa.Table, spec: ModelSpec) -> Dataset:
    """The rows of one symbol's feature table with labels for ``spec``'s horizon, kind and costs.

    Raises ValueError when the table holds another symbol or several venues (a model learns one market).
    """
    symbols = set(pc.unique(features["symbol"]).to_pylist())
    venues = set(pc.unique(features["venue"]).to_pylist())
    if symbols - {spec.symbol}:
        raise ValueError(f"features of {sorted(symbols)} given to build the dataset of {spec.symbol}")
    if len(venues) > 1:
        raise ValueError(
            f"features of {spec.symbol} come from several venues {sorted(venues)}: a model learns one market"
        )
    ordered = features.sort_by([("minute_us", "ascending")])
    open_ = ordered["open"].to_numpy().astype(np.float64)
    label = make_labels(
        open_,
        horizon=spec.horizon_bars,
        round_trip_cost=spec.costs.round_trip_cost,
        kind=spec.training.kind,
    )
    return Dataset(
        symbol=spec.symbol,
        minute_us=ordered["minute_us"].to_numpy().astype(np.int64),
        open=open_,
        close=ordered["close"].to_numpy().astype(np.float64),
        features=ordered.select(list(FEATURE_COLUMNS)).to_pandas(),
        label=np.asarray(label, dtype=np.float64),
    )


def data_digest(dataset: Dataset) -> str:
    """SHA-256 over the rows' times, prices, features and labels: equal data, equal digest."""
    digest = hashlib.sha256()
    for array in (dataset.minute_us, dataset.open, dataset.close, dataset.label):
        digest.update(np.ascontiguousarray(array).tobytes())
    digest.update(np.ascontiguousarray(dataset.features.to_numpy(dtype=np.float64)).tobytes())
    digest.update(",".join(dataset.features.columns).encode())
    return digest.hexdigest()
