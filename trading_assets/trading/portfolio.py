"""Portfolio accounting of the paper executor: cash, positions at average cost, PnL, fees, equity.

Conventions (all amounts in the quote currency):

- A buy of ``q`` units at price ``p`` with fee ``f`` pays ``q·p + f`` in cash; a sell receives ``q·p - f``.
- A position is a signed quantity (negative is short) and an average cost. A fill on the position's
  side (or on a flat position) averages the cost; a fill against it realizes ``(p - avg) × closed``
  (signed by the position) at the average cost and leaves the cost of the rest unchanged; a fill larger
  than the position closes it (realizing that) and opens the remainder on the other side at ``p``.
- Realized PnL is gross of fees; fees are counted apart, so
  ``equity = initial cash + realized - fees + unrealized = cash + Σ quantity × price``.
- A position is marked at the latest known market price of its symbol: the newest of the prices given
  to :meth:`Portfolio.mark` and the reference prices of its fills.
- Realized PnL, fees, turnover and fill counts are also kept per (symbol, model version): every fill
  carries the version of the model that decided it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from trading_assets.trading.orders import Fill

_ZERO_TOLERANCE = 1e-12  # relative: a position within this of zero after a fill is flat


@dataclass(frozen=True, slots=True)
class Position:
    """A signed quantity (negative is short) held at an average cost per unit."""

    quantity: float
    avg_cost: float


@dataclass(frozen=True, slots=True, kw_only=True)
class Attribution:
    """What one model version's fills on one symbol did."""

    realized_pnl: float = 0.0
    """PnL realized by its closing fills, gross of fees."""
    fees: float = 0.0
    """Fees of its fills."""
    turnover: float = 0.0
    """Notional traded by its fills."""
    fills: int = 0
    """Number of its fills."""


@dataclass(frozen=True, slots=True, kw_only=True)
class EquitySnapshot:
    """The portfolio marked at ``time_us``."""

    time_us: int
    """Time of the mark, µs."""
    equity: float
    """Cash plus the positions at market."""
    cash: float
    """Cash after every fill and fee."""
    gross_exposure: float
    """Σ |quantity| × price."""
    net_exposure: float
    """Σ quantity × price (signed)."""
    unrealized_pnl: float
    """Σ (price - average cost) × quantity."""
    realized_pnl: float
    """Realized PnL so far, gross of fees."""
    fees: float
    """Fees paid so far."""
    high_water_mark: float
    """Highest equity over this and all earlier marks."""
    drawdown: float
    """(high-water mark - equity) / high-water mark, >= 0 (0 when the mark is not positive)."""
    positions: tuple[tuple[str, float], ...]
    """(symbol, signed quantity) of every open position, by symbol."""

    def quantity(self, symbol: str) -> float:
        """The signed quantity held in ``symbol`` at the mark (0 when flat)."""
        return dict(self.positions).get(symbol, 0.0)


@dataclass(frozen=True, slots=True, kw_only=True)
class PortfolioState:
    """Everything a :class:`Portfolio` is, frozen: ``Portfolio.restore(p.save())`` behaves as ``p``."""

    initial_cash: float
    """Cash the portfolio started with."""
    cash: float
    """Current cash."""
    positions: tuple[tuple[str, float, float], ...]
    """(symbol, signed quantity, average cost) of every open position, by symbol."""
    realized_pnl: float
    """Realized PnL, gross of fees."""
    fees: float
    """Fees paid."""
    turnover: float
    """Notional traded."""
    last_prices: tuple[tuple[str, float, int], ...]
    """(symbol, latest market price, its time µs), by symbol."""
    high_water_mark: float | None
    """Highest marked equity, None before the first mark."""
    applied_fill_ids: tuple[str, ...]
    """Ids of the fills applied, sorted: a fill is applied at most once."""
    attribution: tuple[tuple[str, str, Attribution], ...]
    """(symbol, model version, attribution), sorted."""


