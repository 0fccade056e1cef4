"""The exchange's memory of released trades, for REST: per symbol, numpy blocks with a bounded total.

Each symbol keeps its trades in fixed-size blocks of numpy columns; when more than the configured number
of trades is held, whole blocks are forgotten from the old end. Lookups by trade id bisect the blocks'
first ids and then search within a block, so a page costs microseconds whatever the history length.
About 33 bytes per trade: 2,000,000 trades per symbol take about 66 MB.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

import numpy as np

from trading_assets.services.exchange_sim.sources import TradeBatch

BLOCK_ROWS = 65_536


@dataclass(slots=True)
class _Block:
    trade_id: np.ndarray = field(default_factory=lambda: np.empty(BLOCK_ROWS, np.int64))
    price: np.ndarray = field(default_factory=lambda: np.empty(BLOCK_ROWS, np.float64))
    qty: np.ndarray = field(default_factory=lambda: np.empty(BLOCK_ROWS, np.float64))
    time_us: np.ndarray = field(default_factory=lambda: np.empty(BLOCK_ROWS, np.int64))
    buyer_maker: np.ndarray = field(default_factory=lambda: np.empty(BLOCK_ROWS, np.bool_))
    size: int = 0


_DTYPES: dict[str, type] = {
    "trade_id": np.int64,
    "price": np.float64,
    "qty": np.float64,
    "time_us": np.int64,
    "buyer_maker": np.bool_,
}
_COLUMNS = tuple(_DTYPES)


@dataclass(frozen=True, slots=True)
class TradeRows:
    """Some trades of one symbol, as numpy columns in id order."""

    trade_id: np.ndarray
    price: np.ndarray
    qty: np.ndarray
    time_us: np.ndarray
    buyer_maker: np.ndarray

    def __len__(self) -> int:
        return len(self.trade_id)


class SymbolHistory:
    """The trades of one symbol, oldest forgotten first once more than ``max_trades`` are held."""

    def __init__(self, max_trades: int) -> None:
        self.max_trades = max_trades
        self._blocks: list[_Block] = []
        self._first_ids: list[int] = []
        self._count = 0

    def __len__(self) -> int:
        return self._count

    @property
    def first_id(self) -> int | None:
        """Oldest trade id held."""
        return self._first_ids[0] if self._blocks else None

    @property
    def last_id(self) -> int | None:
        """Newest trade id held."""
        if not self._blocks:
            return None
        last = self._blocks[-1]
        return int(last.trade_id[last.size - 1])

    def append(self, rows: TradeRows) -> None:
        """Add trades newer than all held ones."""
        done, total = 0, len(rows)
        while done < total:
            if not self._blocks or self._blocks[-1].size == BLOCK_ROWS:
                self._blocks.append(_Block())
                self._first_ids.append(int(rows.trade_id[done]))
            block = self._blocks[-1]
            take = min(BLOCK_ROWS - block.size, total - done)
            for name in _COLUMNS:
                getattr(block, name)[block.size : block.size + take] = getattr(rows, name)[done : done + take]
            block.size += take
            done += take
        self._count += total
        # Forget whole blocks, keeping at least max_trades.
        while self._blocks and self._count - self._blocks[0].size >= self.max_trades:
            self._count -= self._blocks[0].size
            del self._blocks[0]
            del self._first_ids[0]

    def _gather(self, block_index: int, row: int, limit: int) -> TradeRows:
        parts: list[tuple[_Block, int, int]] = []
        remaining = limit
        while remaining > 0 and block_index < len(self._blocks):
            block = self._blocks[block_index]
            stop = min(block.size, row + remaining)
            if stop > row:
                parts.append((block, row, stop))
                remaining -= stop - row
            block_index, row = block_index + 1, 0
        columns = [
            np.concatenate([getattr(b, name)[a:z] for b, a, z in parts])
            if parts
            else np.empty(0, _DTYPES[name])
            for name in _COLUMNS
        ]
        return TradeRows(*columns)

    def from_id(self, from_id: int, limit: int) -> TradeRows:
        """Up to ``limit`` trades with id >= ``from_id`` (from the oldest held when it is older)."""
        if not self._blocks:
            return self._gather(0, 0, 0)
        index = max(bisect.bisect_right(self._first_ids, from_id) - 1, 0)
        block = self._blocks[index]
        row = int(np.searchsorted(block.trade_id[: block.size], from_id, side="left"))
        return self._gather(index, row, limit)

    def recent(self, limit: int) -> TradeRows:
        """The newest ``limit`` trades, oldest first."""
        skip = max(self._count - limit, 0)
        index = 0
        while index < len(self._blocks) and skip >= self._blocks[index].size:
            skip -= self._blocks[index].size
            index += 1
        return self._gather(index, skip, limit)


class TradeHistory:
    """Per-symbol histories of every released trade (including those the websockets skipped)."""

    def __init__(self, symbols: tuple[str, ...], max_trades_per_symbol: int) -> None:
        self.symbols = symbols
        self.by_symbol = {symbol: SymbolHistory(max_trades_per_symbol) for symbol in symbols}

    def append(self, batch: TradeBatch) -> None:
        """Add a released batch (all symbols mixed, in time order)."""
        if len(batch) == 0:
            return
        if len(self.symbols) == 1:
            self.by_symbol[self.symbols[0]].append(
                TradeRows(batch.trade_id, batch.price, batch.qty, batch.time_us, batch.buyer_maker)
            )
            return
        order = np.argsort(batch.symbol, kind="stable")
        sorted_symbols = batch.symbol[order]
        bounds = np.searchsorted(sorted_symbols, np.arange(len(self.symbols) + 1))
        for index, symbol in enumerate(self.symbols):
            rows = order[bounds[index] : bounds[index + 1]]
            if len(rows):
                self.by_symbol[symbol].append(
                    TradeRows(
                        batch.trade_id[rows],
                        batch.price[rows],
                        batch.qty[rows],
                        batch.time_us[rows],
                        batch.buyer_maker[rows],
                    )
                )
