"""The vectorised backtester: one symbol's bars and a signal per bar -> fills, cash, position, equity.

Semantics (all from :mod:`trading_assets.trading`, the model the executor shares):

- The signal of bar ``i`` is decided at its close and fills at the open of bar
  ``bar_fill_index(minute_us, latency_us)[i]``, never bar ``i`` itself; the last bar's signal (and any
  whose fill would come after the last bar) does not fill. Decisions landing on the same fill bar are
  netted: the latest one's target counts.
- The target exposure is ``signal × capital``; when the target changes, one fill moves the position to
  ``target_quantity(signal, capital, open)`` (a flip from long to short is one fill of both sizes),
  priced by ``CostModel.fill_price`` and charged ``CostModel.fee``, and the quantity is then held.
- Cash starts at ``capital``; each fill adds ``-quantity × price - fee`` (signed quantity). Equity is
  marked at each bar's close: ``cash + position × close``. Position, cash and equity of a bar are after
  that bar's fill (fills happen at its open) and before any later one.

Everything is a fixed number of numpy passes over the bars and fills, no loop per bar (bench/models.py,
10M bars on this 2-core VM: 9.2M bars/s with a new random signal every bar, i.e. 6.7M fills, best of
3 runs; 4.5M bars/s on a process's first run, whose memory comes fresh from the kernel; 24M bars/s
with signals held about 60 bars).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from trading_assets.backtest.metrics import BacktestMetrics, compute_metrics
from trading_assets.trading.costs import CostModel
from trading_assets.trading.fills import bar_fill_index, bars_filling_later, target_quantity

CHUNK = 1 << 20
"""Bars per chunk of the per-bar pass: its temporaries (8 MB) stay in the allocator's reused memory."""

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Fills:
    """The fills of a backtest, one element per fill, in time order (parallel arrays)."""

    time_us: IntArray
    """When it filled: the start (``minute_us``) of the bar whose open is the reference price."""
    bar_index: npt.NDArray[np.intp]
    """Index of that bar in the backtest's bars."""
    side: npt.NDArray[np.int8]
    """+1 buy, -1 sell."""
    quantity: FloatArray
    """Units traded, positive (a flip trades the old and the new position in one fill)."""
    reference_price: FloatArray
    """The market price before costs: the bar's open."""
    price: FloatArray
    """The price paid or received: ``CostModel.fill_price(reference_price, side)``."""
    fee: FloatArray
    """``CostModel.fee(quantity × price)``."""
    position: FloatArray
    """Signed units held after the fill."""

    def __len__(self) -> int:
        return len(self.time_us)


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class BacktestResult:
    """A backtest's per-bar state, its fills and its metrics."""

    minute_us: IntArray
    """The bars' starts, as given."""
    position: FloatArray
    """Signed units held during each bar (after a fill at its open)."""
    cash: FloatArray
    """Cash at each bar's close."""
    equity: FloatArray
    """Cash plus position marked at each bar's close."""
    fills: Fills
    """Every fill, in time order."""
    metrics: BacktestMetrics
    """Scores of the equity curve and fills."""
    capital: float
    """Starting cash, and the notional of a full position."""
    costs: CostModel = field(default_factory=CostModel)
    """The fill and cost model the backtest ran with."""


def _check_inputs(
    minute_us: IntArray, open_: FloatArray, close: FloatArray, signal: npt.NDArray[np.integer], capital: float
) -> None:
    n = len(minute_us)
    for name, array in (("minute_us", minute_us), ("open", open_), ("close", close), ("signal", signal)):
        if array.ndim != 1 or len(array) != n:
            raise ValueError(f"{name} must be 1-D with {n} elements like minute_us, got shape {array.shape}")
    if not (math.isfinite(capital) and capital > 0):
        raise ValueError(f"capital must be finite and > 0, got {capital!r}")
    if n > 1 and not bool(np.all(minute_us[1:] > minute_us[:-1])):
        raise ValueError("minute_us must be strictly ascending (one bar per minute of one symbol)")
    if n and not (bool(np.all(np.isfinite(open_) & (open_ > 0))) and bool(np.all(np.isfinite(close)))):
        raise ValueError("open must be finite and > 0 and close finite on every bar")
    if not (np.issubdtype(signal.dtype, np.integer) or signal.dtype == np.bool_):
        raise TypeError(f"signal must be an integer array (-1, 0, +1), got dtype {signal.dtype}")
    if n and (int(signal.min()) < -1 or int(signal.max()) > 1):
        raise ValueError("signal must be in {-1, 0, +1}")


