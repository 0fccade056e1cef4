"""What a streamer saving its restart state would see: at every moment the sink holds a batch, each id up
to the highest handed over is either handed over or among the feed's ``unfilled_gaps()``."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from threading import Thread

import pyarrow as pa
import pytest

from resources.exchange_feed.base import ExchangeFeed
from resources.exchange_feed.binance import BinanceFeed
from tests.resources.exchange_feed.conftest import RecordingSink
from tests.resources.exchange_feed.test_binance_feed import btc, config
from tests.resources.exchange_feed.venue import ScriptedVenue, wait_for

RunFeed = Callable[[ExchangeFeed], Thread]


class CoverageSink(RecordingSink):
    """Records, at each hand-over, the ids neither handed over (this batch included) nor in a gap."""

    def __init__(self) -> None:
        super().__init__()
        self.feed: ExchangeFeed | None = None
        self.handed: dict[str, set[int]] = defaultdict(set)
        self.uncovered: list[tuple[str, list[int]]] = []

    def on_ticks(self, ticks: pa.Table) -> None:
        assert self.feed is not None
        gaps = self.feed.unfilled_gaps()  # what a restart state taken now would hold
        for symbol, trade_id in zip(ticks["symbol"].to_pylist(), ticks["trade_id"].to_pylist(), strict=True):
            self.handed[symbol].add(trade_id)
        for symbol, handed in self.handed.items():
            in_gaps = {i for first, last in gaps.get(symbol, []) for i in range(first, last + 1)}
            hole = sorted(set(range(1, max(handed) + 1)) - handed - in_gaps)
            if hole:
                self.uncovered.append((symbol, hole))
        super().on_ticks(ticks)


@pytest.fixture
def sink() -> CoverageSink:
    return CoverageSink()


def test_a_batchs_gaps_are_known_before_the_sink_gets_the_batch_and_until_their_fill_is_handed_over(
    sink: CoverageSink, run_feed: RunFeed
) -> None:
    # Arrange: one batch with two holes (3..4, 7..9), filled from REST in one-trade pages
    with ScriptedVenue([[*btc(1, 2, 5, 6, 10, 11)]], rest_trades={"BTCUSDT": list(range(1, 12))}) as venue:
        feed = BinanceFeed(config(venue, symbols=("BTCUSDT",), flush_every_ticks=100, rest_page_limit=1))
        sink.feed = feed

        # Act
        run_feed(feed)
        wait_for(lambda: set(sink.ids("BTCUSDT")) == set(range(1, 12)), timeout_s=10, what="every id")

        # Assert
        assert sink.uncovered == []
        assert feed.unfilled_gaps() == {}
