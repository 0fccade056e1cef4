"""A model spec survives its MLflow tag: the backtest and the executor read the recipe it was trained with."""

from __future__ import annotations

import pytest

from trading_assets.models.signals import SignalPolicy
from trading_assets.models.spec import ModelSpec
from trading_assets.models.training import TrainingConfig, XGBoostParams
from trading_assets.trading.costs import CostModel


def test_the_json_round_trip_gives_an_equal_spec() -> None:
    spec = ModelSpec(
        symbol="ETHUSDT",
        horizon_bars=7,
        training=TrainingConfig(params=XGBoostParams(max_depth=6), search=True, seed=11),
        costs=CostModel(fee_bps=2.0, latency_us=250_000),
        policy=SignalPolicy(long_threshold=0.6, short_threshold=0.4, allow_short=True),
        capital=5_000.0,
    )
    assert ModelSpec.from_json(spec.to_json()) == spec


def test_a_policy_for_another_kind_of_model_is_refused() -> None:
    with pytest.raises(ValueError, match="regression"):
        ModelSpec(symbol="BTCUSDT", training=TrainingConfig(kind="regression"))


def test_signals_follow_the_thresholds_and_nan_is_flat() -> None:
    import numpy as np

    policy = SignalPolicy(long_threshold=0.6, short_threshold=0.4, allow_short=True)
    assert policy.signals(np.array([0.7, 0.5, 0.3, np.nan])).tolist() == [1, 0, -1, 0]
    assert SignalPolicy().signals(np.array([0.3])).tolist() == [0]