def run_backtest(
    minute_us: IntArray,
    open_: FloatArray,
    close: FloatArray,
    signal: npt.NDArray[np.integer],
    *,
    costs: CostModel,
    capital: float,
    allow_short: bool = False,
    bars_per_year: int | None = None,
) -> BacktestResult:
    """Backtest ``signal`` (one per bar, in {-1, 0, +1}) on one symbol's bars; see the module doc.

    ``minute_us`` is strictly ascending (minutes without a bar may be missing), ``open_`` and ``close``
    are the bars' prices. Without ``allow_short`` a signal of -1 means flat (a long-only strategy reads
    "sell" as "hold nothing"). ``bars_per_year`` overrides the metrics' annualisation (default one bar
    per minute all year, :data:`trading_assets.backtest.metrics.BARS_PER_YEAR`).
    """
    minute_us = np.asarray(minute_us, dtype=np.int64)
    open_ = np.asarray(open_, dtype=np.float64)
    close = np.asarray(close, dtype=np.float64)
    signal = np.asarray(signal)
    _check_inputs(minute_us, open_, close, signal, capital)
    n = len(minute_us)
    wanted = signal.astype(np.int8) if allow_short else np.maximum(signal, 0).astype(np.int8)
    target = _target_per_bar(minute_us, wanted, costs.latency_us)

    changed = np.empty(n, dtype=bool)
    changed[:1] = target[:1] != 0
    np.not_equal(target[1:], target[:-1], out=changed[1:])
    bars = np.flatnonzero(changed)

    # Per fill (K of them), in place where possible: on this VM every fresh array of millions of
    # elements costs a pass over memory in page faults. `held` and the cash after each fill live in buffers with
    # one leading element, the state before any fill, which the per-bar pass indexes as fill 0.
    k = len(bars)
    new_target = target[bars]
    side = np.empty(k, dtype=np.int8)
    side[:1] = new_target[:1]
    np.subtract(new_target[1:], new_target[:-1], out=side[1:])
    np.sign(side, out=side)
    reference = open_[bars]
    held_from = np.empty(k + 1, dtype=np.float64)
    held_from[0] = 0.0
    held = held_from[1:]
    held[:] = target_quantity(new_target, capital, reference)
    cash_from = np.empty(k + 1, dtype=np.float64)
    cash_from[0] = capital
    traded = cash_from[1:]  # the units traded, then the cash flow, then the cash after each fill
    traded[:1] = held[:1]
    np.subtract(held[1:], held[:-1], out=traded[1:])
    price = costs.fill_price(reference, side)
    quantity = np.abs(traded)
    fee = costs.fee(quantity * price)
    np.multiply(traded, price, out=traded)
    traded += fee
    np.negative(traded, out=traded)
    np.cumsum(traded, out=traded)
    cash_from[1:] += capital

    position, cash, equity = _per_bar(changed, held_from, cash_from, close)

    fills = Fills(
        time_us=minute_us[bars],
        bar_index=bars,
        side=side,
        quantity=quantity,
        reference_price=reference,
        price=price,
        fee=fee,
        position=held,
    )
    metrics = compute_metrics(
        equity=equity,
        position=position,
        fill_quantity=fills.quantity,
        fill_price=price,
        fill_fee=fee,
        fill_position=held,
        capital=capital,
        **({} if bars_per_year is None else {"bars_per_year": bars_per_year}),
    )
    return BacktestResult(
        minute_us=minute_us,
        position=position,
        cash=cash,
        equity=equity,
        fills=fills,
        metrics=metrics,
        capital=float(capital),
        costs=costs,
    )


def _per_bar(
    changed: npt.NDArray[np.bool_], held_from: FloatArray, cash_from: FloatArray, close: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Position, cash and equity per bar: each fill's position and cash hold until the next fill.

    ``held_from`` and ``cash_from`` hold the state before any fill at index 0, after fill ``k`` at
    ``k + 1``.

    In chunks of :data:`CHUNK` bars with small reused temporaries: on this VM, fresh memory (page faults
    and zeroing by the kernel) cost more than the arithmetic when every temporary had 10M elements.
    """
    n = len(changed)
    position = np.empty(n, dtype=np.float64)
    cash = np.empty(n, dtype=np.float64)
    equity = np.empty(n, dtype=np.float64)
    fills_before = 0
    for start in range(0, n, CHUNK):
        stop = min(start + CHUNK, n)
        # Number of fills so far; cumsum over an int8 view: cumsum of bool to intp is 3x slower.
        fills_so_far = np.cumsum(changed[start:stop].view(np.int8), dtype=np.intp)
        fills_so_far += fills_before
        fills_before = int(fills_so_far[-1])
        held_from.take(fills_so_far, out=position[start:stop])
        cash_from.take(fills_so_far, out=cash[start:stop])
        np.multiply(position[start:stop], close[start:stop], out=equity[start:stop])
        equity[start:stop] += cash[start:stop]
    return position, cash, equity


def _target_per_bar(
    minute_us: IntArray, wanted: npt.NDArray[np.int8], latency_us: int
) -> npt.NDArray[np.int8]:
    """The target signal in force during each bar: set at the fill bar of the latest decision landing there."""
    n = len(minute_us)
    target = np.zeros(n, dtype=np.int8)
    if n < 2:
        return target
    if bars_filling_later(minute_us, latency_us).size == 0:
        # Every decision fills at the next bar's open (always so without latency): a shift.
        target[1:] = wanted[:-1]
        return target
    fill_at = bar_fill_index(minute_us, latency_us)
    latest = np.ones(n, dtype=bool)
    latest[:-1] = fill_at[1:] != fill_at[:-1]  # fill_at never decreases: the last of each run counts
    latest &= fill_at < n
    target[fill_at[latest]] = wanted[latest]
    # Bars receiving no decision (the latency skipped them) keep the target of the bar before; bar 0
    # never receives one, its 0 is the starting state.
    has_decision = np.zeros(n, dtype=bool)
    has_decision[fill_at[latest]] = True
    source = np.where(has_decision, np.arange(n), 0)
    np.maximum.accumulate(source, out=source)
    return target[source]
