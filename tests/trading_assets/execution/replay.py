"""A recorded market for the executor's tests: a warm-up day and a trading day of simulated trades, a
model per symbol trained on the warm-up day, and arrival orders with out-of-order and repeated ticks."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from testkit.parity_models import train_on_bars
from trading_assets.core.time import US_PER_SECOND, day_start_us
from trading_assets.execution.decisions import LoadedModel
from trading_assets.market.bars import compute_bars_1m
from trading_assets.market.simulation import MarketConfig, MarketSimulator

WARM_UP_DAY = dt.date(2026, 1, 1)
TRADING_DAY = dt.date(2026, 1, 2)
SYMBOLS = ("BTCUSDT", "ADAUSDT")
LATENESS_US = 2 * US_PER_SECOND


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


def train(
    market: Market, symbol: str, *, version: str = "1", seed: int = 7, latency_us: int = 0
) -> LoadedModel:
    """A small XGBClassifier fitted on the warm-up day's features and labels of ``symbol``."""
    return train_on_bars(market.warm_up_bars, symbol, version=version, seed=seed, latency_us=latency_us)
