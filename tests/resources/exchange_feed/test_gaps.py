"""GapTracker as a pure object: jumps, late trades, duplicates, grace period, several symbols."""

from __future__ import annotations

import numpy as np

from resources.exchange_feed.gaps import Gap, GapTracker
from trading_assets.core.ticks import Side, Tick, ticks_to_table


def ids(*values: int) -> np.ndarray:
    return np.array(values, dtype=np.int64)


def test_first_batch_has_no_reference_but_holes_inside_it_count() -> None:
    tracker = GapTracker(grace_s=0.5)
    assert tracker.observe("BTCUSDT", ids(10, 11, 14, 12), now=0.0) == 0
    assert tracker.pending() == {"BTCUSDT": [(13, 13)]}
    assert tracker.last_ids() == {"BTCUSDT": 14}


def test_jump_becomes_due_after_the_grace_period() -> None:
    tracker = GapTracker(grace_s=0.5, initial_last_ids={"BTCUSDT": 100})
    tracker.observe("BTCUSDT", ids(101, 102, 110, 111, 115), now=1.0)
    assert tracker.pending() == {"BTCUSDT": [(103, 109), (112, 114)]}
    assert tracker.due(now=1.4) == []
    assert tracker.due(now=1.5) == [
        Gap(symbol="BTCUSDT", first_id=103, last_id=109),
        Gap(symbol="BTCUSDT", first_id=112, last_id=114),
    ]
    assert tracker.pending() == {} and tracker.due(now=9.0) == []
    assert Gap(symbol="X", first_id=103, last_id=109).count == 7


def test_late_trades_split_a_gap_and_keep_its_age() -> None:
    tracker = GapTracker(grace_s=0.5, initial_last_ids={"S": 0})
    tracker.observe("S", ids(1, 10), now=1.0)
    assert tracker.observe("S", ids(5, 2, 9), now=1.2) == 0
    assert tracker.pending() == {"S": [(3, 4), (6, 8)]}
    assert tracker.observe("S", ids(3, 4), now=1.3) == 0
    assert tracker.pending() == {"S": [(6, 8)]}
    assert [g.first_id for g in tracker.due(now=1.5)] == [6]  # due by the age of the original gap


def test_duplicates_are_counted_not_gaps() -> None:
    tracker = GapTracker(grace_s=0.5, initial_last_ids={"S": 0})
    tracker.observe("S", ids(1, 2, 3, 5), now=0.0)
    # 2 again (seen), 3 twice more, 6 twice in one batch; 4 is late (fills the gap), not a duplicate.
    assert tracker.observe("S", ids(2, 3, 3, 4, 6, 6), now=0.1) == 4
    assert tracker.pending() == {}
    # Once a gap was handed over for fetching, a late copy of its ids counts as a duplicate.
    tracker.observe("S", ids(9), now=0.2)
    assert [g.count for g in tracker.due(now=1.0)] == [2]
    assert tracker.observe("S", ids(7), now=1.1) == 1


def test_initial_gaps_are_due_at_once() -> None:
    tracker = GapTracker(grace_s=10.0, initial_gaps={"S": [(50, 60), (5, 9)]})
    assert tracker.due(now=0.0) == [
        Gap(symbol="S", first_id=5, last_id=9),
        Gap(symbol="S", first_id=50, last_id=60),
    ]


def test_tables_with_several_symbols() -> None:
    def tick(symbol: str, trade_id: int) -> Tick:
        return Tick(
            venue="binance",
            symbol=symbol,
            trade_id=trade_id,
            price=1.0,
            quantity=1.0,
            side=Side.BUY,
            trade_time_us=1_700_000_000_000_000,
            event_time_us=1_700_000_000_000_000,
            receive_time_us=1_700_000_000_000_000,
        )

    tracker = GapTracker(grace_s=0.0, initial_last_ids={"A": 0, "B": 100})
    table = ticks_to_table([tick("A", 1), tick("B", 101), tick("A", 4), tick("B", 103), tick("A", 4)])
    assert tracker.observe_table(table, now=0.0) == 1
    assert tracker.pending() == {"A": [(2, 3)], "B": [(102, 102)]}
    assert tracker.last_ids() == {"A": 4, "B": 103}
    assert tracker.observe_table(ticks_to_table([]), now=0.0) == 0


def test_the_venues_newest_id_opens_a_tail_gap_that_late_trades_still_shrink() -> None:
    tracker = GapTracker(grace_s=0.5, initial_last_ids={"S": 10})
    assert tracker.observe_latest("S", 10, now=1.0) is False  # nothing missed
    assert tracker.observe_latest("S", 14, now=1.0) is True
    assert tracker.pending() == {"S": [(11, 14)]} and tracker.last_ids() == {"S": 14}
    assert tracker.observe("S", ids(11, 12), now=1.1) == 0  # were on their way: not duplicates
    assert tracker.due(now=1.5) == [Gap(symbol="S", first_id=13, last_id=14)]


def test_no_tail_gap_without_a_reference() -> None:
    # A first streamer starts wherever it starts; the venue's older history is not a gap.
    tracker = GapTracker(grace_s=0.5)
    assert tracker.observe_latest("S", 1_000, now=1.0) is False
    assert tracker.pending() == {} and tracker.last_ids() == {}
