"""The ``registry`` fixture: every contract test runs on a real MLflow server and on the sqlite registry.

The server (started once per session, about 15 s) is shared by all tests, so each test registers models
under names of its own (``unique_name``).
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from resources.model_registry import ModelRegistry
from resources.model_registry.embedded import EmbeddedModelRegistry
from resources.model_registry.server import ServerModelRegistry
from testkit.servers import MlflowServer

_names = itertools.count()


@dataclass(frozen=True)
class Data:
    """Features and labels for small, fast models."""

    features: pd.DataFrame
    up: pd.Series
    forward_return: pd.Series


@pytest.fixture(params=["server", "embedded"])
def registry(request: pytest.FixtureRequest, tmp_path: Path) -> ModelRegistry:
    """A registry on the session's MLflow server, or on a fresh sqlite file."""
    if request.param == "server":
        server: MlflowServer = request.getfixturevalue("mlflow_server")
        return ServerModelRegistry(server.tracking_uri)
    return EmbeddedModelRegistry(tmp_path / "mlflow.db", tmp_path / "mlflow-artifacts")


@pytest.fixture
def unique_name() -> str:
    """A model name no other test (nor an earlier session on the same server) uses."""
    return f"test-{os.getpid()}-{next(_names)}"


def make_data(rows: int = 300, seed: int = 7) -> Data:
    """Four feature columns; the label depends on the first two, so the models learn something."""
    rng = np.random.default_rng(seed)
    features = pd.DataFrame(
        rng.normal(size=(rows, 4)), columns=["ret_1", "ret_5", "vol_15", "imbalance"]
    ).astype("float64")
    forward = 0.3 * features["ret_1"] - 0.2 * features["ret_5"] + rng.normal(scale=0.5, size=rows)
    return Data(features=features, up=(forward > 0).astype("int64"), forward_return=forward.rename("fwd"))


@pytest.fixture(scope="session")
def data() -> Data:
    return make_data()


@pytest.fixture(scope="session")
def classifier(data: Data) -> object:
    """A three-tree XGBoost classifier (fast to train, log and load)."""
    import xgboost as xgb

    return xgb.XGBClassifier(n_estimators=3, max_depth=2, random_state=0).fit(data.features, data.up)


@pytest.fixture(scope="session")
def regressor(data: Data) -> object:
    import xgboost as xgb

    return xgb.XGBRegressor(n_estimators=3, max_depth=2, random_state=0).fit(
        data.features, data.forward_return
    )
