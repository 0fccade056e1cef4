"""Finnhub's wire format: several trades per frame, no trade ids (content keys), pings and errors.

``{"type":"trade","data":[{"p":float,"s":"BINANCE:BTCUSDT","t":ms,"v":float,"c":..}]}``,
``{"type":"ping"}`` and ``{"type":"error","msg":..}`` (public Finnhub documentation).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import orjson
import pyarrow as pa

from resources.exchange_feed.wire.base import (
    MAX_MS,
    FrameParser,
    field_problem,
    snippet,
    tick_table,
    type_name,
)
from trading_assets.core.ticks import content_trade_ids

_FINNHUB_FIELDS: tuple[tuple[str, str, str], ...] = (
    ("s", "symbol", "str"),
    ("p", "price", "number"),
    ("v", "volume", "number"),
    ("t", "trade time", "ms"),
)


class FinnhubFrameParser(FrameParser):
    """Parses Finnhub trade frames (many trades each). Finnhub has no trade ids and no aggressor side:
    ids become content keys (:func:`~trading_assets.core.ticks.content_trade_ids`), side is UNKNOWN,
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
            return self._bad(frame, f"expected a JSON object, got {type_name(msg)}")
        kind = msg.get("type")
        if kind != "trade":
            return self._other(frame, msg, kind)
        data = msg.get("data")
        if type(data) is not list:
            return self._bad(frame, f"field 'data' = {snippet(data)} is {type_name(data)}, not a list")
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
                    and 0 < t <= MAX_MS
                ):
                    s_append(s)
                    p_append(float(p))  # type: ignore[arg-type]  # checked float or int above
                    v_append(float(v))  # type: ignore[arg-type]
                    tt_append(t)
                    added += 1
                    continue
                problems.append(
                    next(
                        p
                        for k, meaning, fk in _FINNHUB_FIELDS
                        if (p := field_problem(trade, k, meaning, fk, f"data[{index}]: "))
                    )
                )
            else:
                problems.append(f"data[{index}]: expected an object, got {type_name(trade)}")
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
        return self._bad(frame, f"field 'type' = {snippet(kind)} is not 'trade', 'ping' or 'error'")

    def _take_ticks(self) -> pa.Table:
        n = len(self._tt)
        trade_ms = np.asarray(self._tt, dtype=np.int64)
        prices = np.asarray(self._p, dtype=np.float64)
        qtys = np.asarray(self._v, dtype=np.float64)
        keys = content_trade_ids(self._s, trade_ms * 1_000, prices, qtys) if n else np.empty(0, np.int64)
        table = tick_table(
            self.venue, self._s, keys, prices, qtys, np.zeros(n, np.int8), self._tt, self._tt, self._rt
        )
        self._reset_columns()
        return table
