"""Validation of ticks: one record with a clear error, or a whole table split into good rows and rejects.

Rules (each rejection names the field, the value and the rule):
- price and quantity positive and finite;
- venue lower-case ``[a-z][a-z0-9_]*``; symbol upper-case letters/digits with ``.:/_-`` separators;
- timestamps in microseconds since epoch: seconds, milliseconds and nanoseconds are recognised by
  magnitude and converted (:func:`to_microseconds`); anything outside 2000-01-01 .. 2200-01-01 in every
  unit is rejected;
- trade time not further than ``max_future_us`` ahead of the receive time (default one hour).
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from trading_assets.core.ticks import TICK_SCHEMA, Side, Tick, conform

VENUE_PATTERN = r"^[a-z][a-z0-9_]{0,31}$"
SYMBOL_PATTERN = r"^[A-Z0-9]{1,24}([.:/_-][A-Z0-9]{1,24}){0,2}$"
_VENUE_RE = re.compile(VENUE_PATTERN)
_SYMBOL_RE = re.compile(SYMBOL_PATTERN)

# Plausible instants, 2000-01-01 .. 2200-01-01, expressed in each unit we recognise.
_MIN_SECONDS = 946_684_800
_MAX_SECONDS = 7_258_118_400
# (unit, ticks of that unit per second), smallest unit last.
_UNITS: tuple[tuple[str, int], ...] = (("s", 1), ("ms", 1_000), ("us", 1_000_000), ("ns", 1_000_000_000))
DEFAULT_MAX_FUTURE_US = 3_600 * 1_000_000


class TickValidationError(ValueError):
    """A tick broke a validation rule; the message names the field, the value and the rule."""


def detect_unit(value: int) -> str:
    """Name the unit ('s', 'ms', 'us' or 'ns') of an epoch timestamp, judged by its magnitude.

    Raises :class:`TickValidationError` when no unit puts it between 2000 and 2200.
    """
    for unit, per_second in _UNITS:
        if _MIN_SECONDS <= value // per_second < _MAX_SECONDS:
            return unit
    raise TickValidationError(
        f"timestamp {value} is not an epoch time between 2000 and 2200 in s, ms, us or ns"
    )


def _scale_to_us(values, per_second: int):  # type: ignore[no-untyped-def]
    # Divide or multiply, never both ways, so that no intermediate value overflows int64.
    if per_second <= 1_000_000:
        return values * (1_000_000 // per_second)
    return values // (per_second // 1_000_000)


def to_microseconds(value: int) -> int:
    """Normalise an epoch timestamp in s, ms, us or ns (detected by magnitude) to microseconds."""
    unit = detect_unit(int(value))
    return int(_scale_to_us(int(value), dict(_UNITS)[unit]))


def to_microseconds_array(values: np.ndarray) -> np.ndarray:
    """Vectorised :func:`to_microseconds`; values in no recognised unit become -1."""
    values = values.astype(np.int64, copy=False)
    if values.size and values.min() >= _MIN_SECONDS * 1_000_000 and values.max() < _MAX_SECONDS * 1_000_000:
        # All microseconds already (the common case, and the units' ranges do not overlap): a copy.
        return values.copy()
    out = np.full(values.shape, -1, dtype=np.int64)
    for _, per_second in _UNITS:
        seconds = values // per_second
        hit = (out < 0) & (seconds >= _MIN_SECONDS) & (seconds < _MAX_SECONDS)
        if hit.any():
            out[hit] = _scale_to_us(values[hit], per_second)
    return out


def validate_tick(tick: Tick, *, max_future_us: int = DEFAULT_MAX_FUTURE_US) -> Tick:
    """Return ``tick`` with its timestamps normalised to microseconds, or raise TickValidationError."""
    if not _VENUE_RE.match(tick.venue):
        raise TickValidationError(
            f"venue {tick.venue!r} is malformed: expected lower-case like 'binance' ({VENUE_PATTERN})"
        )
    if not _SYMBOL_RE.match(tick.symbol):
        raise TickValidationError(
            f"symbol {tick.symbol!r} is malformed: expected upper-case like 'BTCUSDT' or "
            f"'BINANCE:BTCUSDT' ({SYMBOL_PATTERN})"
        )
    for name in ("price", "quantity"):
        value = getattr(tick, name)
        if not (isinstance(value, int | float) and np.isfinite(value) and value > 0):
            raise TickValidationError(f"{name} {value!r} of {tick.symbol} must be positive and finite")
    if tick.trade_id is not None and tick.trade_id < 0:
        raise TickValidationError(f"trade_id {tick.trade_id} of {tick.symbol} must not be negative")
    times = {}
    for name in ("trade_time_us", "event_time_us", "receive_time_us"):
        try:
            times[name] = to_microseconds(getattr(tick, name))
        except TickValidationError as exc:
            raise TickValidationError(f"{name} of {tick.symbol}: {exc}") from None
    if times["trade_time_us"] - times["receive_time_us"] > max_future_us:
        raise TickValidationError(
            f"trade_time_us {times['trade_time_us']} of {tick.symbol} is "
            f"{(times['trade_time_us'] - times['receive_time_us']) / 1e6:.0f} s after its receive time; "
            f"at most {max_future_us / 1e6:.0f} s is allowed"
        )
    return dataclasses.replace(
        tick,
        side=Side(tick.side),
        trade_time_us=times["trade_time_us"],
        event_time_us=times["event_time_us"],
        receive_time_us=times["receive_time_us"],
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class Rejected:
    """One row a validation refused."""

    row: int
    """Index of the row in the table that was validated."""
    reason: str
    """Which rule it broke, naming the field and the value."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ValidatedBatch:
    """The result of :func:`validate_table`: the rows that passed, normalised, and those that did not."""

    valid: pa.Table
    """Rows that passed, with timestamps normalised to microseconds, in their original order."""
    rejected: tuple[Rejected, ...]
    """Rows that failed, each with its reason."""


