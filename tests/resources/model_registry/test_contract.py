"""What every model registry does, on an MLflow server and on MLflow over a sqlite file alike."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from resources.model_registry import ModelNotFoundError, ModelRegistry, ModelVersion
from tests.resources.model_registry.conftest import Data
from tests.resources.model_registry.inspect import client_of, stored_model, stored_run

PNG = b"\x89PNG\r\n\x1a\n fake plot bytes"
TAGS = {"partitions": "2024-03-01..2024-03-30", "data_digest": "abc123", "code_version": "deadbeef"}


def _register(registry: ModelRegistry, name: str, model: object, data: Data, **over: object) -> ModelVersion:
    fields: dict[str, object] = {
        "name": name,
        "model": model,
        "input_example": data.features.head(5),
        "params": {"max_depth": 2, "learning_rate": 0.1, "objective": "binary:logistic", "search": False},
        "metrics": {"val_auc": 0.61, "val_logloss": 0.68},
        "tags": TAGS,
        "artifacts": {"feature_importance.png": PNG},
    }
    fields.update(over)
    return registry.register(**fields)  # type: ignore[arg-type]


def test_register_logs_the_run_and_the_model_and_makes_version_one(
    registry: ModelRegistry, unique_name: str, classifier: object, data: Data, tmp_path: Path
) -> None:
    # Act
    version = _register(registry, unique_name, classifier, data)

    # Assert: the version, with its tags
    assert (version.name, version.version, version.aliases) == (unique_name, 1, ())
    assert dict(version.tags) == TAGS
    assert version.run_id and version.created_ms > 0
    # the run: parameters (as text), metrics, tags, the plot, finished
    run = stored_run(registry, version.run_id, tmp_path / "run")
    assert run.params == {
        "max_depth": "2",
        "learning_rate": "0.1",
        "objective": "binary:logistic",
        "search": "False",
    }
    assert run.metrics == {"val_auc": 0.61, "val_logloss": 0.68}
    assert TAGS.items() <= run.tags.items()
    assert run.artifacts == {"feature_importance.png": PNG}
    assert run.status == "FINISHED"
    # the model: xgboost flavour, signature of the features and the positive-class probability, example
    model, example = stored_model(registry, unique_name, 1, tmp_path / "model")
    assert "xgboost" in model.flavors
    assert model.signature is not None
    assert model.signature.inputs.input_names() == list(data.features.columns)
    assert model.signature.outputs.input_names() == ["probability"]
    # XGBoost computes probabilities in float32: the signature says what the model gives
    assert [t.name for t in model.signature.outputs.input_types()] == ["float"]
    np.testing.assert_array_equal(example.to_numpy(), data.features.head(5).to_numpy())
    assert list(example.columns) == list(data.features.columns)


def test_a_regressor_is_logged_with_its_prediction_as_output(
    registry: ModelRegistry, unique_name: str, regressor: object, data: Data, tmp_path: Path
) -> None:
    version = _register(registry, unique_name, regressor, data)

    model, _ = stored_model(registry, unique_name, version.version, tmp_path)
    assert model.signature is not None
    assert model.signature.outputs.input_names() == ["prediction"]
    assert [t.name for t in model.signature.outputs.input_types()] == ["float"]
    loaded = registry.load(unique_name, version=version.version)
    np.testing.assert_array_equal(loaded.predict(data.features), regressor.predict(data.features))  # type: ignore[attr-defined]


def test_versions_are_listed_oldest_first_and_an_unknown_model_has_none(
    registry: ModelRegistry, unique_name: str, classifier: object, data: Data
) -> None:
    # Arrange
    first = _register(registry, unique_name, classifier, data, tags={"round": "1"})
    second = _register(registry, unique_name, classifier, data, tags={"round": "2"})

    # Act
    listed = registry.versions(unique_name)

    # Assert
    assert [(v.version, dict(v.tags)) for v in listed] == [(1, {"round": "1"}), (2, {"round": "2"})]
    assert listed == [first, second]
    assert first.run_id != second.run_id
    assert registry.version(unique_name, 2) == second
    assert registry.versions(f"{unique_name}-never") == []


def test_an_alias_points_at_one_version_moves_and_is_deleted(
    registry: ModelRegistry, unique_name: str, classifier: object, data: Data
) -> None:
    # Arrange
    _register(registry, unique_name, classifier, data)
    _register(registry, unique_name, classifier, data)
    assert registry.get_alias(unique_name, "champion") is None

    # Act / Assert: set
    registry.set_alias(unique_name, "champion", 1)
    champion = registry.get_alias(unique_name, "champion")
    assert champion is not None and (champion.version, champion.aliases) == (1, ("champion",))

    # move: the old version loses it
    registry.set_alias(unique_name, "champion", 2)
    champion = registry.get_alias(unique_name, "champion")
    assert champion is not None and champion.version == 2
    assert [(v.version, v.aliases) for v in registry.versions(unique_name)] == [(1, ()), (2, ("champion",))]

    # delete, twice (the second does nothing)
    registry.delete_alias(unique_name, "champion")
    registry.delete_alias(unique_name, "champion")
    assert registry.get_alias(unique_name, "champion") is None
    assert [v.aliases for v in registry.versions(unique_name)] == [(), ()]


def test_load_gives_the_same_probabilities_by_version_and_by_alias(
    registry: ModelRegistry, unique_name: str, classifier: object, data: Data
) -> None:
    # Arrange
    version = _register(registry, unique_name, classifier, data)
    registry.set_alias(unique_name, "champion", version.version)
    expected = classifier.predict_proba(data.features)  # type: ignore[attr-defined]

    # Act
    by_version = registry.load(unique_name, version=1)
    by_alias = registry.load(unique_name, alias="champion")

    # Assert: the xgboost model itself (probabilities, not pyfunc's labels), same values
    assert type(by_version) is type(classifier)
    np.testing.assert_array_equal(by_version.predict_proba(data.features), expected)
    np.testing.assert_array_equal(by_alias.predict_proba(data.features), expected)


def test_unknown_models_versions_and_aliases(
    registry: ModelRegistry, unique_name: str, classifier: object, data: Data
) -> None:
    never = f"{unique_name}-never"
    assert registry.get_alias(never, "champion") is None
    registry.delete_alias(never, "champion")
    with pytest.raises(ModelNotFoundError):
        registry.version(never, 1)
    with pytest.raises(ModelNotFoundError):
        registry.load(never, version=1)
    with pytest.raises(ModelNotFoundError):
        registry.load(never, alias="champion")

    _register(registry, unique_name, classifier, data)
    with pytest.raises(ModelNotFoundError):
        registry.version(unique_name, 2)
    with pytest.raises(ModelNotFoundError):
        registry.set_alias(unique_name, "champion", 2)
    with pytest.raises(ModelNotFoundError):
        registry.load(unique_name, alias="champion")
    with pytest.raises(ValueError, match="exactly one"):
        registry.load(unique_name)


def test_log_to_run_adds_metrics_artifacts_params_and_tags_to_the_versions_run(
    registry: ModelRegistry, unique_name: str, classifier: object, data: Data, tmp_path: Path
) -> None:
    # Arrange
    version = _register(registry, unique_name, classifier, data)

    # Act: what the backtest logs later
    registry.log_to_run(
        version.run_id,
        metrics={"backtest_sharpe": 1.25, "backtest_trades": 42.0},
        artifacts={"equity_curve.png": b"equity"},
        params={"backtest_window": "2024-04-01..2024-04-07"},
        tags={"backtested": "true"},
    )
    registry.set_version_tags(unique_name, version.version, {"backtested": "true"})

    # Assert: added beside what training logged
    run = stored_run(registry, version.run_id, tmp_path)
    assert run.metrics == {
        "val_auc": 0.61,
        "val_logloss": 0.68,
        "backtest_sharpe": 1.25,
        "backtest_trades": 42.0,
    }
    assert run.artifacts == {"feature_importance.png": PNG, "equity_curve.png": b"equity"}
    assert run.params["backtest_window"] == "2024-04-01..2024-04-07"
    assert run.tags["backtested"] == "true"
    assert dict(registry.version(unique_name, 1).tags) == {**TAGS, "backtested": "true"}
    with pytest.raises(ModelNotFoundError):
        registry.log_to_run("0" * 32, metrics={"x": 1.0}, artifacts={})


def test_the_run_is_in_the_named_experiment(
    registry: ModelRegistry, unique_name: str, classifier: object, data: Data
) -> None:
    version = _register(registry, unique_name, classifier, data, experiment=f"exp-{unique_name}")

    client = client_of(registry)
    experiment = client.get_experiment_by_name(f"exp-{unique_name}")
    assert experiment is not None
    assert client.get_run(version.run_id).info.experiment_id == experiment.experiment_id


def test_more_parameters_and_metrics_than_one_mlflow_batch_takes_are_all_logged(
    registry: ModelRegistry, unique_name: str, classifier: object, data: Data, tmp_path: Path
) -> None:
    # Arrange: MLflow takes 100 parameters and 1000 metrics per batch
    params = {f"p{i:03d}": i for i in range(150)}
    metrics = {f"m{i:04d}": float(i) for i in range(1200)}

    # Act
    version = _register(registry, unique_name, classifier, data, params=params, metrics=metrics)

    # Assert
    run = stored_run(registry, version.run_id, tmp_path)
    assert run.params == {key: str(value) for key, value in params.items()}
    assert run.metrics == metrics


def test_an_artifact_name_with_a_folder_is_refused_before_anything_is_logged(
    registry: ModelRegistry, unique_name: str, classifier: object, data: Data
) -> None:
    with pytest.raises(ValueError, match="plain file name"):
        _register(registry, unique_name, classifier, data, artifacts={"../escape.png": b"x"})
    assert registry.versions(unique_name) == []


def test_a_classifier_with_more_than_two_classes_is_refused_and_leaves_no_run(
    registry: ModelRegistry, unique_name: str, data: Data
) -> None:
    import xgboost as xgb

    # Arrange: three classes; the registry's output is the probability of the one positive class
    labels = np.arange(len(data.features)) % 3
    model = xgb.XGBClassifier(n_estimators=2, max_depth=2).fit(data.features, labels)
    experiment = f"exp-{unique_name}"

    # Act / Assert
    with pytest.raises(ValueError, match="binary classifier"):
        _register(registry, unique_name, model, data, experiment=experiment)
    assert registry.versions(unique_name) == []
    assert client_of(registry).get_experiment_by_name(experiment) is None
