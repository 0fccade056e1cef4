"""Finnhub's wire format: several trades per frame, no trade ids (content keys), pings and errors.

``{"type":"trade","data":[{"p":float,"s":"BINANCE:BTCUSDT","t":ms,"v":float,"c":..}]}``,
``{"type":"ping"}`` and ``{"type":"error","msg":..}`` (public Finnhub documentation).

Keys. Finnhub has no trade ids, so a trade is keyed by its content (symbol, millisecond, price, volume)
*and its rank*: the k-th print of identical content in the stream gets rank k (0 for the first). Distinct
trades often share all four fields (an order filled against several equal resting orders, 2% of real
BTCUSDT trades); the rank keeps them apart. The stream is one parser's input, i.e. one websocket
connection (the feed makes a parser per connection). A print is *re-sent* when a later connection (or a
restarted streamer) delivers it again, as Finnhub does after a reconnect: counted afresh from 0 on the new
stream, the re-sent prints get the ranks, hence the keys, they had the first time, and collapse in the
feed's dedup and the store's. Within one connection every print is a trade. Ranks are remembered for
``rank_window_ms`` of trade time (identical prints share their millisecond, so older ones cannot recur).
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

RANK_WINDOW_MS = 60_000
"""How long (trade time) the parser remembers how often it saw each content."""

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

    def __init__(self, venue: str = "finnhub", *, rank_window_ms: int = RANK_WINDOW_MS) -> None:
        super().__init__(venue)
        self._reset_columns()
        self._rank_window_ms = rank_window_ms
        # Content key (rank 0) -> prints of it so far in this stream, in two generations: a content is
        # remembered for one to two windows, with no per-print bookkeeping to forget it.
        self._counts: dict[int, int] = {}
        self._previous: dict[int, int] = {}
        self._generation_ms: int | None = None  # newest trade time when the current generation began
        self._newest_ms: int | None = None  # newest trade time seen in this stream

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
        keys = np.empty(0, np.int64)
        if n:
            trade_us = trade_ms * 1_000
            keys = content_trade_ids(self._s, trade_us, prices, qtys)
            ranks = self._ranks(keys, trade_ms)
            if ranks is not None:
                repeated = np.flatnonzero(ranks)
                keys[repeated] = content_trade_ids(
                    [self._s[i] for i in repeated.tolist()],
                    trade_us[repeated],
                    prices[repeated],
                    qtys[repeated],
                    ranks[repeated],
                )
        table = tick_table(
            self.venue, self._s, keys, prices, qtys, np.zeros(n, np.int8), self._tt, self._tt, self._rt
        )
        self._reset_columns()
        return table

    def _ranks(self, keys: np.ndarray, trade_ms: np.ndarray) -> np.ndarray | None:
        """Each print's rank among identical prints of this stream; None when every rank is 0.

        The usual batch costs set and dict operations and numpy, no Python loop over it: identical prints
        share their millisecond, so only prints no later than the newest one seen before can repeat an
        earlier batch's print, and those are few.
        """
        content = keys.tolist()
        counts, previous = self._counts, self._previous
        fresh = dict.fromkeys(content, 1)
        clean = len(fresh) == len(content)  # no repeat inside the batch
        if clean and self._newest_ms is not None:
            overlap = keys[trade_ms <= self._newest_ms].tolist()
            clean = counts.keys().isdisjoint(overlap) and previous.keys().isdisjoint(overlap)
        ranks = None
        if clean:
            counts.update(fresh)
        else:
            ranks = np.zeros(len(content), np.int64)
            for i, key in enumerate(content):
                rank = counts.get(key) or previous.get(key, 0)
                ranks[i] = rank
                counts[key] = rank + 1
        batch_newest = int(trade_ms.max())
        self._newest_ms = batch_newest if self._newest_ms is None else max(self._newest_ms, batch_newest)
        # A content older than the window cannot recur: once the current generation spans a window, it
        # becomes the previous one and the oldest is forgotten.
        if self._generation_ms is None:
            self._generation_ms = batch_newest
        elif batch_newest - self._generation_ms >= self._rank_window_ms:
            self._previous, self._counts, self._generation_ms = counts, {}, batch_newest
        return ranks