def _malformed(column: pa.ChunkedArray, pattern: re.Pattern[str]) -> np.ndarray:
    """Rows of ``column`` (strings) that ``pattern`` does not match in full.

    Each distinct value is matched once, in Python: a batch carries a few symbols and venues, and Arrow's
    regex kernel compiles its pattern on every call (about 75 us, against 6 us for the distinct values).
    """
    bad_values = [v for v in pc.unique(column).to_pylist() if v is None or pattern.fullmatch(v) is None]
    if not bad_values:
        return np.zeros(len(column), dtype=bool)
    matched = pc.is_in(column, value_set=pa.array(bad_values, column.type))
    return np.asarray(matched.to_numpy(zero_copy_only=False), dtype=bool)


def validate_table(table: pa.Table, *, max_future_us: int = DEFAULT_MAX_FUTURE_US) -> ValidatedBatch:
    """Validate a tick table column-wise (cheap per row); return good rows and the rejected ones."""
    table = conform(table)
    n = table.num_rows
    bad = np.zeros(n, dtype=bool)
    reasons: dict[int, str] = {}

    def reject(mask: np.ndarray, describe) -> None:  # type: ignore[no-untyped-def]
        # Only the first broken rule of a row is reported; the per-row Python work is for bad rows only.
        if not mask.any():
            return
        for i in np.flatnonzero(mask & ~bad):
            reasons[int(i)] = describe(int(i))
        bad[mask] = True

    price = table.column("price").to_numpy()
    qty = table.column("quantity").to_numpy()
    symbols = table.column("symbol")
    venues = table.column("venue")
    reject(
        ~(np.isfinite(price) & (price > 0)),
        lambda i: f"price {float(price[i])!r} must be positive and finite",
    )
    reject(
        ~(np.isfinite(qty) & (qty > 0)), lambda i: f"quantity {float(qty[i])!r} must be positive and finite"
    )
    reject(
        _malformed(symbols, _SYMBOL_RE),
        lambda i: f"symbol {symbols[i].as_py()!r} is malformed ({SYMBOL_PATTERN})",
    )
    reject(
        _malformed(venues, _VENUE_RE), lambda i: f"venue {venues[i].as_py()!r} is malformed ({VENUE_PATTERN})"
    )
    side = table.column("side").to_numpy()
    reject((side < -1) | (side > 1), lambda i: f"side {int(side[i])} must be -1, 0 or 1")

    normalised = {}
    for name in ("trade_time_us", "event_time_us", "receive_time_us"):
        raw = table.column(name).to_numpy()
        us = to_microseconds_array(raw)
        reject(
            us < 0, lambda i, raw=raw, name=name: f"{name} {int(raw[i])} is not an epoch time in s/ms/us/ns"
        )
        normalised[name] = us
    ahead = normalised["trade_time_us"] - normalised["receive_time_us"]
    reject(
        (normalised["trade_time_us"] >= 0) & (normalised["receive_time_us"] >= 0) & (ahead > max_future_us),
        lambda i: (
            f"trade_time_us is {ahead[i] / 1e6:.0f} s after receive time (max {max_future_us / 1e6:.0f} s)"
        ),
    )

    # Most batches are all good: then the columns are kept as they are (a filter per column cost more
    # than the checks on a streamer's 20 ms batch).
    good = ~bad if bad.any() else None
    arrays = [
        pa.array(normalised[f.name] if good is None else normalised[f.name][good], f.type)
        if f.name in normalised
        else table.column(f.name)
        if good is None
        else table.column(f.name).filter(good)
        for f in TICK_SCHEMA
    ]
    valid = pa.Table.from_arrays(arrays, schema=TICK_SCHEMA)
    rejected = tuple(Rejected(row=i, reason=reasons[i]) for i in sorted(reasons))
    return ValidatedBatch(valid=valid, rejected=rejected)
