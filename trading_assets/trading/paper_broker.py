"""The paper broker: fills the executor's orders at trades, by the fill and cost model the backtest uses.

An order decided at ``decision_us`` fills at the first trade, by (trade_time_us, trade_id), with
``trade_time_us >= decision_us + latency_us`` (:func:`~trading_assets.trading.fills.fills_on_trade`);
that trade's price is the reference price, :class:`~trading_assets.trading.costs.CostModel` gives the
fill price and fee. Without latency, that trade is the open of the first bar after the decision: the
price the backtest fills at.

Trades arrive out of order (within the lateness the online bars allow), so a candidate trade is final
only when its minute has closed: then no earlier trade can still arrive and be accepted. The caller
passes the accepted trades (:meth:`PaperBroker.on_trades`) and, as minutes close, the time up to which
they are closed (:meth:`PaperBroker.resolve`); the broker keeps only the trades of open minutes.

Sizing and netting follow the backtest engine: an order carries a target signal; at its fill the
position moves to ``target_quantity(signal, capital, reference_price)`` (the order's quantity, estimated
when it was decided, is replaced by the one at the fill). Orders whose fills land on the same trade are
netted: the latest one's target counts, in one fill carrying the latest order's id and model version;
the others are reported as netted. A target equal to the position's target fills nothing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from trading_assets.core.time import US_PER_MINUTE
from trading_assets.trading.costs import CostModel
from trading_assets.trading.fills import earliest_fill_us, fill_index, target_quantity
from trading_assets.trading.orders import Fill, Order


@dataclass(frozen=True, slots=True, kw_only=True)
class PendingOrder:
    """An order waiting for its trade, with what sizes and prices its fill."""

    order: Order
    """The order (its quantity is the estimate made at the decision)."""
    target_signal: int
    """The position it moves to, -1, 0 or +1 (× capital notional)."""
    capital: float
    """Notional of a full position."""
    costs: CostModel
    """Costs of the fill, and the latency before the order reaches the market."""

    @property
    def earliest_us(self) -> int:
        """The earliest trade time that may fill it: decision plus latency."""
        return earliest_fill_us(self.order.decision_us, self.costs.latency_us)


@dataclass(frozen=True, slots=True, kw_only=True)
class BrokerEvents:
    """What one :meth:`PaperBroker.resolve` did."""

    fills: tuple[Fill, ...] = ()
    """Fills, in time order."""
    netted: tuple[Order, ...] = ()
    """Orders that landed on the same trade as a later one (or back on the position's target): not filled."""


@dataclass(slots=True)
class _Book:
    times: npt.NDArray[np.int64] = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    ids: npt.NDArray[np.int64] = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    prices: npt.NDArray[np.float64] = field(default_factory=lambda: np.empty(0, dtype=np.float64))
    pending: list[PendingOrder] = field(default_factory=list)
    signal: int = 0
    position: float = 0.0


class PaperBroker:
    """Pending orders per symbol, filled at the trades fed to it; see the module doc."""

    def __init__(self) -> None:
        self._books: dict[str, _Book] = {}

    def _book(self, symbol: str) -> _Book:
        book = self._books.get(symbol)
        if book is None:
            book = self._books[symbol] = _Book()
        return book

    def position(self, symbol: str) -> float:
        """Signed units held in ``symbol`` after the fills so far."""
        return self._book(symbol).position

    def signal(self, symbol: str) -> int:
        """The target signal the position of ``symbol`` was last filled to."""
        return self._book(symbol).signal

    def pending(self, symbol: str) -> tuple[PendingOrder, ...]:
        """Orders of ``symbol`` not filled yet, in decision order."""
        return tuple(self._book(symbol).pending)

    def restore(self, symbol: str, *, signal: int, position: float) -> None:
        """Set the filled state of ``symbol`` (resuming from a ledger)."""
        book = self._book(symbol)
        book.signal, book.position = signal, position

    def submit(self, pending: PendingOrder) -> None:
        """Queue an order; orders of one symbol must come in decision order."""
        book = self._book(pending.order.symbol)
        if book.pending and pending.order.decision_us < book.pending[-1].order.decision_us:
            raise ValueError(
                f"order {pending.order.order_id} decided at {pending.order.decision_us}, before the pending "
                f"{book.pending[-1].order.order_id} at {book.pending[-1].order.decision_us}"
            )
        book.pending.append(pending)

    def on_trades(
        self,
        symbol: str,
        trade_time_us: npt.NDArray[np.int64],
        trade_id: npt.NDArray[np.int64],
        price: npt.NDArray[np.float64],
    ) -> None:
        """Add accepted trades of ``symbol`` (any order; duplicates are harmless)."""
        if len(trade_time_us) == 0:
            return
        book = self._book(symbol)
        times = np.concatenate((book.times, np.asarray(trade_time_us, dtype=np.int64)))
        ids = np.concatenate((book.ids, np.asarray(trade_id, dtype=np.int64)))
        prices = np.concatenate((book.prices, np.asarray(price, dtype=np.float64)))
        if _by_time_and_id(times, ids):
            # Trades arriving in order (the usual case): the stable sort would return them unchanged.
            book.times, book.ids, book.prices = times, ids, prices
            return
        order = np.lexsort((ids, times))
        book.times, book.ids, book.prices = times[order], ids[order], prices[order]

    def resolve(self, symbol: str, closed_until_us: int | None) -> BrokerEvents:
        """Fill the pending orders of ``symbol`` whose trade lies in a minute ending at or before
        ``closed_until_us`` (every order with a trade when None: the end of a replay); then forget
        the trades of those minutes."""
        book = self._book(symbol)
        fills: list[Fill] = []
        netted: list[Order] = []
        limit = math.inf if closed_until_us is None else closed_until_us
        while book.pending:
            # The first trade at or after decision + latency, by (time, id): the book is sorted so.
            at = int(
                fill_index(book.times, book.pending[0].order.decision_us, book.pending[0].costs.latency_us)
            )
            if at == len(book.times) or _minute_end(int(book.times[at])) > limit:
                break
            group = [book.pending.pop(0)]
            while book.pending and int(np.searchsorted(book.times, book.pending[0].earliest_us)) == at:
                group.append(book.pending.pop(0))
            netted.extend(p.order for p in group[:-1])
            fill = self._fill(book, group[-1], int(book.times[at]), float(book.prices[at]))
            if fill is None:
                netted.append(group[-1].order)
            else:
                fills.append(fill)
        if closed_until_us is not None and len(book.times):
            # Keep the trades of minutes ending after closed_until_us: those at or after the start of the
            # minute after the one holding closed_until_us - 1 min (a suffix: the book is sorted by time).
            first_kept = ((closed_until_us - US_PER_MINUTE) // US_PER_MINUTE + 1) * US_PER_MINUTE
            start = int(np.searchsorted(book.times, first_kept, side="left"))
            if start:
                book.times, book.ids, book.prices = book.times[start:], book.ids[start:], book.prices[start:]
        return BrokerEvents(fills=tuple(fills), netted=tuple(netted))

    def _fill(self, book: _Book, pending: PendingOrder, time_us: int, reference: float) -> Fill | None:
        """Move the position to ``pending``'s target at ``reference``; None when it is there already."""
        if pending.target_signal == book.signal:
            return None
        held = float(target_quantity(pending.target_signal, pending.capital, reference))
        traded = held - book.position
        side = 1 if pending.target_signal > book.signal else -1
        price = float(pending.costs.fill_price(reference, side))
        quantity = abs(traded)
        fee = float(pending.costs.fee(quantity * price))
        book.signal, book.position = pending.target_signal, held
        return Fill.of(
            pending.order,
            time_us=time_us,
            reference_price=reference,
            price=price,
            fee=fee,
            side=side,
            quantity=quantity,
        )


def _by_time_and_id(times: npt.NDArray[np.int64], ids: npt.NDArray[np.int64]) -> bool:
    """Whether the trades are in (time, id) order, equal keys allowed."""
    later = times[1:] > times[:-1]
    return bool((later | ((times[1:] == times[:-1]) & (ids[1:] >= ids[:-1]))).all())


def _minute_end(time_us: int) -> int:
    return time_us - time_us % US_PER_MINUTE + US_PER_MINUTE
