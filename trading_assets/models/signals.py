"""From a model's predictions to trading signals: the one rule the backtest and the executor share.

A signal is the target exposure of a symbol after a bar closes: +1 long, 0 flat, -1 short (shorts only
when the policy allows them). A classifier predicts the probability that the net forward return is
positive; a regressor predicts that return itself, already net of the round-trip cost.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

ModelKind = Literal["classification", "regression"]


@dataclass(frozen=True, slots=True, kw_only=True)
class SignalPolicy:
    """How predictions become signals."""

    kind: ModelKind = "classification"
    """What the model predicts: a probability of a profitable long (classification) or a net return."""
    long_threshold: float = 0.55
    """Classification: go long when the probability is above this; regression: when the return is above 0
    by ``min_edge``."""
    short_threshold: float = 0.45
    """Classification: go short (if allowed) when the probability is below this."""
    min_edge: float = 0.0
    """Regression: the predicted net return must exceed this (in either direction) to trade."""
    allow_short: bool = False
    """Whether a signal may be -1 (spot crypto trading is long-only by default)."""

    def __post_init__(self) -> None:
        if self.kind == "classification" and not 0.0 <= self.short_threshold <= self.long_threshold <= 1.0:
            raise ValueError(
                f"signal thresholds must satisfy 0 <= short_threshold ({self.short_threshold}) <= "
                f"long_threshold ({self.long_threshold}) <= 1"
            )
        if self.min_edge < 0:
            raise ValueError(f"min_edge must be >= 0, got {self.min_edge}")

    def signals(self, predictions: np.ndarray) -> np.ndarray:
        """One int8 signal per prediction; a NaN prediction (features still warming up) is flat."""
        values = np.asarray(predictions, dtype=np.float64)
        if self.kind == "classification":
            long, short = values > self.long_threshold, values < self.short_threshold
        else:
            long, short = values > self.min_edge, values < -self.min_edge
        result = np.where(long, 1, 0).astype(np.int8)
        if self.allow_short:
            result[short] = -1
        return result
