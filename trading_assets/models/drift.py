"""Distribution drift: the population stability index (PSI) of features and predictions.

PSI compares a recent sample with a reference sample (the model's training data): the reference's
quantiles cut the line into bins holding equal shares of it, and

    PSI = sum over bins of (recent share - reference share) * ln(recent share / reference share)

Shares are floored at a small epsilon so that an empty bin gives a large finite value instead of an
infinite one. Common reading: below 0.1 stable, 0.1-0.25 a moderate shift, above 0.25 a major one.
NaN values (incomplete feature windows, unknown labels) and infinities are left out of both samples.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TypeAlias

import numpy as np
import pyarrow as pa

DEFAULT_BINS = 10
"""Quantile bins of the reference sample."""
DEFAULT_EPSILON = 1e-4
"""Floor of a bin's share, so an empty bin contributes a large but finite term."""
PSI_DRIFT_THRESHOLD = 0.25
"""PSI above which a distribution is usually said to have drifted (a major shift)."""

Sample: TypeAlias = pa.Table | Mapping[str, np.ndarray]
"""Columns of samples: an Arrow table or a mapping of column name to a 1-D array."""


def psi_of_shares(reference: np.ndarray, recent: np.ndarray, *, epsilon: float = DEFAULT_EPSILON) -> float:
    """PSI of two share vectors over the same bins (each summing to 1), shares floored at ``epsilon``."""
    expected = np.maximum(np.asarray(reference, dtype=np.float64), epsilon)
    actual = np.maximum(np.asarray(recent, dtype=np.float64), epsilon)
    if expected.shape != actual.shape:
        raise ValueError(f"share vectors differ in shape: {expected.shape} and {actual.shape}")
    return float(np.sum((actual - expected) * np.log(actual / expected)))


def psi(
    reference: np.ndarray,
    recent: np.ndarray,
    *,
    bins: int = DEFAULT_BINS,
    epsilon: float = DEFAULT_EPSILON,
) -> float:
    """PSI of ``recent`` against ``reference`` over ``bins`` quantile bins of ``reference``.

    NaN (and infinite) values are ignored; returns NaN when either sample has no finite value. Repeated reference
    quantiles (a discrete or constant feature) merge into one bin, so a constant reference gives two
    bins: at or below its value, and above.
    """
    if bins < 1:
        raise ValueError(f"bins must be >= 1, got {bins}")
    expected = _finite(reference)
    actual = _finite(recent)
    if expected.size == 0 or actual.size == 0:
        return float("nan")
    # Interior cut points only: the outer bins are open so that recent values beyond the reference's
    # range still land in a bin (the extreme ones).
    cuts = np.unique(np.quantile(expected, np.linspace(0.0, 1.0, bins + 1)[1:-1]))
    if cuts.size == 0:
        cuts = np.array([expected[0]])
    expected_shares = _shares(expected, cuts)
    actual_shares = _shares(actual, cuts)
    return psi_of_shares(expected_shares, actual_shares, epsilon=epsilon)


def feature_drift(
    reference: Sample,
    recent: Sample,
    columns: Iterable[str] | None = None,
    *,
    bins: int = DEFAULT_BINS,
    epsilon: float = DEFAULT_EPSILON,
) -> dict[str, float]:
    """PSI of each of ``columns`` of ``recent`` against ``reference``; by default every floating-point
    column of a ``reference`` table (the features, not the key) or every key of a mapping. Raises
    ``KeyError`` naming a column missing from either sample."""
    names = list(columns) if columns is not None else _column_names(reference)
    return {
        name: psi(_column(reference, name), _column(recent, name), bins=bins, epsilon=epsilon)
        for name in names
    }


def prediction_drift(
    reference: np.ndarray,
    recent: np.ndarray,
    *,
    bins: int = DEFAULT_BINS,
    epsilon: float = DEFAULT_EPSILON,
) -> float:
    """PSI of recent model outputs (probabilities or predicted returns) against the outputs on the
    training data."""
    return psi(reference, recent, bins=bins, epsilon=epsilon)


def drifted(drift: Mapping[str, float], *, threshold: float = PSI_DRIFT_THRESHOLD) -> list[str]:
    """Names whose PSI exceeds ``threshold``, most drifted first (NaN never counts as drift)."""
    over = [(value, name) for name, value in drift.items() if value > threshold]
    return [name for _, name in sorted(over, reverse=True)]


def _finite(values: np.ndarray | pa.ChunkedArray | pa.Array) -> np.ndarray:
    if isinstance(values, pa.ChunkedArray | pa.Array):
        values = values.to_numpy(zero_copy_only=False)
    array = np.asarray(values, dtype=np.float64).ravel()
    return array[np.isfinite(array)]


def _shares(values: np.ndarray, cuts: np.ndarray) -> np.ndarray:
    # Bin i holds cuts[i-1] < x <= cuts[i]: values equal to a cut point fall in the lower bin, for both
    # samples alike.
    index = np.searchsorted(cuts, values, side="left")
    counts = np.bincount(index, minlength=cuts.size + 1)
    return counts / values.size


def _column_names(sample: Sample) -> list[str]:
    if isinstance(sample, pa.Table):
        return [field.name for field in sample.schema if pa.types.is_floating(field.type)]
    return list(sample)


def _column(sample: Sample, name: str) -> np.ndarray | pa.ChunkedArray:
    if isinstance(sample, pa.Table):
        if name not in sample.column_names:
            raise KeyError(f"column {name!r} is not in the sample (columns: {sample.column_names})")
        return sample.column(name)
    if name not in sample:
        raise KeyError(f"column {name!r} is not in the sample (columns: {list(sample)})")
    return sample[name]