class Portfolio:
    """Cash and positions of the paper executor; applies fills once each and marks to market."""

    def __init__(self, initial_cash: float) -> None:
        self.initial_cash = float(initial_cash)
        self.cash = float(initial_cash)
        self.realized_pnl = 0.0
        self.fees = 0.0
        self.turnover = 0.0
        self.high_water_mark: float | None = None
        self._positions: dict[str, Position] = {}
        self._prices: dict[str, tuple[float, int]] = {}
        self._applied: set[str] = set()
        self._attribution: dict[tuple[str, str], Attribution] = {}

    # -- fills -------------------------------------------------------------------------------------

    def has_applied(self, fill_id: str) -> bool:
        """Whether the fill ``fill_id`` is already in the portfolio."""
        return fill_id in self._applied

    def apply(self, fill: Fill) -> bool:
        """Book ``fill``; returns False (and changes nothing) if its id was applied before."""
        if fill.fill_id in self._applied:
            return False
        self._applied.add(fill.fill_id)
        old = self._positions.get(fill.symbol, Position(0.0, 0.0))
        delta = fill.signed_quantity
        new_quantity = old.quantity + delta
        if abs(new_quantity) <= _ZERO_TOLERANCE * max(abs(old.quantity), abs(delta)):
            new_quantity = 0.0
        realized = 0.0
        if old.quantity == 0.0 or (old.quantity > 0) == (delta > 0):
            # Opening or adding: the cost of the whole position is averaged.
            avg = (old.quantity * old.avg_cost + delta * fill.price) / new_quantity
        else:
            closed = min(abs(delta), abs(old.quantity))
            sign = 1.0 if old.quantity > 0 else -1.0
            realized = (fill.price - old.avg_cost) * closed * sign
            if new_quantity == 0.0:
                avg = 0.0
            elif (new_quantity > 0) == (old.quantity > 0):
                avg = old.avg_cost  # a partial close leaves the rest's cost unchanged
            else:
                avg = fill.price  # a flip opens the remainder at the fill price
        if new_quantity == 0.0:
            self._positions.pop(fill.symbol, None)
        else:
            self._positions[fill.symbol] = Position(new_quantity, avg)
        self.cash -= delta * fill.price + fill.fee
        self.realized_pnl += realized
        self.fees += fill.fee
        self.turnover += fill.notional
        key = (fill.symbol, fill.model_version)
        before = self._attribution.get(key, Attribution())
        self._attribution[key] = Attribution(
            realized_pnl=before.realized_pnl + realized,
            fees=before.fees + fill.fee,
            turnover=before.turnover + fill.notional,
            fills=before.fills + 1,
        )
        self._observe_price(fill.symbol, fill.reference_price, fill.time_us)
        return True

    # -- prices and marks --------------------------------------------------------------------------

    def _observe_price(self, symbol: str, price: float, time_us: int) -> None:
        known = self._prices.get(symbol)
        if known is None or time_us >= known[1]:
            self._prices[symbol] = (float(price), int(time_us))

    def last_price(self, symbol: str) -> float | None:
        """The latest known market price of ``symbol``, or None if it was never priced."""
        known = self._prices.get(symbol)
        return None if known is None else known[0]

    def _price_of(self, symbol: str, position: Position) -> float:
        known = self._prices.get(symbol)
        return position.avg_cost if known is None else known[0]

    def quantity(self, symbol: str) -> float:
        """The signed quantity held in ``symbol`` (0 when flat)."""
        position = self._positions.get(symbol)
        return 0.0 if position is None else position.quantity

    @property
    def positions(self) -> Mapping[str, Position]:
        """The open positions by symbol (a copy)."""
        return dict(self._positions)

    def unrealized_pnl(self) -> float:
        """Σ (latest price - average cost) × quantity over the open positions."""
        return sum((self._price_of(s, p) - p.avg_cost) * p.quantity for s, p in self._positions.items())

    def exposures(self) -> tuple[float, float]:
        """(gross, net) exposure at the latest prices: Σ |q| × price and Σ q × price."""
        values = [p.quantity * self._price_of(s, p) for s, p in self._positions.items()]
        return sum(abs(v) for v in values), sum(values)

    def equity(self) -> float:
        """Cash plus the open positions at the latest prices."""
        return self.cash + self.exposures()[1]

    def mark(self, prices: Mapping[str, float], time_us: int) -> EquitySnapshot:
        """Mark to ``prices`` (symbols not given keep their latest price) and snapshot the equity.

        Updates the high-water mark, from which the snapshot's drawdown is measured.
        """
        for symbol, price in prices.items():
            self._observe_price(symbol, price, time_us)
        gross, net = self.exposures()
        equity = self.cash + net
        hwm = equity if self.high_water_mark is None else max(self.high_water_mark, equity)
        self.high_water_mark = hwm
        return EquitySnapshot(
            time_us=time_us,
            equity=equity,
            cash=self.cash,
            gross_exposure=gross,
            net_exposure=net,
            unrealized_pnl=self.unrealized_pnl(),
            realized_pnl=self.realized_pnl,
            fees=self.fees,
            high_water_mark=hwm,
            drawdown=(hwm - equity) / hwm if hwm > 0 else 0.0,
            positions=tuple(sorted((s, p.quantity) for s, p in self._positions.items())),
        )

    def attribution(self) -> Mapping[tuple[str, str], Attribution]:
        """Realized PnL, fees, turnover and fills per (symbol, model version) (a copy)."""
        return dict(self._attribution)

    # -- save and restore --------------------------------------------------------------------------

    def save(self) -> PortfolioState:
        """The portfolio as a frozen :class:`PortfolioState`."""
        return PortfolioState(
            initial_cash=self.initial_cash,
            cash=self.cash,
            positions=tuple(sorted((s, p.quantity, p.avg_cost) for s, p in self._positions.items())),
            realized_pnl=self.realized_pnl,
            fees=self.fees,
            turnover=self.turnover,
            last_prices=tuple(sorted((s, price, t) for s, (price, t) in self._prices.items())),
            high_water_mark=self.high_water_mark,
            applied_fill_ids=tuple(sorted(self._applied)),
            attribution=tuple((s, v, a) for (s, v), a in sorted(self._attribution.items())),
        )

    @classmethod
    def restore(cls, state: PortfolioState) -> Portfolio:
        """A portfolio equal to the one ``state`` was saved from."""
        portfolio = cls(state.initial_cash)
        portfolio.cash = state.cash
        portfolio.realized_pnl = state.realized_pnl
        portfolio.fees = state.fees
        portfolio.turnover = state.turnover
        portfolio.high_water_mark = state.high_water_mark
        portfolio._positions = {s: Position(q, avg) for s, q, avg in state.positions}
        portfolio._prices = {s: (price, t) for s, price, t in state.last_prices}
        portfolio._applied = set(state.applied_fill_ids)
        portfolio._attribution = {(s, v): a for s, v, a in state.attribution}
        return portfolio
