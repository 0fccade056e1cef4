"""Synthetic one-minute bar tables for feature, model and backtest tests and benchmarks.

Realistic enough to exercise every path of the feature code: symbols at very different price levels,
minutes without trades (no row) and longer outages, heavy-tailed volumes, trades of unknown side (buy
plus sell volume below the volume), minutes with only buyers, and a stretch of identical bars (flat
windows). Deterministic for a given seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from trading_assets.core.bars import BARS_SCHEMA
from trading_assets.core.time import US_PER_DAY, US_PER_MINUTE


@dataclass(frozen=True, slots=True, kw_only=True)
class SyntheticSymbol:
    """One simulated series of bars."""

    symbol: str
    """Symbol name."""
    price: float
    """Price of the first bar."""
    volatility: float = 0.001
    """Standard deviation of the one-minute log return."""
    missing: float = 0.02
    """Probability that a minute has no trade (no row)."""
    trades_per_minute: float = 40.0
    """Mean trade count of a minute with trades."""


DEFAULT_SYMBOLS: tuple[SyntheticSymbol, ...] = (
    SyntheticSymbol(symbol="BTCUSDT", price=60_000.0, volatility=0.0008, missing=0.0),
    SyntheticSymbol(symbol="ETHUSDT", price=3_000.0, volatility=0.001, missing=0.01),
    SyntheticSymbol(symbol="SOLUSDT", price=150.0, volatility=0.0015, missing=0.05),
    SyntheticSymbol(symbol="XRPUSDT", price=0.6, volatility=0.0012, missing=0.1, trades_per_minute=5.0),
    SyntheticSymbol(symbol="DOGEUSDT", price=0.12, volatility=0.002, missing=0.3, trades_per_minute=2.0),
)
"""Five symbols from liquid (no gaps) to thin (30% of minutes without trades)."""

START_US = 19_783 * US_PER_DAY  # 2024-03-01 00:00 UTC


def synthetic_bars(
    *,
    minutes: int,
    symbols: tuple[SyntheticSymbol, ...] = DEFAULT_SYMBOLS,
    venue: str = "sim",
    start_us: int = START_US,
    seed: int = 0,
) -> pa.Table:
    """A bar table of ``minutes`` minutes from ``start_us`` for each symbol, sorted by (symbol, minute)."""
    rng = np.random.default_rng(seed)
    tables = [
        _symbol_bars(spec, minutes=minutes, venue=venue, start_us=start_us, rng=rng) for spec in symbols
    ]
    table = pa.concat_tables(tables)
    return table.sort_by([("venue", "ascending"), ("symbol", "ascending"), ("minute_us", "ascending")])


def _symbol_bars(
    spec: SyntheticSymbol, *, minutes: int, venue: str, start_us: int, rng: np.random.Generator
) -> pa.Table:
    kept = rng.random(minutes) >= spec.missing
    if minutes > 200:
        # An outage: a run of minutes without trades, longer than any feature window.
        outage = int(rng.integers(0, minutes - 100))
        kept[outage : outage + 90] = False
    kept[0] = True
    returns = rng.standard_normal(minutes) * spec.volatility
    # Fat tails: a few jumps.
    returns += (rng.random(minutes) < 0.002) * rng.standard_normal(minutes) * spec.volatility * 20
    close = spec.price * np.exp(np.cumsum(returns))
    open_ = np.concatenate([[spec.price], close[:-1]]) * np.exp(rng.standard_normal(minutes) * 1e-5)
    wick = np.abs(rng.standard_normal((2, minutes))) * spec.volatility * 0.5
    high = np.maximum(open_, close) * np.exp(wick[0])
    low = np.minimum(open_, close) * np.exp(-wick[1])
    trades = rng.poisson(spec.trades_per_minute, minutes) + 1
    volume = rng.lognormal(0.0, 1.0, minutes) * trades * 10.0 / spec.price**0.5
    vwap = low + (high - low) * rng.uniform(0.2, 0.8, minutes)
    buy_share = rng.beta(2.0, 2.0, minutes)
    known = np.where(rng.random(minutes) < 0.05, rng.uniform(0.5, 1.0, minutes), 1.0)
    buy_share[rng.random(minutes) < 0.02] = 1.0  # only buyers
    buy_volume = volume * known * buy_share
    sell_volume = volume * known - buy_volume
    if minutes > 400:
        # Identical bars: flat volume and trade-count windows.
        flat = slice(200, 300)
        for array in (open_, high, low, close, vwap):
            array[flat] = array[200]
        volume[flat], trades[flat] = volume[200], trades[200]
        buy_volume[flat], sell_volume[flat] = buy_volume[200], sell_volume[200]
    minute_us = start_us + np.arange(minutes, dtype=np.int64) * US_PER_MINUTE
    rows = int(kept.sum())
    columns = {
        "venue": pa.array([venue] * rows, type=pa.string()),
        "symbol": pa.array([spec.symbol] * rows, type=pa.string()),
        "minute_us": minute_us[kept],
        "open": open_[kept],
        "high": high[kept],
        "low": low[kept],
        "close": close[kept],
        "volume": volume[kept],
        "quote_volume": (vwap * volume)[kept],
        "vwap": vwap[kept],
        "trades": trades[kept].astype(np.int64),
        "buy_volume": buy_volume[kept],
        "sell_volume": sell_volume[kept],
    }
    return pa.Table.from_pydict(columns, schema=BARS_SCHEMA)
