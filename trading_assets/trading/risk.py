"""The risk engine between the executor's decisions and the broker: limits on every order, trading states,
the daily loss limit and the latched drawdown kill switch.

Every order goes through :meth:`RiskEngine.check`, which answers with a :class:`RiskDecision` naming the
:class:`Rule` that denied it. The rules, in the order they are checked:

1. a flatten order (reason ``"flatten"``) that closes its position exactly is always admitted, in every
   state and past every other rule: it can only reduce risk, and it is how the kill switch's flatten
   orders pass a HALTED engine (they are the only orders HALTED admits);
2. ``halted``: HALTED admits nothing else;
3. ``reducing_only``: REDUCING admits only orders after which the position is no larger and of the same
   sign (or flat): an order on a flat position, a growing one or a flip is denied;
4. ``stale_data`` and ``stale_model``: no trading on an old last tick, or without a fresh model;
5. ``no_price``, ``order_notional``, ``position_limit``, ``gross_exposure``, ``net_exposure``: notionals at
   the symbol's latest price in the portfolio. The per-symbol limit is in notional rather than units, so
   one number fits symbols of any price. The position and exposure limits deny only an order that
   makes its measure both above the limit and larger than before: an order that reduces an exposure
   already above its limit (say, after the price rose) is never blocked;
6. ``order_rate``: at most N admitted orders in any rolling window (denied orders do not count).

States. ACTIVE trades within the limits. The daily loss limit moves ACTIVE to REDUCING when the equity
has lost the limit's fraction of the UTC day's start equity; the first mark or order of a new UTC day
starts ACTIVE again, unless latched. The kill switch (:meth:`RiskEngine.on_mark`) trips when the
drawdown from the equity high-water mark is above its threshold for N consecutive marks (a mark not
above it resets the count): it latches HALTED and returns the :class:`FlattenIntent` of every open
position. The latch is part of :class:`RiskState` and survives save and restore; only
:meth:`RiskEngine.reset` (who, why) releases it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from trading_assets.core.time import US_PER_SECOND, day_of
from trading_assets.trading.orders import FLATTEN, FlattenIntent, Order, flatten_order_id
from trading_assets.trading.portfolio import EquitySnapshot, Portfolio
from trading_assets.trading.risk_state import (
    DAILY_LOSS,
    KILL_SWITCH,
    RiskDecision,
    RiskLimits,
    RiskReset,
    RiskState,
    Rule,
    TradingState,
)

log = logging.getLogger(__name__)

_ZERO_TOLERANCE = 1e-12  # relative, as in the portfolio: a position this close to zero is flat


def _after(before: float, delta: float) -> float:
    after = before + delta
    return 0.0 if abs(after) <= _ZERO_TOLERANCE * max(abs(before), abs(delta)) else after


def _reduces(before: float, after: float) -> bool:
    """Whether ``after`` is no larger than ``before`` and of the same sign (flat counts)."""
    if after == 0.0:
        return True
    return (after > 0) == (before > 0) and before != 0.0 and abs(after) <= abs(before)


def _deny(rule: Rule, detail: str) -> RiskDecision:
    return RiskDecision(allowed=False, rule=rule, detail=detail)


class RiskEngine:
    """Checks every order against :class:`RiskLimits`, keeps the trading state and runs the kill switch."""

    def __init__(self, limits: RiskLimits | None = None, state: RiskState | None = None) -> None:
        self.limits = limits if limits is not None else RiskLimits()
        s = state if state is not None else RiskState()
        self._state = s.state
        self._latched = s.latched
        self._reason = s.reason
        self._halted_us = s.halted_us
        self._hwm = s.high_water_mark
        self._last_equity = s.last_equity
        self._breaches = s.consecutive_breaches
        self._day = s.day
        self._day_start_equity = s.day_start_equity
        self._recent: list[int] = list(s.recent_orders_us)
        self._resets: list[RiskReset] = list(s.resets)

    # -- state ---------------------------------------------------------------------------------------

    @property
    def state(self) -> TradingState:
        """The current trading state."""
        return self._state

    @property
    def latched(self) -> bool:
        """Whether the kill switch's latch holds the engine HALTED."""
        return self._latched

    def save(self) -> RiskState:
        """Everything the engine remembers, frozen (for the ledger)."""
        return RiskState(
            state=self._state,
            latched=self._latched,
            reason=self._reason,
            halted_us=self._halted_us,
            high_water_mark=self._hwm,
            last_equity=self._last_equity,
            consecutive_breaches=self._breaches,
            day=self._day,
            day_start_equity=self._day_start_equity,
            recent_orders_us=tuple(self._recent),
            resets=tuple(self._resets),
        )

    @classmethod
    def restore(cls, state: RiskState, limits: RiskLimits | None = None) -> RiskEngine:
        """An engine that continues from ``state`` (a latched HALTED stays HALTED)."""
        return cls(limits, state)

    def _roll_day(self, day: int, equity: float) -> None:
        if self._day is not None and day <= self._day:
            return
        self._day = day
        self._day_start_equity = equity
        if self._state is TradingState.REDUCING and not self._latched:
            log.info("new UTC day %d: REDUCING -> ACTIVE", day)
            self._state, self._reason = TradingState.ACTIVE, None

    def _check_daily_loss(self, equity: float) -> None:
        limit, start = self.limits.daily_loss_limit, self._day_start_equity
        if self._state is not TradingState.ACTIVE or limit is None or start is None or start <= 0:
            return
        if start - equity >= limit * start:
            log.warning(
                "daily loss limit: equity %.2f from %.2f at the day's start -> REDUCING", equity, start
            )
            self._state, self._reason = TradingState.REDUCING, DAILY_LOSS

    # -- orders --------------------------------------------------------------------------------------

    def check(
        self,
        order: Order,
        portfolio: Portfolio,
        *,
        now_us: int,
        last_tick_us: int | None,
        model_loaded_us: int | None,
    ) -> RiskDecision:
        """Whether ``order`` may go to the broker now; an admitted order counts toward the throttle.

        ``last_tick_us`` is the time of the latest tick seen (None: none yet); ``model_loaded_us`` when
        the model was loaded or last confirmed current in the registry (None: no model).
        """
        equity = portfolio.equity()
        self._roll_day(day_of(now_us), equity)
        self._check_daily_loss(equity)
        limits = self.limits
        before = portfolio.quantity(order.symbol)
        after = _after(before, order.signed_quantity)
        if order.reason == FLATTEN and before != 0.0 and after == 0.0:
            return RiskDecision(allowed=True, rule=None, detail=f"flatten closes {order.symbol} {before:g}")
        if self._state is TradingState.HALTED:
            return _deny(Rule.HALTED, f"HALTED by {self._reason} at {self._halted_us}; needs a reset")
        if self._state is TradingState.REDUCING and not _reduces(before, after):
            return _deny(
                Rule.REDUCING_ONLY,
                f"REDUCING ({self._reason}): {order.symbol} {before:g} -> {after:g} grows or flips",
            )
        if limits.stale_data_seconds is not None:
            max_age = limits.stale_data_seconds * US_PER_SECOND
            if last_tick_us is None or now_us - last_tick_us > max_age:
                return _deny(
                    Rule.STALE_DATA, f"last tick at {last_tick_us}, now {now_us}: older than {max_age:g} µs"
                )
        if limits.stale_model_seconds is not None:
            max_age = limits.stale_model_seconds * US_PER_SECOND
            if model_loaded_us is None:
                return _deny(Rule.STALE_MODEL, "no model loaded")
            if now_us - model_loaded_us > max_age:
                return _deny(
                    Rule.STALE_MODEL,
                    f"model loaded at {model_loaded_us}, now {now_us}: older than {max_age:g} µs",
                )
        decision = self._check_notionals(order, portfolio, before, after)
        if decision is not None:
            return decision
        if limits.max_orders_per_window is not None:
            window_start = now_us - int(limits.order_window_seconds * US_PER_SECOND)
            self._recent = [t for t in self._recent if t > window_start]
            if len(self._recent) >= limits.max_orders_per_window:
                return _deny(
                    Rule.ORDER_RATE,
                    f"{len(self._recent)} orders in the last {limits.order_window_seconds:g} s "
                    f"(max {limits.max_orders_per_window})",
                )
            self._recent.append(now_us)
        return RiskDecision(allowed=True, rule=None, detail="within limits")

    def _check_notionals(
        self, order: Order, portfolio: Portfolio, before: float, after: float
    ) -> RiskDecision | None:
        limits = self.limits
        if (
            limits.max_order_notional is None
            and limits.max_position_notional is None
            and limits.max_gross_exposure is None
            and limits.max_net_exposure is None
        ):
            return None
        price = portfolio.last_price(order.symbol)
        if price is None:
            return _deny(Rule.NO_PRICE, f"no known price for {order.symbol}")
        notional = order.quantity * price
        if limits.max_order_notional is not None and notional > limits.max_order_notional:
            return _deny(
                Rule.ORDER_NOTIONAL, f"order notional {notional:.2f} > {limits.max_order_notional:g}"
            )
        position = abs(after) * price
        if (
            limits.max_position_notional is not None
            and position > limits.max_position_notional
            and abs(after) > abs(before)
        ):
            return _deny(
                Rule.POSITION_LIMIT,
                f"{order.symbol} position notional {position:.2f} > {limits.max_position_notional:g}",
            )
        gross_before, net_before = portfolio.exposures()
        gross_after = gross_before + (abs(after) - abs(before)) * price
        if (
            limits.max_gross_exposure is not None
            and gross_after > limits.max_gross_exposure
            and gross_after > gross_before
        ):
            return _deny(
                Rule.GROSS_EXPOSURE, f"gross exposure {gross_after:.2f} > {limits.max_gross_exposure:g}"
            )
        net_after = net_before + (after - before) * price
        if (
            limits.max_net_exposure is not None
            and abs(net_after) > limits.max_net_exposure
            and abs(net_after) > abs(net_before)
        ):
            return _deny(
                Rule.NET_EXPOSURE, f"net exposure {net_after:.2f} beyond ±{limits.max_net_exposure:g}"
            )
        return None

    # -- marks and the kill switch -------------------------------------------------------------------

    def on_mark(self, snapshot: EquitySnapshot) -> tuple[FlattenIntent, ...]:
        """Track the high-water mark, the daily loss and the kill switch on each equity mark.

        Returns the flatten intents of every open position on the mark that trips the kill switch, and
        nothing otherwise (nor on later marks; :meth:`flatten_intents` gives them again after a restart).
        The engine keeps its own high-water mark (not the snapshot's): a reset restarts it.
        """
        equity = snapshot.equity
        self._roll_day(day_of(snapshot.time_us), equity)
        self._last_equity = equity
        if self._latched:
            return ()
        self._hwm = equity if self._hwm is None else max(self._hwm, equity)
        threshold = self.limits.kill_switch_drawdown
        drawdown = (self._hwm - equity) / self._hwm if self._hwm > 0 else 0.0
        if threshold is not None and drawdown > threshold:
            self._breaches += 1
        else:
            self._breaches = 0
        if self._breaches >= self.limits.kill_switch_marks:
            log.error(
                "kill switch: drawdown %.4f > %.4f for %d marks -> HALTED (latched), flattening",
                drawdown,
                threshold,
                self._breaches,
            )
            self._state, self._latched, self._reason = TradingState.HALTED, True, KILL_SWITCH
            self._halted_us = snapshot.time_us
            return self.flatten_intents(snapshot.positions)
        self._check_daily_loss(equity)
        return ()

    def flatten_intents(self, positions: Iterable[tuple[str, float]]) -> tuple[FlattenIntent, ...]:
        """The flatten intents of the open ``positions`` (symbol, signed quantity) while latched, else ().

        Their ids come from the mark that tripped the switch, so an executor that restarts after the
        trip gets the same ids again from its restored portfolio's positions and places each at most once.
        """
        if not self._latched or self._halted_us is None:
            return ()
        mark_us = self._halted_us
        return tuple(
            FlattenIntent(
                order_id=flatten_order_id(symbol, mark_us, FLATTEN),
                symbol=symbol,
                side=-1 if quantity > 0 else 1,
                quantity=abs(quantity),
                mark_us=mark_us,
            )
            for symbol, quantity in sorted(positions)
            if quantity != 0.0
        )

    def reset(self, who: str, why: str, now_us: int) -> RiskReset:
        """Release a latched HALTED state (the only way out of it), recorded with who and why.

        The high-water mark restarts at the latest equity, so the drawdown that tripped the switch does
        not trip it again. A reset while not latched is recorded and changes nothing else.
        """
        if not who.strip() or not why.strip():
            raise ValueError("a risk reset needs who and why (both non-empty)")
        record = RiskReset(who=who, why=why, time_us=now_us)
        self._resets.append(record)
        if self._latched:
            log.warning("risk reset by %s (%s): HALTED -> ACTIVE", who, why)
            self._state, self._latched, self._reason, self._halted_us = TradingState.ACTIVE, False, None, None
            self._breaches = 0
            self._hwm = self._last_equity
        return record
