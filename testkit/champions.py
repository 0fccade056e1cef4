"""A small XGBoost champion trained on a day of ticks and registered like `trained_models` would: the
setup the executor's tests, fault tests and benchmark share."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from resources.model_registry.base import ModelRegistry
from trading_assets.market.bars import compute_bars_1m
from trading_assets.models.champion_flow import CHAMPION
from trading_assets.models.dataset import build_dataset
from trading_assets.models.features import compute_features, feature_code_digest
from trading_assets.models.refs import model_name
from trading_assets.models.spec import SPEC_TAG, ModelSpec
from trading_assets.trading.costs import CostModel


def register_champion(registry: ModelRegistry, training_ticks: pa.Table, symbol: str) -> None:
    """Fit a 30-tree classifier on ``symbol``'s labelled bars of ``training_ticks`` (2 bps fees), register
    it with the spec and feature-code digest tags the executor reads, and make it the champion."""
    import xgboost as xgb

    features = compute_features(compute_bars_1m(training_ticks))
    spec = ModelSpec(symbol=symbol, costs=CostModel(fee_bps=2.0))
    dataset = build_dataset(features.filter(pc.equal(features["symbol"], symbol)), spec)
    rows = dataset.labelled()
    model = xgb.XGBClassifier(n_estimators=30, max_depth=3, n_jobs=1, random_state=1)
    model.fit(dataset.features.iloc[rows], dataset.label[rows])
    version = registry.register(
        name=model_name(symbol),
        model=model,
        input_example=dataset.features.iloc[rows[:3]],
        params={},
        metrics={},
        tags={SPEC_TAG: spec.to_json(), "tradegraph.feature_code_digest": feature_code_digest()},
        artifacts={},
    )
    registry.set_alias(model_name(symbol), CHAMPION, version.version)
