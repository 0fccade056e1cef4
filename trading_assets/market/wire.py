"""Parsing of venue wire frames into tick tables: pure, columnar and cheap per tick.

A websocket feed reads tens of thousands of frames a second (FACTS.md), so the per-frame work here is one
``orjson.loads``, a handful of type checks and list appends. Everything else (time scaling, side mapping,
content keys, Arrow conversion) happens once per batch in :meth:`FrameParser.take`.

Frames that cannot be parsed never raise: each becomes a :class:`MalformedFrame` whose reason names the
field and the value at fault, and the other frames of the batch parse as usual. Value rules (positive
price, plausible times) are :mod:`trading_assets.market.validation`'s job, not the parser's.

Formats (public documentation, see FACTS.md):
- Binance trade stream, raw or wrapped by a combined stream ``{"stream": .., "data": {...}}``:
  ``{"e":"trade","E":ms,"s":"BTCUSDT","t":id,"p":"str","q":"str","T":ms,"m":buyer_is_maker,"M":true}``;
  subscription acks ``{"result":null,"id":1}``; errors ``{"error":{"code":..,"msg":..},"id":..}``.
- Binance REST ``historicalTrades``: ``[{"id","price","qty","quoteQty","time","isBuyerMaker","isBestMatch"}]``.
- Finnhub: ``{"type":"trade","data":[{"p":float,"s":"BINANCE:BTCUSDT","t":ms,"v":float,"c":..}]}``,
  ``{"type":"ping"}`` and ``{"type":"error","msg":..}``.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson
import pyarrow as pa

from trading_assets.market.ticks import TICK_SCHEMA, content_trade_ids

_MAX_ID = 2**63 - 1
# Largest millisecond time whose microsecond value still fits in int64.
_MAX_MS = (2**63 - 1) // 1_000
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


def _snippet(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _RAW_SNIPPET else text[: _RAW_SNIPPET - 3] + "..."


def _as_bytes(frame: bytes | str) -> bytes:
    return frame.encode("utf-8", "backslashreplace") if isinstance(frame, str) else bytes(frame)


def _type_name(value: Any) -> str:
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
        self._malformed.append(MalformedFrame(venue=self.venue, raw=_as_bytes(frame), reason=reason))
        return 0


def _tick_table(
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
    trade_ms = _int64(trade_time_ms)
    event_ms = trade_ms if event_time_ms is trade_time_ms else _int64(event_time_ms)
    return pa.Table.from_arrays(
        [
            pa.repeat(pa.scalar(venue, pa.string()), n),
            _string_column(symbols),
            pa.array(_int64(trade_ids)),
            pa.array(prices, pa.float64()),
            pa.array(quantities, pa.float64()),
            pa.array(sides, pa.int8()),
            pa.array(trade_ms * 1_000),
            pa.array(event_ms * 1_000),
            pa.array(_int64(receive_time_us)),
        ],
        schema=TICK_SCHEMA,
    )


def _int64(values: list[int] | np.ndarray) -> np.ndarray:
    # np.fromiter is about a third cheaper per value than pa.array(list) or np.asarray(list).
    if isinstance(values, np.ndarray):
        return values.astype(np.int64, copy=False)
    return np.fromiter(values, np.int64, len(values))


def _string_column(values: list[str]) -> pa.Array:
    # pa.array(list, pa.string()) costs about 0.5 us per value here, via large_string 0.05 us.
    return pa.array(values, pa.large_string()).cast(pa.string())


def _maker_sides(buyer_is_maker: list[bool]) -> np.ndarray:
    # The buyer was the maker, so the seller crossed the spread: a SELL aggressor.
    makers = np.fromiter(buyer_is_maker, np.bool_, len(buyer_is_maker))
    return np.where(makers, np.int8(-1), np.int8(1)).astype(np.int8, copy=False)


_BINANCE_TYPES = (str, int, str, str, int, int, bool)
"""Types of the fields s, t, p, q, T, E, m of a well-formed Binance trade event."""

# (field, meaning, kind) of a Binance trade event, in the order the slow path checks them.
_BINANCE_FIELDS: tuple[tuple[str, str, str], ...] = (
    ("s", "symbol", "str"),
    ("t", "trade id", "id"),
    ("p", "price", "decimal"),
    ("q", "quantity", "decimal"),
    ("T", "trade time", "ms"),
    ("E", "event time", "ms"),
    ("m", "buyer-is-maker flag", "bool"),
)


def _field_problem(obj: dict[str, Any], key: str, meaning: str, kind: str, where: str) -> str | None:
    """Why ``obj[key]`` is unusable as ``kind``, or ``None`` if it is fine (slow path only)."""
    if key not in obj:
        return f"{where}missing field {key!r} ({meaning})"
    value = obj[key]
    bad = f"{where}field {key!r} ({meaning}) = {_snippet(value)}"
    if kind == "str":
        return None if type(value) is str and value else f"{bad} is not a non-empty string"
    if kind == "bool":
        return None if type(value) is bool else f"{bad} is {_type_name(value)}, not a boolean"
    if kind in ("id", "ms"):
        if type(value) is not int:
            return f"{bad} is {_type_name(value)}, not an integer"
        limit = _MAX_ID if kind == "id" else _MAX_MS
        low = 0 if kind == "id" else 1
        return None if low <= value <= limit else f"{bad} is out of range [{low}, {limit}]"
    if kind == "decimal":
        if type(value) is not str:
            return f"{bad} is {_type_name(value)}, not a decimal string"
        try:
            float(value)
        except ValueError:
            return f"{bad} is not a decimal number"
        return None
    if kind == "number":
        if type(value) is not float and type(value) is not int:
            return f"{bad} is {_type_name(value)}, not a number"
        return None
    raise AssertionError(f"unknown field kind {kind}")


class BinanceFrameParser(FrameParser):
    """Parses Binance spot ``<symbol>@trade`` events, raw or wrapped by a combined stream."""

    def __init__(self, venue: str = "binance") -> None:
        super().__init__(venue)
        self._s: list[str] = []
        self._t: list[int] = []
        self._p: list[float] = []
        self._q: list[float] = []
        self._m: list[bool] = []
        self._tt: list[int] = []
        self._et: list[int] = []
        self._rt: list[int] = []
        # The hot path is a closure over bound ``append`` methods: local lookups instead of attribute
        # lookups save about a fifth of the per-frame cost (measured). take() clears the lists in place.
        self.add = self._make_add()  # type: ignore[method-assign]

    def pending(self) -> int:
        return len(self._t)

    def _uncounted_frames(self) -> int:
        return len(self._t)  # one per fast-path frame

    def add(self, frame: bytes | str, receive_time_us: int) -> int:  # replaced per instance
        return self._make_add()(frame, receive_time_us)

    def _make_add(self) -> Callable[[bytes | str, int], int]:
        loads, decode_error = orjson.loads, orjson.JSONDecodeError
        s_add, t_add, p_add, q_add = self._s.append, self._t.append, self._p.append, self._q.append
        m_add, tt_add, et_add, rt_add = self._m.append, self._tt.append, self._et.append, self._rt.append
        expected, max_id, max_ms = _BINANCE_TYPES, _MAX_ID, _MAX_MS
        bad, other, diagnose = self._bad_frame, self._other, self._diagnose

        def add(frame: bytes | str, receive_time_us: int) -> int:
            # No frame counter here: a fast-path frame adds exactly one trade, so take() counts them
            # from the columns and only the slow paths count themselves.
            try:
                msg = loads(frame)
            except decode_error as exc:
                return bad(frame, f"not JSON: {exc}")
            if type(msg) is not dict:
                return bad(frame, f"expected a JSON object, got {_type_name(msg)}")
            d = msg.get("data", msg)
            # Fast path: a well-formed trade event, checked with cheap type tests; any doubt goes to
            # diagnose(), which names the problem.
            try:
                if d["e"] != "trade":
                    return other(frame, msg, d)
                s, t, p, q, tt, et, m = d["s"], d["t"], d["p"], d["q"], d["T"], d["E"], d["m"]
            except (KeyError, TypeError):
                return other(frame, msg, d) if type(d) is not dict or "e" not in d else diagnose(frame, d)
            if (
                (type(s), type(t), type(p), type(q), type(tt), type(et), type(m)) == expected
                and s
                and 0 <= t <= max_id
                and 0 < tt <= max_ms
                and 0 < et <= max_ms
            ):
                try:
                    pf = float(p)
                    qf = float(q)
                except ValueError:
                    return diagnose(frame, d)
                s_add(s)
                t_add(t)
                p_add(pf)
                q_add(qf)
                m_add(m)
                tt_add(tt)
                et_add(et)
                rt_add(receive_time_us)
                return 1
            return diagnose(frame, d)

        return add

    def _bad_frame(self, frame: bytes | str, reason: str) -> int:
        self._frames += 1
        return self._bad(frame, reason)

    def _other(self, frame: bytes | str, msg: dict[str, Any], d: Any) -> int:
        self._frames += 1
        if "result" in msg and "id" in msg:
            self._control += 1  # subscription ack
            return 0
        if "error" in msg or ("code" in msg and "msg" in msg):
            error = msg.get("error", msg)
            self._venue_errors.append(orjson.dumps(error).decode() if not isinstance(error, str) else error)
            return 0
        if "data" in msg and type(d) is not dict:
            return self._bad(frame, f"field 'data' = {_snippet(d)} is {_type_name(d)}, not an object")
        if "e" not in d:
            return self._bad(frame, f"not a trade event, ack or error: no field 'e' in {sorted(d)[:8]}")
        return self._bad(frame, f"field 'e' (event type) = {_snippet(d['e'])} is not 'trade'")

    def _diagnose(self, frame: bytes | str, d: dict[str, Any]) -> int:
        self._frames += 1
        for key, meaning, kind in _BINANCE_FIELDS:
            problem = _field_problem(d, key, meaning, kind, "")
            if problem:
                return self._bad(frame, problem)
        return self._bad(frame, "trade event rejected for an unknown reason")  # fast path is stricter

    def _take_ticks(self) -> pa.Table:
        columns = (self._s, self._t, self._p, self._q, self._m, self._tt, self._et, self._rt)
        table = _tick_table(
            self.venue, self._s, self._t, self._p, self._q, _maker_sides(self._m), self._tt, self._et, self._rt
        )
        for column in columns:
            column.clear()  # in place: the add() closure holds these very lists
        return table


_REST_FIELDS: tuple[tuple[str, str, str], ...] = (
    ("id", "trade id", "id"),
    ("price", "price", "decimal"),
    ("qty", "quantity", "decimal"),
    ("time", "trade time", "ms"),
    ("isBuyerMaker", "buyer-is-maker flag", "bool"),
)


def parse_binance_rest_trades(
    body: bytes | str, *, symbol: str, receive_time_us: int, venue: str = "binance"
) -> ParsedBatch:
    """Parse a ``GET /api/v3/historicalTrades`` (or ``/trades``) response of ``symbol``.

    The event time of a REST trade is its trade time. A bad item becomes a :class:`MalformedFrame`
    holding that item; the other items still parse.
    """
    malformed: list[MalformedFrame] = []
    try:
        items = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        items = None
        malformed.append(MalformedFrame(venue=venue, raw=_as_bytes(body), reason=f"not JSON: {exc}"))
    if items is not None and type(items) is not list:
        malformed.append(
            MalformedFrame(
                venue=venue, raw=_as_bytes(body), reason=f"expected a JSON list, got {_type_name(items)}"
            )
        )
        items = None
    ids: list[int] = []
    prices: list[float] = []
    qtys: list[float] = []
    makers: list[bool] = []
    times: list[int] = []
    for index, item in enumerate(items or ()):
        where = f"item {index}: "
        problem = (
            f"{where}expected an object, got {_type_name(item)}"
            if type(item) is not dict
            else next(
                (p for k, m, kind in _REST_FIELDS if (p := _field_problem(item, k, m, kind, where))), None
            )
        )
        if problem:
            malformed.append(MalformedFrame(venue=venue, raw=orjson.dumps(item), reason=problem))
            continue
        ids.append(item["id"])
        prices.append(float(item["price"]))
        qtys.append(float(item["qty"]))
        makers.append(item["isBuyerMaker"])
        times.append(item["time"])
    ticks = _tick_table(
        venue, [symbol] * len(ids), ids, prices, qtys, _maker_sides(makers), times, times,
        [receive_time_us] * len(ids),
    )
    return ParsedBatch(ticks=ticks, malformed=tuple(malformed), frames=1)


_FINNHUB_FIELDS: tuple[tuple[str, str, str], ...] = (
    ("s", "symbol", "str"),
    ("p", "price", "number"),
    ("v", "volume", "number"),
    ("t", "trade time", "ms"),
)


class FinnhubFrameParser(FrameParser):
    """Parses Finnhub trade frames (many trades each). Finnhub has no trade ids and no aggressor side:
    ids become content keys (:func:`~trading_assets.market.ticks.content_trade_ids`), side is UNKNOWN,
    and the event time is the trade time."""

    def __init__(self, venue: str = "finnhub") -> None:
        super().__init__(venue)
        self._reset_columns()

    def _reset_columns(self) -> None:
        self._s: list[str] = []
        self._p: list[float] = []
        self._v: list[float] = []
        self._tt: list[int] = []
        self._rt: list[int] = []

    def pending(self) -> int:
        return len(self._tt)

    def add(self, frame: bytes | str, receive_time_us: int) -> int:
        self._frames += 1
        try:
            msg = orjson.loads(frame)
        except orjson.JSONDecodeError as exc:
            return self._bad(frame, f"not JSON: {exc}")
        if type(msg) is not dict:
            return self._bad(frame, f"expected a JSON object, got {_type_name(msg)}")
        kind = msg.get("type")
        if kind != "trade":
            return self._other(frame, msg, kind)
        data = msg.get("data")
        if type(data) is not list:
            return self._bad(frame, f"field 'data' = {_snippet(data)} is {_type_name(data)}, not a list")
        s_append, p_append, v_append = self._s.append, self._p.append, self._v.append
        tt_append = self._tt.append
        added = 0
        problems: list[str] = []
        for index, trade in enumerate(data):
            if type(trade) is dict:
                s, p, v, t = trade.get("s"), trade.get("p"), trade.get("v"), trade.get("t")
                tp, tv = type(p), type(v)
                if (
                    type(s) is str
                    and s
                    and (tp is float or tp is int)
                    and (tv is float or tv is int)
                    and type(t) is int
                    and 0 < t <= _MAX_MS
                ):
                    s_append(s)
                    p_append(float(p))
                    v_append(float(v))
                    tt_append(t)
                    added += 1
                    continue
                problems.append(
                    next(
                        p
                        for k, meaning, fk in _FINNHUB_FIELDS
                        if (p := _field_problem(trade, k, meaning, fk, f"data[{index}]: "))
                    )
                )
            else:
                problems.append(f"data[{index}]: expected an object, got {_type_name(trade)}")
        if added:
            self._rt.extend([receive_time_us] * added)
        if problems:
            # The good trades of the frame are kept; the frame goes to dead letters naming the bad ones.
            more = f" (and {len(problems) - 1} more bad trades)" if len(problems) > 1 else ""
            self._bad(frame, problems[0] + more)
        return added

    def _other(self, frame: bytes | str, msg: dict[str, Any], kind: Any) -> int:
        if kind == "ping":
            self._control += 1
            return 0
        if kind == "error":
            self._venue_errors.append(str(msg.get("msg", orjson.dumps(msg).decode())))
            return 0
        if kind is None:
            return self._bad(frame, f"missing field 'type' in object with keys {sorted(msg)[:8]}")
        return self._bad(frame, f"field 'type' = {_snippet(kind)} is not 'trade', 'ping' or 'error'")

    def _take_ticks(self) -> pa.Table:
        n = len(self._tt)
        trade_ms = np.asarray(self._tt, dtype=np.int64)
        prices = np.asarray(self._p, dtype=np.float64)
        qtys = np.asarray(self._v, dtype=np.float64)
        keys = content_trade_ids(self._s, trade_ms * 1_000, prices, qtys) if n else np.empty(0, np.int64)
        table = _tick_table(
            self.venue, self._s, keys, prices, qtys, np.zeros(n, np.int8), self._tt, self._tt, self._rt
        )
        self._reset_columns()
        return table
