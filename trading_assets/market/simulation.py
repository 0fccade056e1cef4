"""A seeded stochastic market: realistic-looking trades for the demo, tests, benchmarks and the simulated
exchange.

Per symbol, prices follow a geometric random walk on the symbol's tick grid, trade sizes are log-normal
around a typical notional, aggressor sides cluster (a buy is more likely after a buy), and trades arrive
as a Poisson process. Trade ids are consecutive per symbol, as on Binance. All generation is vectorised
with numpy: a million ticks take well under a second.

Optionally (``trend``), a symbol's returns carry a slow hidden drift, an AR(1) process with a half-life of
``trend_half_life_s``: past returns then predict future ones a little, as momentum does in real markets.
It is off by default (a pure random walk, which no model can beat after costs); the demo plants it in some
symbols so that the model gate has something to find and something to refuse.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from trading_assets.core.ticks import TICK_SCHEMA
from trading_assets.core.time import US_PER_DAY

# Starting prices and price increments of the default symbols; others get a generic profile.
_PROFILES: dict[str, tuple[float, float]] = {
    "BTCUSDT": (65_000.0, 0.01),
    "ETHUSDT": (3_200.0, 0.01),
    "SOLUSDT": (150.0, 0.01),
    "ADAUSDT": (0.45, 0.0001),
    "XRPUSDT": (0.55, 0.0001),
}
_DEFAULT_PROFILE = (100.0, 0.01)


@dataclass(frozen=True, slots=True, kw_only=True)
class MarketConfig:
    """Parameters of the simulated market."""

    symbols: tuple[str, ...] = ("BTCUSDT", "ETHUSDT", "SOLUSDT", "ADAUSDT", "XRPUSDT")
    """Symbols to simulate."""
    venue: str = "sim"
    """Venue name stamped on every tick."""
    seed: int = 7
    """Seed of the random generator: the same seed gives the same trades."""
    trades_per_second: float = 1_000.0
    """Mean trade rate over all symbols together (exchange time)."""
    daily_volatility: float = 0.03
    """Standard deviation of one day's log return."""
    notional_per_trade: float = 500.0
    """Median trade value in quote currency."""
    side_persistence: float = 0.65
    """Probability that a trade has the same aggressor side as the one before it."""
    trend: tuple[tuple[str, float], ...] = ()
    """(symbol, strength) pairs: a hidden drift of ``strength`` per-trade standard deviations, scaled by a
    slow AR(1) process; symbols not listed follow a pure random walk."""
    trend_half_life_s: float = 1_800.0
    """Half-life of the hidden drift process (exchange time)."""


@dataclass(slots=True)
class _SymbolState:
    price: float
    increment: float
    next_trade_id: int
    last_side: int
    drift: float = 0.0


