"""PSI: about zero for the same distribution, large for a shifted one, a hand-computed value, NaN left
out, and per-feature and prediction drift."""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
import pytest

from trading_assets.models.drift import drifted, feature_drift, prediction_drift, psi, psi_of_shares


def test_the_same_distribution_has_a_psi_near_zero_and_a_shifted_one_a_large_psi() -> None:
    # Arrange
    rng = np.random.default_rng(0)
    reference = rng.normal(size=20_000)

    # Act
    same = psi(reference, rng.normal(size=20_000))
    shifted = psi(reference, rng.normal(loc=1.0, size=20_000))

    # Assert
    assert 0.0 <= same < 0.01
    assert shifted > 0.5


def test_psi_of_a_simple_case_equals_the_hand_computed_value() -> None:
    # Arrange: the reference median cuts two bins of 50%; the recent sample puts 25% and 75% in them.
    reference = np.arange(100.0)
    recent = np.concatenate([np.zeros(25), np.full(75, 99.0)])

    # Act
    value = psi(reference, recent, bins=2)

    # Assert: (0.25 - 0.5) ln(0.25 / 0.5) + (0.75 - 0.5) ln(0.75 / 0.5) = 0.25 ln 3
    assert value == pytest.approx(0.25 * math.log(3.0), rel=1e-12)
    assert psi_of_shares(np.array([0.5, 0.5]), np.array([0.25, 0.75])) == pytest.approx(0.25 * math.log(3.0))


def test_nan_is_left_out_and_an_empty_bin_gives_a_large_finite_psi() -> None:
    reference = np.arange(100.0)
    with_nan = np.concatenate([np.arange(100.0), np.full(50, np.nan)])
    assert psi(reference, with_nan) == pytest.approx(0.0, abs=1e-12)
    assert math.isnan(psi(reference, np.full(5, np.nan)))
    all_above = psi(reference, np.full(100, 1_000.0))
    assert math.isfinite(all_above) and all_above > 5


def test_feature_drift_reports_each_feature_and_flags_only_the_drifted_one() -> None:
    # Arrange
    rng = np.random.default_rng(1)
    reference = pa.table({"symbol": ["X"] * 5_000, "a": rng.normal(size=5_000), "b": rng.normal(size=5_000)})
    recent = {"a": rng.normal(size=2_000), "b": rng.normal(loc=2.0, size=2_000)}

    # Act
    drift = feature_drift(reference, recent)

    # Assert: string columns are not features.
    assert set(drift) == {"a", "b"}
    assert drifted(drift) == ["b"]
    with pytest.raises(KeyError, match="c"):
        feature_drift(reference, recent, ["c"])


def test_prediction_drift_compares_the_distributions_of_model_outputs() -> None:
    rng = np.random.default_rng(2)
    training = rng.beta(2, 2, size=5_000)
    assert prediction_drift(training, rng.beta(2, 2, size=5_000)) < 0.02
    assert prediction_drift(training, rng.beta(8, 2, size=5_000)) > 0.25
