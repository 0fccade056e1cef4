"""The cost of a fill: taker fee, half the bid/ask spread, slippage, and the latency before the order.

One :class:`CostModel` serves the backtest, the labels of the training data and the paper executor, so
that a model is trained, judged and traded on the same costs. Every method accepts a Python float or a
numpy array (elementwise), and returns the same kind.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, overload

import numpy as np
import numpy.typing as npt

_BPS = 1e-4

FloatArray = npt.NDArray[np.float64]
Sides = npt.NDArray[np.integer[Any]] | npt.NDArray[np.floating[Any]]


@dataclass(frozen=True, slots=True, kw_only=True)
class CostModel:
    """Costs of one fill of a market order, in basis points of its notional."""

    fee_bps: float = 10.0
    """Taker fee per fill, in bps of the fill's notional (quantity × fill price)."""
    half_spread_bps: float = 1.0
    """Half the bid/ask spread in bps of the reference price: buys pay it above, sells receive it below."""
    slippage_bps: float = 1.0
    """Market impact in bps of the reference price, adverse like the spread (added for buys, subtracted for sells)."""
    latency_us: int = 0
    """Time from a decision to the order reaching the market, µs: the fill is the first price at or after it."""

    def __post_init__(self) -> None:
        for name in ("fee_bps", "half_spread_bps", "slippage_bps"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"CostModel.{name} must be finite and >= 0, got {value!r}")
        if self.latency_us < 0:
            raise ValueError(f"CostModel.latency_us must be >= 0, got {self.latency_us!r}")

    @property
    def adverse_fraction(self) -> float:
        """Spread plus slippage as a fraction of the reference price (0.0002 for 1 + 1 bps)."""
        return (self.half_spread_bps + self.slippage_bps) * _BPS

    @property
    def fee_fraction(self) -> float:
        """The fee as a fraction of a fill's notional (0.001 for 10 bps)."""
        return self.fee_bps * _BPS

    @overload
    def fill_price(self, reference_price: float, side: int) -> float: ...
    @overload
    def fill_price(self, reference_price: FloatArray, side: Sides | int) -> FloatArray: ...
    @overload
    def fill_price(self, reference_price: float, side: Sides) -> FloatArray: ...
    def fill_price(self, reference_price: float | FloatArray, side: Sides | int) -> float | FloatArray:
        """The price paid (``side`` +1, buy) or received (``side`` -1, sell) at ``reference_price``.

        ``reference_price`` is the market price the fill rule picks (a bar's open, or a trade's price);
        the spread and slippage move it against the trader: up for buys, down for sells.
        """
        # In place on the one new array: at millions of fills each temporary costs a pass over memory.
        price = np.sign(side) * self.adverse_fraction
        price += 1.0
        price *= reference_price
        return price

    @overload
    def fee(self, notional: float) -> float: ...
    @overload
    def fee(self, notional: FloatArray) -> FloatArray: ...
    def fee(self, notional: float | FloatArray) -> float | FloatArray:
        """The fee of a fill of ``notional`` (quantity × fill price; its sign is ignored)."""
        fee = np.abs(notional)
        fee *= self.fee_fraction
        return fee

    @property
    def round_trip_cost(self) -> float:
        """Cost of an entry plus an exit as a fraction of the entry notional, to first order.

        2 × (fee + half spread + slippage): what a label subtracts from a gross return so that a trade
        must earn more than it costs. The exact cost of a round trip differs by products of these
        fractions (about 1e-6 for the defaults), which is the backtest's business, not the label's.
        """
        return 2.0 * (self.fee_fraction + self.adverse_fraction)
