"""The model registry interface: versions of named models, each with the run that produced it, and aliases.

A model is registered once per training: one run carries its parameters, metrics, tags and artifacts
(plots), the model itself (xgboost flavour, signature, input example) and becomes a new version of its
name; aliases (``champion``) point at one version each. The backtest later adds its metrics and plots to
the version's run with :meth:`ModelRegistry.log_to_run`.

Implementations: :class:`resources.model_registry.server.ServerModelRegistry` (an MLflow tracking server)
and :class:`resources.model_registry.embedded.EmbeddedModelRegistry` (MLflow on a local sqlite file, the
embedded default). Both run the contract suite in ``tests/resources/model_registry/``.
"""

from __future__ import annotations

import abc
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

ParamValue = str | int | float | bool
"""A run parameter (MLflow stores it as text)."""

DEFAULT_EXPERIMENT = "tradegraph"
"""Experiment that holds the training runs unless the caller names another."""

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}$")
_ALIAS = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]{0,127}$")


class ModelRegistryError(RuntimeError):
    """The registry failed or cannot be reached; the message names the registry, the operation and a fix."""


class ModelNotFoundError(ModelRegistryError, LookupError):
    """The named model or version does not exist in the registry."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelVersion:
    """One registered version of a model."""

    name: str
    """Registered model name, e.g. ``tradegraph-BTCUSDT``."""
    version: int
    """Version number, 1 for the first registration of ``name``."""
    run_id: str
    """The MLflow run that trained it (parameters, metrics, plots, later the backtest's)."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags on the version (the same as on its run when registered)."""
    aliases: tuple[str, ...] = ()
    """Aliases that point at this version, sorted (e.g. ``("champion",)``)."""
    created_ms: int = 0
    """When it was registered, milliseconds since the epoch."""


def check_name(name: str) -> str:
    """``name`` if it is a valid model name (letters, digits, ``_.-``), else :class:`ValueError`."""
    if not _NAME.match(name):
        raise ValueError(
            f"model name {name!r} must be 1-128 letters, digits, '_', '.' or '-' starting with a letter "
            "or digit; e.g. tradegraph-BTCUSDT"
        )
    return name


def check_alias(alias: str) -> str:
    """``alias`` if it is a valid alias (letters, digits, ``_-``, not starting with a digit)."""
    # MLflow reserves aliases that look like versions (``v3``, ``latest``); a digit start is refused too.
    if not _ALIAS.match(alias) or alias.lower() == "latest" or re.fullmatch(r"[vV]\d+", alias):
        raise ValueError(
            f"alias {alias!r} must be letters, digits, '_' or '-', not start with a digit, and not be "
            "'latest' or v<number>; e.g. champion"
        )
    return alias


class ModelRegistry(abc.ABC):
    """Registered models, their versions, runs and aliases."""

    @property
    @abc.abstractmethod
    def tracking_uri(self) -> str:
        """The MLflow tracking URI the registry uses (``http://...`` or ``sqlite:///...``)."""

    @property
    @abc.abstractmethod
    def ui_hint(self) -> str:
        """How a user opens the MLflow UI on this registry (a URL, or the command that serves one)."""

    @abc.abstractmethod
    def register(
        self,
        *,
        name: str,
        model: Any,
        input_example: pd.DataFrame,
        params: Mapping[str, ParamValue],
        metrics: Mapping[str, float],
        tags: Mapping[str, str],
        artifacts: Mapping[str, bytes],
        experiment: str = DEFAULT_EXPERIMENT,
    ) -> ModelVersion:
        """Log one run and register its model as a new version of ``name``.

        ``model`` is an xgboost scikit-learn model (``XGBClassifier`` or ``XGBRegressor``), logged with
        the xgboost flavour, a signature inferred from ``input_example`` and the model's output (a
        classifier's positive-class probability), and the input example. ``params``, ``metrics`` and
        ``tags`` go on the run, ``tags`` on the version too; ``artifacts`` (file name -> content, e.g.
        ``feature_importance.png``) are stored with the run.
        """

    @abc.abstractmethod
    def versions(self, name: str) -> list[ModelVersion]:
        """Every version of ``name``, oldest first; an empty list for a model never registered."""

    @abc.abstractmethod
    def version(self, name: str, version: int) -> ModelVersion:
        """One version; :class:`ModelNotFoundError` when the model or the version does not exist."""

    @abc.abstractmethod
    def set_alias(self, name: str, alias: str, version: int) -> None:
        """Point ``alias`` at ``version`` of ``name`` (taking it off the version it pointed at)."""

    @abc.abstractmethod
    def get_alias(self, name: str, alias: str) -> ModelVersion | None:
        """The version ``alias`` points at; ``None`` when the alias or the model does not exist."""

    @abc.abstractmethod
    def delete_alias(self, name: str, alias: str) -> None:
        """Remove ``alias`` from ``name``; nothing happens when it does not exist."""

    @abc.abstractmethod
    def load(self, name: str, *, version: int | None = None, alias: str | None = None) -> Any:
        """The xgboost scikit-learn model of one version, named by exactly one of ``version`` or ``alias``.

        The xgboost flavour, not pyfunc: a classifier's pyfunc returns labels, not probabilities.
        """

    @abc.abstractmethod
    def log_to_run(
        self,
        run_id: str,
        *,
        metrics: Mapping[str, float],
        artifacts: Mapping[str, bytes],
        params: Mapping[str, ParamValue] | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> None:
        """Add metrics, artifacts, and optionally parameters and tags, to an existing run (the backtest's)."""

    @abc.abstractmethod
    def set_version_tags(self, name: str, version: int, tags: Mapping[str, str]) -> None:
        """Set (add or overwrite) tags on one version."""

    def close(self) -> None:
        """Release what the registry holds (nothing by default)."""
