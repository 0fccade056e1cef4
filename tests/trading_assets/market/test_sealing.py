"""Sealing calls the venue-neutral TradeHistory interface: one history per venue per seal, closed after;
a history that fails leaves the gap for the check; a venue without history is never asked."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa

from resources.exchange_feed.history import HistoryError, TradeHistory, TradePage
from resources.tick_store.embedded import EmbeddedTickStore
from trading_assets.core.ticks import Side, Tick, ticks_to_table
from trading_assets.core.time import day_start_us
from trading_assets.market.sealing import seal_day

DAY = dt.date(2023, 3, 14)
START = day_start_us(DAY) + 3_600_000_000


def _ticks(venue: str, ids: list[int]) -> pa.Table:
    return ticks_to_table(
        Tick(
            venue=venue,
            symbol="BTCUSDT",
            trade_id=i,
            price=100.0 + i,
            quantity=1.0,
            side=Side.BUY,
            trade_time_us=START + i,
            event_time_us=START + i,
            receive_time_us=START + i,
        )
        for i in ids
    )


class MemoryHistory:
    """A venue's history of ids 1..100, or one that always fails."""

    def __init__(self, venue: str, *, fail: bool = False) -> None:
        self.venue = venue
        self.fail = fail
        self.closed = False

    def trades_by_id(
        self, symbol: str, first_id: int, last_id: int, *, page_limit: int = 1000
    ) -> Iterator[TradePage]:
        if self.fail:
            raise HistoryError(f"{self.venue} history unavailable")
        ids = [i for i in range(first_id, last_id + 1) if 1 <= i <= 100][:page_limit]
        if ids:
            yield TradePage(ticks=_ticks(self.venue, ids), malformed=(), ids=len(ids), next_id=ids[-1] + 1)

    def recent_trades(self, symbol: str, *, limit: int = 1) -> pa.Table:
        return _ticks(self.venue, list(range(101 - limit, 101)))

    def close(self) -> None:
        self.closed = True


def test_gaps_are_filled_through_one_history_per_venue_closed_after_the_seal(tmp_path: Path) -> None:
    # Arrange: two gaps of venue "a"; venue "b" has no history and a gap too.
    store = EmbeddedTickStore(tmp_path / "ticks")
    store.insert(_ticks("a", [i for i in range(1, 101) if not 20 <= i <= 29 and not 60 <= i <= 64]))
    store.insert(_ticks("b", [1, 2, 5]))
    built: list[MemoryHistory] = []

    def history(venue: str) -> TradeHistory | None:
        if venue == "b":
            return None
        built.append(MemoryHistory(venue))
        return built[-1]

    # Act
    report, ticks = seal_day(store, DAY, history)

    # Assert
    assert [h.venue for h in built] == ["a"] and built[0].closed
    assert (report.gaps_found, report.gaps_filled) == (15 + 2, 15)
    assert [(g.venue, g.first_missing, g.last_missing) for g in report.gaps_left] == [("b", 3, 4)]
    assert report.rows == ticks.num_rows == 100 + 3


def test_a_failing_history_leaves_the_gap_and_the_day_is_still_sealed(tmp_path: Path) -> None:
    store = EmbeddedTickStore(tmp_path / "ticks")
    store.insert(_ticks("a", [1, 2, 3, 7, 8]))
    store.insert(_ticks("a", [1, 2]))  # redelivered

    report, ticks = seal_day(store, DAY, lambda venue: MemoryHistory(venue, fail=True))

    assert report.gaps_filled == 0
    assert [(g.first_missing, g.last_missing) for g in report.gaps_left] == [(4, 6)]
    assert sorted(ticks["trade_id"].to_pylist()) == [1, 2, 3, 7, 8]  # sealed: duplicates gone
