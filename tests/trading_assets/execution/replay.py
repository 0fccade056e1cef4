"""A recorded market for the executor's tests: a warm-up day and a trading day of simulated trades, a
model per symbol trained on the warm-up day, and arrival orders with out-of-order and repeated ticks."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from trading_assets.core.time import US_PER_SECOND, day_start_us
from trading_assets.execution.core import LoadedModel
from trading_assets.market.bars import compute_bars_1m
from trading_assets.market.simulation import MarketConfig, MarketSimulator
from trading_assets.models.dataset import build_dataset
from trading_assets.models.features import compute_features
from trading_assets.models.signals import SignalPolicy
from trading_assets.models.spec import ModelSpec
from trading_assets.models.training import TrainingConfig, XGBoostParams, fit_params
from trading_assets.trading.costs import CostModel

WARM_UP_DAY = dt.date(2026, 1, 1)
TRADING_DAY = dt.date(2026, 1, 2)
SYMBOLS = ("BTCUSDT", "ADAUSDT")
LATENESS_US = 2 * US_PER_SECOND
SMALL_MODEL = XGBoostParams(n_estimators=30, max_depth=3, learning_rate=0.1)


@dataclass(frozen=True, slots=True, kw_only=True)
class Market:
    """Both days' ticks (in time order) and the warm-up day's bars."""

    warm_up_ticks: pa.Table
    ticks: pa.Table
    warm_up_bars: pa.Table


def simulate_market(trades_per_day_per_symbol: int = 60_000, seed: int = 3) -> Market:
    """Two days of trades; BTCUSDT carries a planted trend so that a model trades it."""
    config = MarketConfig(
        symbols=SYMBOLS,
        trades_per_second=len(SYMBOLS) * trades_per_day_per_symbol / 86_400,
        trend=(("BTCUSDT", 0.1),),
        seed=seed,
    )
    simulator = MarketSimulator(config=config, start_us=day_start_us(WARM_UP_DAY))
    ticks = simulator.generate(int(2.05 * len(SYMBOLS) * trades_per_day_per_symbol))
    times = ticks["trade_time_us"]
    split, end = day_start_us(TRADING_DAY), day_start_us(TRADING_DAY + dt.timedelta(days=1))
    warm_up = ticks.filter(pc.less(times, split))
    day = ticks.filter(pc.and_(pc.greater_equal(times, split), pc.less(times, end)))
    return Market(warm_up_ticks=warm_up, ticks=day, warm_up_bars=compute_bars_1m(warm_up))


def spec_for(symbol: str, *, latency_us: int = 0) -> ModelSpec:
    """A spec that trades often: thresholds near 0.5, shorts allowed (so flips happen too)."""
    return ModelSpec(
        symbol=symbol,
        horizon_bars=5,
        training=TrainingConfig(params=SMALL_MODEL),
        costs=CostModel(latency_us=latency_us),
        policy=SignalPolicy(long_threshold=0.52, short_threshold=0.48, allow_short=True),
        capital=10_000.0,
    )


def train(
    market: Market, symbol: str, *, version: str = "1", seed: int = 7, latency_us: int = 0
) -> LoadedModel:
    """A small XGBClassifier fitted on the warm-up day's features and labels of ``symbol``."""
    spec = spec_for(symbol, latency_us=latency_us)
    features = compute_features(market.warm_up_bars)
    dataset = build_dataset(features.filter(pc.equal(features["symbol"], symbol)), spec)
    rows = dataset.labelled()
    config = TrainingConfig(params=SMALL_MODEL, seed=seed)
    model = fit_params(config, SMALL_MODEL, dataset.features.iloc[rows], dataset.label[rows])
    return LoadedModel(
        name=f"tradegraph-{symbol}", version=version, run_id=f"run-{symbol}-{version}", spec=spec, model=model
    )


def arrival_order(ticks: pa.Table, *, jitter_us: int, repeats: int, seed: int) -> pa.Table:
    """``ticks`` in an arrival order: each delayed by up to ``jitter_us`` (so out of order by less than
    that), and ``repeats`` of them delivered a second time, also within ``jitter_us`` of the trade."""
    rng = np.random.default_rng(seed)
    n = ticks.num_rows
    again = rng.choice(n, size=repeats, replace=False)
    rows = np.concatenate((np.arange(n), again))
    times = ticks["trade_time_us"].to_numpy()[rows]
    arrival = times + rng.integers(0, jitter_us, size=len(rows))
    return ticks.take(pa.array(rows[np.argsort(arrival, kind="stable")]))


def chunks(table: pa.Table, size: int) -> list[pa.Table]:
    """``table`` cut into consecutive tables of ``size`` rows."""
    return [table.slice(start, size) for start in range(0, table.num_rows, size)]