@dataclass(slots=True)
class MarketSimulator:
    """Generates consecutive batches of trades; the state carries over between calls."""

    config: MarketConfig
    start_us: int
    """Exchange time of the first trade."""
    _rng: np.random.Generator = field(init=False)
    _clock_us: int = field(init=False)
    _state: dict[str, _SymbolState] = field(init=False)

    def __post_init__(self) -> None:
        self._rng = np.random.default_rng(self.config.seed)
        self._clock_us = self.start_us
        self._state = {}
        for symbol in self.config.symbols:
            price, increment = _PROFILES.get(symbol, _DEFAULT_PROFILE)
            self._state[symbol] = _SymbolState(price=price, increment=increment, next_trade_id=1, last_side=1)

    @property
    def clock_us(self) -> int:
        """Exchange time of the last trade generated so far."""
        return self._clock_us

    def next_trade_ids(self) -> dict[str, int]:
        """The id the next trade of each symbol will get."""
        return {symbol: state.next_trade_id for symbol, state in self._state.items()}

    def _drift(self, state: _SymbolState, n: int, seconds_per_trade: float) -> np.ndarray:
        """The next ``n`` values of the symbol's hidden AR(1) drift (unit variance), state carried over."""
        from scipy.signal import lfilter

        keep = 0.5 ** (seconds_per_trade / self.config.trend_half_life_s)
        shocks = self._rng.normal(0.0, np.sqrt(1.0 - keep * keep), size=n)
        values, _ = lfilter([1.0], [1.0, -keep], shocks, zi=[keep * state.drift])
        state.drift = float(values[-1])
        return np.asarray(values)

    def generate(self, count: int, *, receive_lag_us: int = 0) -> pa.Table:
        """The next ``count`` trades over all symbols, in exchange-time order, as a tick table."""
        rng = self._rng
        cfg = self.config
        gaps = rng.exponential(1e6 / cfg.trades_per_second, size=count)
        times = self._clock_us + np.cumsum(gaps).astype(np.int64)
        if count:
            self._clock_us = int(times[-1])
        which = rng.integers(0, len(cfg.symbols), size=count)
        trade_ids = np.empty(count, dtype=np.int64)
        prices = np.empty(count, dtype=np.float64)
        quantities = np.empty(count, dtype=np.float64)
        sides = np.empty(count, dtype=np.int8)
        seconds_per_trade = len(cfg.symbols) / cfg.trades_per_second
        trends = dict(cfg.trend)
        step_sigma = cfg.daily_volatility * np.sqrt(seconds_per_trade / 86_400)
        for index, symbol in enumerate(cfg.symbols):
            rows = np.flatnonzero(which == index)
            n = len(rows)
            if n == 0:
                continue
            state = self._state[symbol]
            steps = rng.normal(0.0, step_sigma, size=n)
            strength = trends.get(symbol, 0.0)
            if strength:
                steps += strength * step_sigma * self._drift(state, n, seconds_per_trade)
            log_path = np.log(state.price) + np.cumsum(steps)
            # Snap to the tick grid, then to 8 decimals: the float nearest the decimal price a venue prints
            # ("65024.77000000"), not 65024.770000000004 from the multiplication.
            grid = np.round(np.exp(log_path) / state.increment) * state.increment
            path = np.round(np.maximum(grid, state.increment), 8)
            prices[rows] = path
            median_qty = cfg.notional_per_trade / path
            quantities[rows] = np.round(median_qty * rng.lognormal(0.0, 1.2, size=n), 8)
            quantities[rows] = np.maximum(quantities[rows], 1e-8)
            # Clustered sides: flip the previous side with probability 1 - persistence.
            flips = rng.random(n) > cfg.side_persistence
            sign = np.where(np.cumsum(flips) % 2 == 0, 1, -1) * state.last_side
            sides[rows] = sign
            trade_ids[rows] = state.next_trade_id + np.arange(n, dtype=np.int64)
            state.next_trade_id += n
            state.price = float(path[-1])
            state.last_side = int(sign[-1])
        symbol_names = pa.array(cfg.symbols, pa.string()).take(pa.array(which))
        return pa.Table.from_arrays(
            [
                pa.array(np.full(count, cfg.venue, dtype=object), pa.string()),
                symbol_names,
                pa.array(trade_ids),
                pa.array(prices),
                pa.array(quantities),
                pa.array(sides),
                pa.array(times),
                pa.array(times),
                pa.array(times + receive_lag_us),
            ],
            schema=TICK_SCHEMA,
        )


def simulate_day(
    *, day_start_us: int, ticks: int, symbols: Sequence[str] | None = None, seed: int = 7, venue: str = "sim"
) -> pa.Table:
    """``ticks`` trades spread evenly over one UTC day starting at ``day_start_us``."""
    config = MarketConfig(
        symbols=tuple(symbols) if symbols is not None else MarketConfig().symbols,
        venue=venue,
        seed=seed,
        # Slightly fewer than fit in the day, so the exponential arrivals stay inside it.
        trades_per_second=ticks / 86_000.0,
    )
    table = MarketSimulator(config=config, start_us=day_start_us).generate(ticks)
    times = table["trade_time_us"].to_numpy()
    span = int(times[-1]) - day_start_us if ticks else 0
    if span >= US_PER_DAY:
        # Random arrivals can overrun midnight for small counts: squeeze them into the day, order kept.
        squeezed = day_start_us + ((times - day_start_us) * ((US_PER_DAY - 1) / span)).astype(np.int64)
        for name in ("trade_time_us", "event_time_us", "receive_time_us"):
            table = table.set_column(
                table.schema.get_field_index(name), TICK_SCHEMA.field(name), pa.array(squeezed)
            )
    return table
