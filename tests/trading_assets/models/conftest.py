"""Days of bars from a simulated market where one symbol carries a planted trend and one does not."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

from trading_assets.core.time import day_start_us
from trading_assets.market.bars import compute_bars_1m
from trading_assets.market.simulation import MarketConfig, MarketSimulator

FIRST_DAY = dt.date(2026, 1, 1)
DAYS = 4
TRENDING = "BTCUSDT"
RANDOM_WALK = "ADAUSDT"
MARKET_SYMBOLS = (TRENDING, RANDOM_WALK)


@pytest.fixture(scope="session")
def market_bars() -> pa.Table:
    """Four days of 1-minute bars (about 1,440 a day per symbol); ``TRENDING`` is predictable, the other not."""
    config = MarketConfig(
        symbols=MARKET_SYMBOLS,
        trades_per_second=len(MARKET_SYMBOLS) * 100_000 / 86_400,
        trend=((TRENDING, 0.1),),
        seed=3,
    )
    simulator = MarketSimulator(config=config, start_us=day_start_us(FIRST_DAY))
    ticks = simulator.generate(DAYS * 200_000)
    end = day_start_us(FIRST_DAY + dt.timedelta(days=DAYS))
    return compute_bars_1m(ticks.filter(pa.compute.less(ticks["trade_time_us"], end)))


def market_days() -> list[dt.date]:
    return [FIRST_DAY + dt.timedelta(days=offset) for offset in range(DAYS)]
