"""Run configuration of the model assets, as the Dagster launchpad shows it.

Each class maps onto the typed, frozen configs of the pure code (:class:`ModelSpec`, :class:`GateConfig`);
the defaults here are the defaults there.
"""

from typing import Literal

import dagster as dg

from trading_assets.models.champion import GateConfig, GateMetric
from trading_assets.models.signals import SignalPolicy
from trading_assets.models.spec import ModelSpec
from trading_assets.models.training import TrainingConfig, XGBoostParams
from trading_assets.trading.costs import CostModel

_PARAMS = XGBoostParams()
_COSTS = CostModel()
_POLICY = SignalPolicy()
_GATE = GateConfig()
_SPEC = ModelSpec(symbol="BTCUSDT")


class TrainingRunConfig(dg.Config):
    """Run configuration of ``trained_models``: the window, the label, the model and its costs."""

    train_days: int = 14
    """Days of features the model learns from, before the holdout."""
    holdout_days: int = 1
    """Last days of the window kept out of training: champion and challenger are scored on them."""
    end_day: str | None = None
    """Last day of the window (``YYYY-MM-DD``); unset: the last day with features."""
    horizon_bars: int = _SPEC.horizon_bars
    """Label horizon in bars: from the fill after a decision to the exit."""
    kind: Literal["classification", "regression"] = "classification"
    """Classification (probability of a profitable long) or regression (the net forward return)."""
    search: bool = False
    """Try a small grid of hyperparameters, scored on a validation window inside the training window."""
    n_estimators: int = _PARAMS.n_estimators
    """Boosting rounds (without a search)."""
    max_depth: int = _PARAMS.max_depth
    """Maximum tree depth (without a search)."""
    learning_rate: float = _PARAMS.learning_rate
    """Shrinkage per tree (without a search)."""
    validation_fraction: float = 0.2
    """Share of the training rows (the latest) that score the search and the validation metrics."""
    seed: int = 7
    """XGBoost's random seed: same data and seed, same model."""
    fee_bps: float = _COSTS.fee_bps
    """Fee per fill, basis points of notional."""
    half_spread_bps: float = _COSTS.half_spread_bps
    """Half the bid-ask spread paid on each fill, basis points."""
    slippage_bps: float = _COSTS.slippage_bps
    """Adverse slippage on each fill, basis points."""
    latency_ms: int = _COSTS.latency_us // 1000
    """Delay from a decision to its order (milliseconds)."""
    long_threshold: float = _POLICY.long_threshold
    """Go long above this probability (classification)."""
    short_threshold: float = _POLICY.short_threshold
    """Go short below this probability, when shorts are allowed (classification)."""
    allow_short: bool = _POLICY.allow_short
    """Whether the model may go short."""
    capital: float = _SPEC.capital
    """Notional of a full position (quote currency)."""

    def spec(self, symbol: str) -> ModelSpec:
        """The model spec of ``symbol`` under this configuration."""
        return ModelSpec(
            symbol=symbol,
            horizon_bars=self.horizon_bars,
            training=TrainingConfig(
                kind=self.kind,
                params=XGBoostParams(
                    n_estimators=self.n_estimators, max_depth=self.max_depth, learning_rate=self.learning_rate
                ),
                search=self.search,
                validation_fraction=self.validation_fraction,
                seed=self.seed,
            ),
            costs=CostModel(
                fee_bps=self.fee_bps,
                half_spread_bps=self.half_spread_bps,
                slippage_bps=self.slippage_bps,
                latency_us=self.latency_ms * 1000,
            ),
            policy=SignalPolicy(
                kind=self.kind,
                long_threshold=self.long_threshold,
                short_threshold=self.short_threshold,
                allow_short=self.allow_short,
            ),
            capital=self.capital,
        )


class GateRunConfig(dg.Config):
    """Run configuration of ``backtest`` (its sanity check) and ``champion_model`` (the promotion gate)."""

    walk_forward_folds: int = 3
    """Backtest: out-of-sample days, each predicted by a model refitted on every earlier day (purged)."""
    metric: GateMetric = _GATE.metric
    """Metric the challenger must win on, against the champion and the baselines."""
    margin: float = _GATE.margin
    """How much the challenger's metric must exceed the champion's."""
    min_trades: int = _GATE.min_trades
    """Sanity gate: fewer fills than this is never promoted."""
    max_drawdown: float = _GATE.max_drawdown
    """Sanity gate: a deeper drawdown (fraction of equity) is never promoted."""

    def gate(self) -> GateConfig:
        """The gate of this configuration."""
        return GateConfig(
            metric=self.metric, margin=self.margin, min_trades=self.min_trades, max_drawdown=self.max_drawdown
        )
