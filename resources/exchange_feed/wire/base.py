"""What every venue's parser shares: the result records, the accumulating parser, and the per-batch
conversion of parsed columns into a tick table (see the package docstring for the design)."""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from trading_assets.core.ticks import TICK_SCHEMA

MAX_ID = 2**63 - 1
# Largest millisecond time whose microsecond value still fits in int64.
MAX_MS = (2**63 - 1) // 1_000
_RAW_SNIPPET = 80


@dataclass(frozen=True, slots=True, kw_only=True)
class MalformedFrame:
    """A frame (or one trade of it) that could not be parsed; goes to the dead-letter record."""

    venue: str
    """Venue whose feed sent it."""
    raw: bytes
    """The frame exactly as received."""
    reason: str
    """What was wrong, naming the field and the value."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ParsedBatch:
    """What a parser accumulated since the last :meth:`FrameParser.take`."""

    ticks: pa.Table
    """Parsed trades as a tick table (:data:`TICK_SCHEMA`), in arrival order."""
    malformed: tuple[MalformedFrame, ...]
    """Frames that could not be (fully) parsed, each with its reason."""
    venue_errors: tuple[str, ...] = ()
    """Error messages the venue sent (e.g. a rejected subscription); not ticks and not malformed."""
    frames: int = 0
    """Frames added, of every kind."""
    control_frames: int = 0
    """Frames that were acks or application pings: understood, but carrying no trades."""


def snippet(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _RAW_SNIPPET else text[: _RAW_SNIPPET - 3] + "..."


def as_bytes(frame: bytes | str) -> bytes:
    return frame.encode("utf-8", "backslashreplace") if isinstance(frame, str) else bytes(frame)


def type_name(value: Any) -> str:
    return "null" if value is None else type(value).__name__


class FrameParser(abc.ABC):
    """Accumulates the trades of many frames column-wise; not thread-safe (one reader thread)."""

    venue: str

    def __init__(self, venue: str) -> None:
        self.venue = venue
        self._malformed: list[MalformedFrame] = []
        self._venue_errors: list[str] = []
        self._frames = 0
        self._control = 0

    @abc.abstractmethod
    def add(self, frame: bytes | str, receive_time_us: int) -> int:
        """Parse one frame received at ``receive_time_us``; return how many trades it added. Never raises."""

    def add_many(self, frames: list[bytes], receive_time_us: int) -> int:
        """Parse frames received together at ``receive_time_us``, in order; return how many trades they
        added. Never raises. The same as :meth:`add` on each; venues may do it faster for many at once."""
        add = self.add
        return sum([add(frame, receive_time_us) for frame in frames])

    @abc.abstractmethod
    def pending(self) -> int:
        """Trades accumulated and not yet taken."""

    @abc.abstractmethod
    def _take_ticks(self) -> pa.Table:
        """Build the tick table of the accumulated trades and clear the columns."""

    def _uncounted_frames(self) -> int:
        """Frames added that did not count themselves in ``_frames`` (see BinanceFrameParser)."""
        return 0

    def take(self) -> ParsedBatch:
        """Return everything accumulated so far and start afresh."""
        frames = self._frames + self._uncounted_frames()
        batch = ParsedBatch(
            ticks=self._take_ticks(),
            malformed=tuple(self._malformed),
            venue_errors=tuple(self._venue_errors),
            frames=frames,
            control_frames=self._control,
        )
        self._malformed, self._venue_errors, self._frames, self._control = [], [], 0, 0
        return batch

    def _bad(self, frame: bytes | str, reason: str) -> int:
        self._malformed.append(MalformedFrame(venue=self.venue, raw=as_bytes(frame), reason=reason))
        return 0


def tick_table(
    venue: str,
    symbols: list[str],
    trade_ids: list[int] | np.ndarray,
    prices: list[float] | np.ndarray,
    quantities: list[float] | np.ndarray,
    sides: np.ndarray,
    trade_time_ms: list[int],
    event_time_ms: list[int],
    receive_time_us: list[int],
) -> pa.Table:
    n = len(symbols)
    trade_ms = int64_array(trade_time_ms)
    event_ms = trade_ms if event_time_ms is trade_time_ms else int64_array(event_time_ms)
    return pa.Table.from_arrays(
        [
            pa.repeat(pa.scalar(venue, pa.string()), n),
            string_column(symbols),
            pa.array(int64_array(trade_ids)),
            pa.array(prices, pa.float64()),
            pa.array(quantities, pa.float64()),
            pa.array(sides, pa.int8()),
            pa.array(trade_ms * 1_000),
            pa.array(event_ms * 1_000),
            pa.array(int64_array(receive_time_us)),
        ],
        schema=TICK_SCHEMA,
    )


def int64_array(values: list[int] | np.ndarray) -> np.ndarray:
    # np.fromiter is about a third cheaper per value than pa.array(list) or np.asarray(list).
    if isinstance(values, np.ndarray):
        return values.astype(np.int64, copy=False)
    return np.fromiter(values, np.int64, len(values))


def string_column(values: list[str]) -> pa.Array:
    # pa.array(list, pa.string()) costs about 0.5 us per value here, via large_string 0.05 us.
    return pa.array(values, pa.large_string()).cast(pa.string())


def maker_sides(buyer_is_maker: list[bool]) -> np.ndarray:
    # The buyer was the maker, so the seller crossed the spread: a SELL aggressor.
    makers = np.fromiter(buyer_is_maker, np.bool_, len(buyer_is_maker))
    return np.where(makers, np.int8(-1), np.int8(1)).astype(np.int8, copy=False)


def field_problem(obj: dict[str, Any], key: str, meaning: str, kind: str, where: str) -> str | None:
    """Why ``obj[key]`` is unusable as ``kind``, or ``None`` if it is fine (slow path only)."""
    if key not in obj:
        return f"{where}missing field {key!r} ({meaning})"
    value = obj[key]
    bad = f"{where}field {key!r} ({meaning}) = {snippet(value)}"
    if kind == "str":
        return None if type(value) is str and value else f"{bad} is not a non-empty string"
    if kind == "bool":
        return None if type(value) is bool else f"{bad} is {type_name(value)}, not a boolean"
    if kind in ("id", "ms"):
        if type(value) is not int:
            return f"{bad} is {type_name(value)}, not an integer"
        limit = MAX_ID if kind == "id" else MAX_MS
        low = 0 if kind == "id" else 1
        return None if low <= value <= limit else f"{bad} is out of range [{low}, {limit}]"
    if kind == "decimal":
        if type(value) is not str:
            return f"{bad} is {type_name(value)}, not a decimal string"
        try:
            float(value)
        except ValueError:
            return f"{bad} is not a decimal number"
        return None
    if kind == "number":
        if type(value) is not float and type(value) is not int:
            return f"{bad} is {type_name(value)}, not a number"
        return None
    raise AssertionError(f"unknown field kind {kind}")
