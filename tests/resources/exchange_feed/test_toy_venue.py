"""Adding a venue is one package and one registry line: a toy venue, defined whole in this module (its
wire format, stream connector and trade history), registered through the registry, streams and fills
gaps live, and the day's seal fills through it, without any tradegraph code naming it."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import orjson
import pyarrow as pa
import pytest

from resources.exchange_feed.history import TradePage, pages_by_id
from resources.exchange_feed.id_feed import IdFeedConfig, IdGapFeed
from resources.exchange_feed.registry import build_feed, build_history, register_venue, unregister_venue
from resources.exchange_feed.resource import VenueHistoryResource
from resources.exchange_feed.venue import FeedResume, VenueAdapter, VenueConfig
from resources.exchange_feed.wire import FrameParser, ParsedBatch
from resources.exchange_feed.wire.base import tick_table
from resources.tick_store.embedded import EmbeddedTickStore
from tests.resources.exchange_feed.conftest import RecordingSink
from tests.resources.exchange_feed.venue import ScriptedVenue, Send, wait_for
from trading_assets.core.time import day_start_us
from trading_assets.market.sealing import seal_day

DAY = dt.date(2023, 3, 14)
T0_MS = day_start_us(DAY) // 1_000 + 3_600_000  # 01:00 of DAY


# --- the toy venue: wire format, history, stream connector, adapter ----------------------------------


def toy_frame(symbol: str, trade_id: int) -> bytes:
    """The toy venue's wire format: one trade per frame, ``n`` its consecutive id."""
    return orjson.dumps(
        {"sym": symbol, "n": trade_id, "px": 10.0 + trade_id, "sz": 1.0, "ts": T0_MS + trade_id}
    )


class ToyParser(FrameParser):
    def __init__(self, venue: str) -> None:
        super().__init__(venue)
        self._rows: list[tuple[str, int, float, float, int, int]] = []

    def pending(self) -> int:
        return len(self._rows)

    def add(self, frame: bytes | str, receive_time_us: int) -> int:
        self._frames += 1
        msg = orjson.loads(frame)
        self._rows.append((msg["sym"], msg["n"], msg["px"], msg["sz"], msg["ts"], receive_time_us))
        return 1

    def _take_ticks(self) -> pa.Table:
        rows, self._rows = self._rows, []
        cols = list(zip(*rows, strict=True)) if rows else [[] for _ in range(6)]
        ms = list(cols[4])
        return tick_table(
            self.venue, list(cols[0]), list(cols[1]), list(cols[2]), list(cols[3]),
            np.zeros(len(rows), np.int8), ms, ms, list(cols[5]),
        )  # fmt: skip


class ToyHistory:
    """The toy venue's trade history: every id it ever printed (here held in memory)."""

    asked: list[tuple[str, int, int]] = []  # noqa: RUF012 (what every instance was asked, for the tests)

    def __init__(self, venue: str, ids: range) -> None:
        self.venue = venue
        self._ids = ids

    def _batch(self, symbol: str, ids: list[int]) -> ParsedBatch:
        parser = ToyParser(self.venue)
        for trade_id in ids:
            parser.add(toy_frame(symbol, trade_id), 0)
        return parser.take()

    def trades_by_id(
        self, symbol: str, first_id: int, last_id: int, *, page_limit: int = 1000
    ) -> Iterator[TradePage]:
        ToyHistory.asked.append((symbol, first_id, last_id))

        def fetch(from_id: int, limit: int) -> ParsedBatch:
            return self._batch(symbol, [i for i in self._ids if i >= from_id][:limit])

        return pages_by_id(fetch, first_id=first_id, last_id=last_id, page_limit=page_limit)

    def recent_trades(self, symbol: str, *, limit: int = 1) -> pa.Table:
        return self._batch(symbol, list(self._ids)[-limit:]).ticks

    def close(self) -> None:
        pass


HISTORY_IDS = range(1, 101)


class ToyFeed(IdGapFeed):
    def __init__(self, config: VenueConfig, resume: FeedResume) -> None:
        assert config.ws_url is not None
        feed_config = IdFeedConfig(
            symbols=config.symbols, flush_interval_s=0.02, gap_grace_s=0.05, tail_probe_after_s=0
        )
        super().__init__(feed_config, venue=config.venue, initial_last_ids=resume.last_ids)
        self._ws_url = config.ws_url

    def _url(self) -> str:
        return self._ws_url

    def _new_parser(self) -> FrameParser:
        return ToyParser(self.venue)

    def _new_history(self, stop: threading.Event) -> ToyHistory:
        return ToyHistory(self.venue, HISTORY_IDS)


TOY = VenueAdapter(
    name="toy",
    feed_factory=ToyFeed,
    history_factory=lambda config: ToyHistory(config.venue, HISTORY_IDS),
    default_ws_url="ws://127.0.0.1:1",
)


@pytest.fixture
def toy_venue() -> Iterator[VenueAdapter]:
    register_venue(TOY)  # the one registry line, made at run time for this test
    ToyHistory.asked.clear()
    yield TOY
    unregister_venue(TOY.name)


# --- the tests ---------------------------------------------------------------------------------------


def test_a_registered_venue_streams_and_fills_its_gaps_live(
    toy_venue: VenueAdapter, sink: RecordingSink
) -> None:
    # Arrange: ids 1..20 and 31..40 on the wire; 21..30 only in the venue's history.
    sent = [*range(1, 21), *range(31, 41)]
    with ScriptedVenue([[Send(toy_frame("TOYUSD", i)) for i in sent]]) as venue:
        feed = build_feed(VenueConfig(venue="toy", symbols=("TOYUSD",), ws_url=venue.ws_base))
        stop = threading.Event()
        thread = threading.Thread(target=feed.run, args=(sink, stop), daemon=True)

        # Act
        thread.start()
        try:
            wait_for(lambda: len(sink.ids("TOYUSD")) == 40, timeout_s=10, what="40 toy trades")
        finally:
            stop.set()
            thread.join(10)

    # Assert
    assert isinstance(feed, ToyFeed)
    assert sorted(sink.ids("TOYUSD")) == list(range(1, 41))
    assert ToyHistory.asked == [("TOYUSD", 21, 30)]
    assert [(e.symbol, e.count) for e in sink.kinds("gap_filled")] == [("TOYUSD", 10)]
    assert set(sink.all_ticks().column("venue").to_pylist()) == {"toy"}


def test_the_seal_fills_a_registered_venues_day_through_its_history(
    toy_venue: VenueAdapter, tmp_path: Path
) -> None:
    # Arrange: the toy venue's day stored with ids 41..60 missing.
    history = build_history(VenueConfig(venue="toy"))
    assert history is not None
    everything = pa.concat_tables(page.ticks for page in history.trades_by_id("TOYUSD", 1, 100))
    ids = everything["trade_id"].to_numpy()
    store = EmbeddedTickStore(tmp_path / "ticks")
    store.insert(everything.filter((ids < 41) | (ids > 60)))
    ToyHistory.asked.clear()

    # Act: the seal asks the Dagster resource, which asks the registry.
    report, ticks = seal_day(store, DAY, VenueHistoryResource().history_for)

    # Assert
    assert (report.gaps_found, report.gaps_filled, report.gaps_left) == (20, 20, ())
    assert sorted(ticks["trade_id"].to_pylist()) == list(range(1, 101))
    assert ("TOYUSD", 41, 60) in ToyHistory.asked
