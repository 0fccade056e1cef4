"""What a model version is, beyond its trees: the recipe every later step must reuse.

The backtest, the champion gate and (issue 9) the executor read a version's :class:`ModelSpec` from its
MLflow tags instead of taking their own settings, so a version is always scored and traded with the
horizon, costs and signal policy it was trained for.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

from trading_assets.models.signals import SignalPolicy
from trading_assets.models.training import TrainingConfig, XGBoostParams
from trading_assets.trading.costs import CostModel

SPEC_TAG = "tradegraph.spec"
"""MLflow tag (on the run and the model version) holding the spec as JSON."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelSpec:
    """How a symbol's model is trained, scored and traded."""

    symbol: str
    """Symbol the model trades."""
    horizon_bars: int = 15
    """Label horizon: bars from the fill after a decision to the exit."""
    training: TrainingConfig = field(default_factory=TrainingConfig)
    """XGBoost parameters and search."""
    costs: CostModel = field(default_factory=CostModel)
    """Fees, spread, slippage and latency, in labels, backtests and paper fills."""
    policy: SignalPolicy = field(default_factory=SignalPolicy)
    """How predictions become signals."""
    capital: float = 100_000.0
    """Notional of a full position (quote currency)."""

    def __post_init__(self) -> None:
        if self.horizon_bars < 1:
            raise ValueError(f"horizon_bars must be >= 1, got {self.horizon_bars}")
        if self.capital <= 0:
            raise ValueError(f"capital must be > 0, got {self.capital}")
        if self.policy.kind != self.training.kind:
            raise ValueError(
                f"the signal policy reads {self.policy.kind} predictions but the model is a {self.training.kind}"
            )

    @property
    def purge_bars(self) -> int:
        """Rows dropped between training and any later window: a label reaches ``horizon + 1`` bars ahead."""
        return self.horizon_bars + 1

    def to_json(self) -> str:
        """The spec as compact JSON (an MLflow tag value)."""
        return json.dumps(asdict(self), sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> ModelSpec:
        """The spec of :meth:`to_json`."""
        raw = json.loads(text)
        training = dict(raw.pop("training"))
        training["params"] = XGBoostParams(**training["params"])
        training["candidates"] = tuple(XGBoostParams(**c) for c in training["candidates"])
        return cls(
            **raw
            | {
                "training": TrainingConfig(**training),
                "costs": CostModel(**raw["costs"]),
                "policy": SignalPolicy(**raw["policy"]),
            }
        )
