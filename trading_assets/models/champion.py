"""The champion/challenger gate: when the MLflow alias ``champion`` may move to a new model version.

A challenger is promoted only when, on one scoring window after both models' training ended and net of
costs, it
- passes the sanity gates (enough trades, drawdown within the limit),
- beats every naive baseline (flat, buy-and-hold) on the gate metric, and
- beats the current champion on the gate metric by at least the margin (with no champion, the baselines
  are the bar to clear).
Otherwise the champion stays; a symbol with no champion does not trade. Every reason is kept, so the
decision can be shown as asset metadata.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

GateMetric = Literal["sharpe", "sortino", "total_return", "calmar"]


@dataclass(frozen=True, slots=True, kw_only=True)
class GateConfig:
    """What a challenger must show to become champion."""

    metric: GateMetric = "sharpe"
    """Metric compared between challenger, champion and baselines (higher is better)."""
    margin: float = 0.1
    """The challenger's metric must exceed the champion's by at least this much (absolute)."""
    min_trades: int = 10
    """Sanity gate: fewer fills than this on the scoring window says nothing; never promoted."""
    max_drawdown: float = 0.2
    """Sanity gate: a drawdown deeper than this fraction of equity is never promoted."""

    def __post_init__(self) -> None:
        if self.margin < 0:
            raise ValueError(f"gate margin must be >= 0, got {self.margin}")
        if self.min_trades < 0:
            raise ValueError(f"min_trades must be >= 0, got {self.min_trades}")
        if not 0 < self.max_drawdown <= 1:
            raise ValueError(f"max_drawdown must be in (0, 1], got {self.max_drawdown}")


@dataclass(frozen=True, slots=True, kw_only=True)
class Scorecard:
    """The numbers of one model (or baseline) on the scoring window that the gate reads."""

    name: str
    """Who: ``v<version>`` of a model or a baseline's name."""
    metrics: Mapping[str, float]
    """Backtest metrics by name; needs the gate metric, ``trades`` and ``max_drawdown`` (a positive fraction)."""

    def value(self, metric: str) -> float:
        """The metric, NaN (never better than anything) when missing or not finite."""
        value = float(self.metrics.get(metric, math.nan))
        return value if math.isfinite(value) else math.nan


@dataclass(frozen=True, slots=True, kw_only=True)
class PromotionDecision:
    """The gate's verdict and every reason behind it."""

    promote: bool
    """Whether the alias moves to the challenger."""
    sane: bool
    """Whether the challenger passed the sanity gates (the blocking check reads this)."""
    reasons: tuple[str, ...]
    """One line per gate, passed or failed, in the order they were checked."""


def _beats(challenger: float, other: float, margin: float) -> bool:
    # NaN on the challenger's side never wins; a NaN opponent (e.g. the Sharpe of a flat line) counts as 0.
    if math.isnan(challenger):
        return False
    return challenger > (0.0 if math.isnan(other) else other) + margin


def sanity(challenger: Scorecard, gate: GateConfig) -> tuple[bool, list[str]]:
    """Whether the challenger passes the sanity gates, with one reason per gate."""
    trades = challenger.value("trades")
    drawdown = challenger.value("max_drawdown")
    enough = not math.isnan(trades) and trades >= gate.min_trades
    shallow = not math.isnan(drawdown) and abs(drawdown) <= gate.max_drawdown
    return enough and shallow, [
        f"{'pass' if enough else 'FAIL'}: {trades:.0f} trades (minimum {gate.min_trades})",
        f"{'pass' if shallow else 'FAIL'}: max drawdown {abs(drawdown):.2%} (limit {gate.max_drawdown:.0%})",
    ]


def decide(
    *,
    challenger: Scorecard,
    champion: Scorecard | None,
    baselines: Mapping[str, Scorecard],
    gate: GateConfig,
) -> PromotionDecision:
    """Whether ``challenger`` replaces ``champion``, and why (see the module docstring)."""
    sane, reasons = sanity(challenger, gate)
    mine = challenger.value(gate.metric)
    promote = sane
    for name, baseline in sorted(baselines.items()):
        theirs = baseline.value(gate.metric)
        won = _beats(mine, theirs, 0.0)
        promote = promote and won
        reasons.append(
            f"{'pass' if won else 'FAIL'}: {gate.metric} {mine:.4f} vs baseline {name} {theirs:.4f}"
        )
    if champion is None:
        reasons.append("pass: no champion yet")
    else:
        theirs = champion.value(gate.metric)
        won = _beats(mine, theirs, gate.margin)
        promote = promote and won
        reasons.append(
            f"{'pass' if won else 'FAIL'}: {gate.metric} {mine:.4f} vs champion {champion.name} "
            f"{theirs:.4f} + margin {gate.margin}"
        )
    return PromotionDecision(promote=promote, sane=sane, reasons=tuple(reasons))
