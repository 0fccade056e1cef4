"""Model registry: versions of named models with the MLflow run that trained each, and aliases
(``champion``), on an MLflow tracking server or on MLflow over a local sqlite file (the embedded default)."""

from resources.model_registry.base import (
    DEFAULT_EXPERIMENT,
    ModelNotFoundError,
    ModelRegistry,
    ModelRegistryError,
    ModelVersion,
    ParamValue,
)
from resources.model_registry.factory import ModelRegistryConfig, open_model_registry

__all__ = [
    "DEFAULT_EXPERIMENT",
    "ModelNotFoundError",
    "ModelRegistry",
    "ModelRegistryConfig",
    "ModelRegistryError",
    "ModelVersion",
    "ParamValue",
    "open_model_registry",
]
