"""Where the simulated exchange's trades come from, and how they are released by exchange time.

A source produces trades in chunks ahead of the clock (so the random stream, and therefore every trade,
depends only on the seed, never on wall-clock timing) and :meth:`TradeSource.release` hands out those
whose trade time the exchange clock has reached. Trades travel as a :class:`TradeBatch` of numpy
columns; nothing here creates a Python object per trade.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from trading_assets.core.ticks import Side
from trading_assets.market.simulation import MarketConfig, MarketSimulator

SIMULATED_CHUNK = 8192
"""Trades the simulated market generates per call; fixed, so the trades depend only on the seed."""


@dataclass(frozen=True, slots=True)
class TradeBatch:
    """Trades as numpy columns; ``symbol`` indexes the exchange's symbol tuple."""

    symbol: np.ndarray
    """int32 index into the exchange's symbols."""
    trade_id: np.ndarray
    """int64 trade ids (consecutive per symbol)."""
    price: np.ndarray
    """float64 prices."""
    qty: np.ndarray
    """float64 quantities in base units."""
    time_us: np.ndarray
    """int64 trade times, microseconds since epoch, UTC."""
    buyer_maker: np.ndarray
    """bool: the buyer was the maker, i.e. the aggressor sold (Binance ``m``)."""

    def __len__(self) -> int:
        return len(self.trade_id)

    def slice(self, start: int, stop: int) -> TradeBatch:
        """Rows ``start:stop`` (views, no copy)."""
        return TradeBatch(
            self.symbol[start:stop],
            self.trade_id[start:stop],
            self.price[start:stop],
            self.qty[start:stop],
            self.time_us[start:stop],
            self.buyer_maker[start:stop],
        )

    def take(self, rows: np.ndarray) -> TradeBatch:
        """The rows at the given positions."""
        return TradeBatch(
            self.symbol[rows],
            self.trade_id[rows],
            self.price[rows],
            self.qty[rows],
            self.time_us[rows],
            self.buyer_maker[rows],
        )

    @staticmethod
    def empty() -> TradeBatch:
        """A batch without rows."""
        return TradeBatch(
            np.empty(0, np.int32),
            np.empty(0, np.int64),
            np.empty(0, np.float64),
            np.empty(0, np.float64),
            np.empty(0, np.int64),
            np.empty(0, np.bool_),
        )

    @staticmethod
    def concat(batches: list[TradeBatch]) -> TradeBatch:
        """One batch holding ``batches`` one after the other."""
        if not batches:
            return TradeBatch.empty()
        if len(batches) == 1:
            return batches[0]
        return TradeBatch(
            *(np.concatenate([getattr(b, name) for b in batches]) for name in TradeBatch.__slots__)
        )


class TradeSource(abc.ABC):
    """Trades in exchange-time order, released as the exchange clock passes them."""

    def __init__(self, symbols: tuple[str, ...]) -> None:
        self.symbols = symbols
        self.exhausted = False
        """True once the source has no trade left (a replay file at its end)."""
        self._pending = TradeBatch.empty()
        self._release_times = np.empty(0, np.int64)
        self._cursor = 0
        self._carried_max = np.iinfo(np.int64).min

    @abc.abstractmethod
    def _next_chunk(self) -> TradeBatch | None:
        """The next trades in order, or None at the end."""

    def _load(self) -> bool:
        chunk = self._next_chunk()
        if chunk is None:
            self.exhausted = True
            return False
        self._pending, self._cursor = chunk, 0
        # Release by the running maximum, so a file with a time going backwards still streams in order.
        times = (
            np.maximum.accumulate(np.maximum(chunk.time_us, self._carried_max))
            if len(chunk)
            else chunk.time_us
        )
        self._release_times = times
        if len(times):
            self._carried_max = int(times[-1])
        return True

    def first_time_us(self) -> int | None:
        """Trade time of the next trade, or None when there is none."""
        while self._cursor >= len(self._pending):
            if not self._load():
                return None
        return int(self._release_times[self._cursor])

    def release(self, until_us: int, limit: int) -> TradeBatch:
        """Up to ``limit`` trades with trade time <= ``until_us``, in order."""
        parts: list[TradeBatch] = []
        remaining = limit
        while remaining > 0:
            if self._cursor >= len(self._pending) and not self._load():
                break
            stop = int(np.searchsorted(self._release_times, until_us, side="right"))
            stop = min(stop, self._cursor + remaining)
            if stop > self._cursor:
                parts.append(self._pending.slice(self._cursor, stop))
                remaining -= stop - self._cursor
                self._cursor = stop
            if self._cursor < len(self._pending):
                break  # the next trade lies in the future (or the limit is reached)
        return TradeBatch.concat(parts)


class SimulatedSource(TradeSource):
    """The seeded simulated market of :mod:`trading_assets.market.simulation`."""

    def __init__(
        self, *, symbols: tuple[str, ...], seed: int, trades_per_exchange_second: float, start_us: int
    ) -> None:
        super().__init__(symbols)
        config = MarketConfig(
            symbols=symbols, venue="binance", seed=seed, trades_per_second=trades_per_exchange_second
        )
        self._simulator = MarketSimulator(config=config, start_us=start_us)
        self._symbol_set = pa.array(symbols, pa.string())

    def _next_chunk(self) -> TradeBatch:
        table = self._simulator.generate(SIMULATED_CHUNK)
        symbol = pc.index_in(table["symbol"], value_set=self._symbol_set).to_numpy().astype(np.int32)
        return TradeBatch(
            symbol,
            table["trade_id"].to_numpy(),
            table["price"].to_numpy(),
            table["quantity"].to_numpy(),
            table["trade_time_us"].to_numpy(),
            table["side"].to_numpy() == int(Side.SELL),
        )
