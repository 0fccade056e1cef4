"""Labels: the forward return a decision at a bar's close would have earned, net of trading costs.

A decision is made at bar t's close (``minute_us + 60 s``) and fills at the next bar's open, never at the
bar it was computed from (the fill rule of ``trading_assets.trading.costs``). So the label of row t is
the return from the open of row ``t + 1`` to the open of row ``t + 1 + horizon``, minus the round-trip
cost (an entry plus an exit, as a fraction of notional). Rows whose future is not in the data hold NaN.
Labels need bars after the day they label, so they are computed when a training window is assembled and
never stored with the day's features.

Rows are counted, not minutes (as for features): the horizon is the number of bars held. Each
(venue, symbol) is its own series: pass ``groups`` (or use :func:`labels_of_table`) so that no label
reads another symbol's prices.
"""

from __future__ import annotations

from typing import Literal, Protocol

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

LabelKind = Literal["classification", "regression"]
"""``classification``: 1.0 when the net forward return is positive, else 0.0; ``regression``: the net
forward return itself. NaN stays NaN in both."""


class HasRoundTripCost(Protocol):
    """Anything with a round-trip cost, such as ``trading_assets.trading.costs.CostModel``."""

    @property
    def round_trip_cost(self) -> float:
        """Cost of an entry plus an exit, as a fraction of notional."""
        ...


def label_end_offset(horizon: int) -> int:
    """Rows after row t that row t's label reads: it ends at the open of row ``t + 1 + horizon``."""
    _check_horizon(horizon)
    return 1 + horizon


def forward_returns(
    open_: np.ndarray,
    horizon: int,
    costs: float | HasRoundTripCost = 0.0,
    *,
    groups: np.ndarray | None = None,
) -> np.ndarray:
    """Net forward return of each row: ``open[t+1+horizon] / open[t+1] - 1 - round_trip_cost``.

    ``open_`` holds one series' opens in time order, or several series one after another with
    ``groups`` (any label per row, equal within a series and contiguous) telling them apart; a row whose
    future leaves its series, or the data, is NaN. ``costs`` is the round-trip cost as a fraction of
    notional, or an object with a ``round_trip_cost`` property (the shared ``CostModel``).
    """
    end = label_end_offset(horizon)
    cost = float(costs if isinstance(costs, int | float) else costs.round_trip_cost)
    if not np.isfinite(cost) or cost < 0:
        raise ValueError(f"the round-trip cost must be a finite fraction >= 0, got {cost}")
    opens = np.asarray(open_, dtype=np.float64)
    if opens.ndim != 1:
        raise ValueError(f"open_ must be one-dimensional, got shape {opens.shape}")
    out = np.full(opens.shape[0], np.nan)
    count = opens.shape[0] - end
    if count <= 0:
        return out
    entry = opens[1 : 1 + count]
    exit_ = opens[end : end + count]
    out[:count] = exit_ / entry - 1.0 - cost
    if groups is not None:
        labels = np.asarray(groups)
        if labels.shape != opens.shape:
            raise ValueError(f"groups has shape {labels.shape}, open_ has {opens.shape}")
        # Row t's label is valid only when row t + end belongs to the same series (series are contiguous).
        out[:count][labels[end : end + count] != labels[:count]] = np.nan
    return out


def make_labels(
    open_: np.ndarray,
    *,
    horizon: int,
    round_trip_cost: float | HasRoundTripCost,
    kind: LabelKind,
    groups: np.ndarray | None = None,
) -> np.ndarray:
    """Labels of each row (float64, NaN where the future is unknown): see :data:`LabelKind`.

    The net forward return is :func:`forward_returns` with the same ``horizon``, cost and ``groups``.
    """
    returns = forward_returns(open_, horizon, round_trip_cost, groups=groups)
    if kind == "regression":
        return returns
    if kind == "classification":
        return np.where(np.isnan(returns), np.nan, (returns > 0).astype(np.float64))
    raise ValueError(f"kind must be 'classification' or 'regression', got {kind!r}")


def labels_of_table(
    table: pa.Table,
    *,
    horizon: int,
    round_trip_cost: float | HasRoundTripCost,
    kind: LabelKind,
) -> np.ndarray:
    """:func:`make_labels` for a bar or feature table sorted by (venue, symbol, minute_us).

    One label per row in the table's order; each (venue, symbol) is labelled on its own. Raises
    ``ValueError`` when the rows are not in that order (labels would read the wrong row's open).
    """
    minute_us = table.column("minute_us").to_numpy()
    venue = table.column("venue").to_numpy(zero_copy_only=False)
    symbol = table.column("symbol").to_numpy(zero_copy_only=False)
    if table.num_rows > 1:
        key_order = pc.sort_indices(
            table, [("venue", "ascending"), ("symbol", "ascending"), ("minute_us", "ascending")]
        ).to_numpy()
        same_series = (venue[1:] == venue[:-1]) & (symbol[1:] == symbol[:-1])
        if (key_order != np.arange(table.num_rows)).any() or (
            same_series & (minute_us[1:] <= minute_us[:-1])
        ).any():
            raise ValueError("labels need the rows sorted by (venue, symbol, minute_us), each once")
    starts = np.ones(table.num_rows, dtype=bool)
    starts[1:] = (venue[1:] != venue[:-1]) | (symbol[1:] != symbol[:-1])
    groups = np.cumsum(starts)
    return make_labels(
        table.column("open").to_numpy(),
        horizon=horizon,
        round_trip_cost=round_trip_cost,
        kind=kind,
        groups=groups,
    )


def _check_horizon(horizon: int) -> None:
    if isinstance(horizon, bool) or not isinstance(horizon, int | np.integer) or horizon < 1:
        raise ValueError(f"the label horizon must be an integer number of rows >= 1, got {horizon!r}")
