"""The risk engine's limits, its trading states, its persistent state, and the rule names of denials.

Split from :mod:`.risk` (the engine) so that the ledger and the CLI can read and write a
:class:`RiskState` without the engine's logic.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class TradingState(StrEnum):
    """What the risk engine lets through."""

    ACTIVE = "ACTIVE"
    """Every order that passes the limits."""
    REDUCING = "REDUCING"
    """Only orders after which the position is no larger and of the same sign (never grows, never flips)."""
    HALTED = "HALTED"
    """No order but the kill switch's flatten orders; latched until a person resets it."""


class Rule(StrEnum):
    """The stable names of the rules that deny an order (recorded with every denial)."""

    HALTED = "halted"
    """The engine is HALTED (the kill switch tripped and nobody reset it)."""
    REDUCING_ONLY = "reducing_only"
    """The engine is REDUCING (daily loss limit) and the order would grow or flip the position."""
    STALE_DATA = "stale_data"
    """The last tick is older than the stale-data limit (or there was none)."""
    STALE_MODEL = "stale_model"
    """No model is loaded, or it was loaded longer ago than the stale-model limit."""
    NO_PRICE = "no_price"
    """The symbol has no known price, so the order's notional cannot be checked."""
    ORDER_NOTIONAL = "order_notional"
    """The order's notional is above the max order notional."""
    POSITION_LIMIT = "position_limit"
    """The position's notional after the order would be above the per-symbol limit, and larger than before."""
    GROSS_EXPOSURE = "gross_exposure"
    """Gross exposure after the order would be above its limit, and larger than before."""
    NET_EXPOSURE = "net_exposure"
    """|Net exposure| after the order would be above its limit, and larger than before."""
    ORDER_RATE = "order_rate"
    """The throttle: as many orders as allowed were already admitted in the rolling window."""


DAILY_LOSS = "daily_loss"
"""Reason recorded when the daily loss limit moves the engine to REDUCING."""
KILL_SWITCH = "kill_switch"
"""Reason recorded when the drawdown kill switch halts the engine."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RiskLimits:
    """The risk engine's limits. Notionals are in the quote currency at the symbol's latest price.

    A limit set to None is not checked. The defaults suit the default model capital of 100,000 per
    symbol (a flip trades twice the capital in one order).
    """

    max_position_notional: float | None = 150_000.0
    """Per symbol: |position after the order| × price may not exceed this (notional, not units: comparable across symbols)."""
    max_gross_exposure: float | None = 1_000_000.0
    """Σ over symbols of |position| × price after the order may not exceed this."""
    max_net_exposure: float | None = 500_000.0
    """|Σ over symbols of position × price| after the order may not exceed this."""
    max_order_notional: float | None = 250_000.0
    """An order's quantity × price may not exceed this."""
    max_orders_per_window: int | None = 20
    """Throttle: at most this many orders admitted in any rolling ``order_window_seconds``."""
    order_window_seconds: float = 60.0
    """Length of the throttle's rolling window, seconds."""
    daily_loss_limit: float | None = 0.05
    """Fraction of the UTC day's start equity: losing at least this much moves ACTIVE to REDUCING for the day."""
    stale_data_seconds: float | None = 60.0
    """No trading when the last tick is older than this many seconds."""
    stale_model_seconds: float | None = 3_600.0
    """No trading when the model was loaded (or last confirmed current) longer ago than this many seconds."""
    kill_switch_drawdown: float | None = 0.10
    """Drawdown from the equity high-water mark, as a fraction, above which a mark counts as breaching."""
    kill_switch_marks: int = 3
    """Consecutive breaching marks that trip the kill switch (a mark that does not breach resets the count)."""

    def __post_init__(self) -> None:
        for name in (
            "max_position_notional",
            "max_gross_exposure",
            "max_net_exposure",
            "max_order_notional",
            "daily_loss_limit",
            "stale_data_seconds",
            "stale_model_seconds",
            "kill_switch_drawdown",
        ):
            value = getattr(self, name)
            if value is not None and not value >= 0:
                raise ValueError(f"RiskLimits.{name} must be >= 0 or None, got {value!r}")
        if self.max_orders_per_window is not None and self.max_orders_per_window < 0:
            raise ValueError(
                f"RiskLimits.max_orders_per_window must be >= 0, got {self.max_orders_per_window}"
            )
        if not self.order_window_seconds > 0:
            raise ValueError(f"RiskLimits.order_window_seconds must be > 0, got {self.order_window_seconds}")
        if self.kill_switch_marks < 1:
            raise ValueError(f"RiskLimits.kill_switch_marks must be >= 1, got {self.kill_switch_marks}")


@dataclass(frozen=True, slots=True, kw_only=True)
class RiskDecision:
    """The risk engine's answer about one order."""

    allowed: bool
    """Whether the order may be sent to the broker."""
    rule: str | None
    """The :class:`Rule` that denied it (None when allowed)."""
    detail: str
    """Human-readable reason, with the numbers that decided."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RiskReset:
    """A person's release of a latched HALTED state."""

    who: str
    """Who reset it."""
    why: str
    """Why they did."""
    time_us: int
    """When, µs."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RiskState:
    """Everything the risk engine must remember across restarts (the ledger saves it)."""

    state: TradingState = TradingState.ACTIVE
    """The trading state."""
    latched: bool = False
    """True once the kill switch tripped, until :meth:`RiskEngine.reset`: HALTED stays HALTED."""
    reason: str | None = None
    """Why the state is not ACTIVE (``"daily_loss"``, ``"kill_switch"``)."""
    halted_us: int | None = None
    """When the kill switch tripped, µs."""
    high_water_mark: float | None = None
    """Highest marked equity since start or the last reset."""
    last_equity: float | None = None
    """Equity of the latest mark."""
    consecutive_breaches: int = 0
    """Marks in a row whose drawdown was above the kill switch's threshold."""
    day: int | None = None
    """The current UTC day (days since epoch)."""
    day_start_equity: float | None = None
    """Equity at the start of ``day``: its first mark (or the latest equity when an order came first)."""
    recent_orders_us: tuple[int, ...] = ()
    """Times of the orders admitted within the throttle's window, ascending."""
    resets: tuple[RiskReset, ...] = ()
    """Every reset, oldest first."""
