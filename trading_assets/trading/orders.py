"""Orders and fills of the paper executor, with ids derived from the decision that made them.

An order's id is a digest of the decision (symbol, bar, model version, reason), never of the wall clock
or a counter: an executor that restarts and replays the same ticks makes the same decisions, gets the
same ids, and recognises an order it already placed (:func:`order_id`). The kill switch's flatten
orders get ids from the breaching mark instead (:func:`flatten_order_id`), for the same reason.

A fill's id is its order's id: an order fills at most once (the fill rule fills it whole, at the first
trade after decision + latency), so a fill applied twice is recognised by its id.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from trading_assets.core.time import US_PER_MINUTE

SIGNAL = "signal"
"""Reason of an order that moves a position to the model's target."""
FLATTEN = "flatten"
"""Reason of an order that closes a position because the kill switch tripped."""

_ID_HEX_CHARS = 32  # 128 bits of SHA-256: collisions are not a concern at any number of orders


def _digest(*parts: str) -> str:
    # A separator that cannot appear in a part keeps ("ab", "c") and ("a", "bc") apart.
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:_ID_HEX_CHARS]


def order_id(symbol: str, bar_minute_us: int, model_version: str, reason: str) -> str:
    """The id of the order decided on ``symbol``'s bar ``bar_minute_us`` by ``model_version``.

    A hex digest of the decision alone: the same decision always gets the same id, so a restart that
    replays the same bars never places an order twice.
    """
    return _digest("order", symbol, str(int(bar_minute_us)), str(model_version), reason)


def flatten_order_id(symbol: str, mark_us: int, reason: str = FLATTEN) -> str:
    """The id of the order closing ``symbol`` because of the breaching mark at ``mark_us``.

    Deterministic from (symbol, time of the mark that tripped the kill switch, reason), and in a
    different namespace from :func:`order_id`, so it never equals a signal order's id.
    """
    return _digest("flatten", symbol, str(int(mark_us)), reason)


@dataclass(frozen=True, slots=True, kw_only=True)
class Order:
    """A market order for ``quantity`` units of ``symbol``, and the decision and model behind it."""

    order_id: str
    """Deterministic id from the decision (:func:`order_id`, or :func:`flatten_order_id`)."""
    symbol: str
    """The instrument, as on the tick bus."""
    side: int
    """+1 buys, -1 sells."""
    quantity: float
    """Units to trade, > 0 (the side carries the sign)."""
    decision_us: int
    """When the decision was made (a bar's close, or the breaching mark for a flatten), µs."""
    bar_minute_us: int
    """Start of the bar the decision was computed from, µs."""
    model_name: str
    """Registered model that made the decision."""
    model_version: str
    """Version of that model: every fill carries it, for attribution."""
    run_id: str
    """MLflow run id of that model version."""
    reason: str = SIGNAL
    """Why the order exists: ``"signal"`` or ``"flatten"``."""

    def __post_init__(self) -> None:
        if self.side not in (1, -1):
            raise ValueError(f"order {self.order_id}: side must be +1 or -1, got {self.side!r}")
        if not self.quantity > 0:
            raise ValueError(f"order {self.order_id}: quantity must be > 0, got {self.quantity!r}")

    @property
    def signed_quantity(self) -> float:
        """The quantity with the side's sign: what the order adds to the position."""
        return self.side * self.quantity


@dataclass(frozen=True, slots=True, kw_only=True)
class Fill:
    """An order filled whole at one trade: the order's fields plus when, at what price and fee."""

    fill_id: str
    """Equal to the order's id: an order fills at most once."""
    symbol: str
    """The instrument."""
    side: int
    """+1 bought, -1 sold."""
    quantity: float
    """Units traded, > 0."""
    decision_us: int
    """When the order was decided, µs."""
    bar_minute_us: int
    """Start of the bar the decision was computed from, µs."""
    model_name: str
    """Registered model that made the decision."""
    model_version: str
    """Version of that model."""
    run_id: str
    """MLflow run id of that model version."""
    reason: str
    """The order's reason (``"signal"`` or ``"flatten"``)."""
    time_us: int
    """Time of the trade that filled the order, µs."""
    reference_price: float
    """The market price the fill rule picked (the trade's price), before costs."""
    price: float
    """The price paid or received, after spread and slippage (:meth:`CostModel.fill_price`)."""
    fee: float
    """Fee paid for the fill, >= 0, in the quote currency."""

    def __post_init__(self) -> None:
        if self.side not in (1, -1):
            raise ValueError(f"fill {self.fill_id}: side must be +1 or -1, got {self.side!r}")
        if not self.quantity > 0:
            raise ValueError(f"fill {self.fill_id}: quantity must be > 0, got {self.quantity!r}")
        if not self.price > 0:
            raise ValueError(f"fill {self.fill_id}: price must be > 0, got {self.price!r}")
        if not self.fee >= 0:
            raise ValueError(f"fill {self.fill_id}: fee must be >= 0, got {self.fee!r}")

    @property
    def order_id(self) -> str:
        """The id of the order this fill filled (the same as ``fill_id``)."""
        return self.fill_id

    @property
    def signed_quantity(self) -> float:
        """The quantity with the side's sign: what the fill adds to the position."""
        return self.side * self.quantity

    @property
    def notional(self) -> float:
        """Quantity × fill price, >= 0."""
        return self.quantity * self.price

    @classmethod
    def of(
        cls,
        order: Order,
        *,
        time_us: int,
        reference_price: float,
        price: float,
        fee: float,
        side: int | None = None,
        quantity: float | None = None,
    ) -> Fill:
        """The fill of ``order`` at the trade at ``time_us``; ``side`` and ``quantity`` the order's unless
        given (a broker that trades to a target position fills what the move takes)."""
        return cls(
            fill_id=order.order_id,
            symbol=order.symbol,
            side=order.side if side is None else side,
            quantity=order.quantity if quantity is None else quantity,
            decision_us=order.decision_us,
            bar_minute_us=order.bar_minute_us,
            model_name=order.model_name,
            model_version=order.model_version,
            run_id=order.run_id,
            reason=order.reason,
            time_us=time_us,
            reference_price=reference_price,
            price=price,
            fee=fee,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class FlattenIntent:
    """The kill switch's request to close one position: the executor turns it into an order."""

    order_id: str
    """:func:`flatten_order_id` of (symbol, mark time, ``"flatten"``)."""
    symbol: str
    """The instrument whose position is closed."""
    side: int
    """Opposite to the position's sign."""
    quantity: float
    """The position's size: the order leaves the position at zero."""
    mark_us: int
    """Time of the mark that tripped the kill switch, µs."""

    def order(self, *, model_name: str, model_version: str, run_id: str) -> Order:
        """The flatten order, attributed to the model the executor holds for the symbol."""
        return Order(
            order_id=self.order_id,
            symbol=self.symbol,
            side=self.side,
            quantity=self.quantity,
            decision_us=self.mark_us,
            bar_minute_us=self.mark_us - self.mark_us % US_PER_MINUTE,
            model_name=model_name,
            model_version=model_version,
            run_id=run_id,
            reason=FLATTEN,
        )
