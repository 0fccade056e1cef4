"""A retrain in its own process: used by the concurrency test (spawned, so it imports this module)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def train_and_register(database: str, artifacts: str, name: str, seed: int, barrier: Any) -> int:
    """Train a tiny model, wait until every worker is ready, register it; the version number."""
    import xgboost as xgb

    from resources.model_registry.embedded import EmbeddedModelRegistry
    from tests.resources.model_registry.conftest import make_data

    data = make_data(seed=seed)
    model = xgb.XGBClassifier(n_estimators=2, max_depth=2, random_state=seed).fit(data.features, data.up)
    registry = EmbeddedModelRegistry(Path(database), Path(artifacts))
    # All workers reach their first registry operation (which creates the database) together.
    barrier.wait(timeout=120)
    version = registry.register(
        name=name,
        model=model,
        input_example=data.features.head(3),
        params={"seed": seed},
        metrics={"val_auc": 0.5},
        tags={"seed": str(seed)},
        artifacts={"feature_importance.png": b"png"},
    )
    return version.version
