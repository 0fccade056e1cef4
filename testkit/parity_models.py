"""Small models that trade often, for replaying recorded ticks through the executor and the backtest
(the parity tests and ``bench/replay_parity.py``): a spec with thresholds near 0.5 and shorts allowed,
a 30-tree XGBoost classifier fitted on a symbol's bars, and a rule on the bar's order flow."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from trading_assets.execution.decisions import LoadedModel
from trading_assets.models.dataset import build_dataset
from trading_assets.models.features import FEATURE_COLUMNS, compute_features
from trading_assets.models.signals import SignalPolicy
from trading_assets.models.spec import ModelSpec
from trading_assets.models.training import TrainingConfig, XGBoostParams, fit_params
from trading_assets.trading.costs import CostModel

SMALL_MODEL = XGBoostParams(n_estimators=30, max_depth=3, learning_rate=0.1)


def spec_for(symbol: str, *, latency_us: int = 0) -> ModelSpec:
    """A spec that trades often: thresholds near 0.5, shorts allowed (so flips happen too)."""
    return ModelSpec(
        symbol=symbol,
        horizon_bars=5,
        training=TrainingConfig(params=SMALL_MODEL),
        costs=CostModel(latency_us=latency_us),
        policy=SignalPolicy(long_threshold=0.52, short_threshold=0.48, allow_short=True),
        capital=10_000.0,
    )


def train_on_bars(
    bars: pa.Table, symbol: str, *, version: str = "1", seed: int = 7, latency_us: int = 0
) -> LoadedModel:
    """A small XGBClassifier fitted on the features and labels of ``symbol``'s ``bars``."""
    spec = spec_for(symbol, latency_us=latency_us)
    features = compute_features(bars)
    dataset = build_dataset(features.filter(pc.equal(features["symbol"], symbol)), spec)
    rows = dataset.labelled()
    config = TrainingConfig(params=SMALL_MODEL, seed=seed)
    model = fit_params(config, SMALL_MODEL, dataset.features.iloc[rows], dataset.label[rows])
    return LoadedModel(
        name=f"tradegraph-{symbol}", version=version, run_id=f"run-{symbol}-{version}", spec=spec, model=model
    )


class FlowModel:
    """A rule 'model' with ``predict_proba``: long on buying pressure in the bar, short on selling."""

    def predict_proba(self, x: Any) -> np.ndarray:
        ofi = np.asarray(x, dtype=np.float64)[:, list(FEATURE_COLUMNS).index("ofi_1")]
        p = 0.5 + 0.5 * np.tanh(2.0 * ofi)
        return np.column_stack((1.0 - p, p))


def flow_model(symbol: str, *, version: str = "1") -> LoadedModel:
    """:class:`FlowModel` with :func:`spec_for`'s policy: it trades whenever the flow turns."""
    return LoadedModel(name="flow", version=version, run_id="flow", spec=spec_for(symbol), model=FlowModel())
