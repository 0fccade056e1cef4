"""Fixtures for feed tests: a recording sink and a feed running in a thread, always stopped."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import pyarrow as pa
import pytest

from resources.exchange_feed.base import ExchangeFeed, FeedEvent
from resources.exchange_feed.wire import MalformedFrame
from trading_assets.core.ticks import conform


class RecordingSink:
    """Keeps everything a feed hands over; safe to read from the test thread."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.tables: list[pa.Table] = []
        self.malformed: list[MalformedFrame] = []
        self.events: list[FeedEvent] = []

    def on_ticks(self, ticks: pa.Table) -> None:
        conform(ticks)  # every table must be a valid tick table
        with self.lock:
            self.tables.append(ticks)

    def on_malformed(self, frame: MalformedFrame) -> None:
        with self.lock:
            self.malformed.append(frame)

    def on_event(self, event: FeedEvent) -> None:
        with self.lock:
            self.events.append(event)

    def ids(self, symbol: str) -> list[int]:
        """Every trade id of ``symbol`` delivered, in delivery order, repeats included."""
        with self.lock:
            tables = list(self.tables)
        out: list[int] = []
        for table in tables:
            for s, i in zip(
                table.column("symbol").to_pylist(), table.column("trade_id").to_pylist(), strict=True
            ):
                if s == symbol:
                    out.append(i)
        return out

    def all_ticks(self) -> pa.Table:
        with self.lock:
            return pa.concat_tables(self.tables) if self.tables else pa.table({})

    def kinds(self, kind: str) -> list[FeedEvent]:
        with self.lock:
            return [e for e in self.events if e.kind == kind]


@pytest.fixture
def sink() -> RecordingSink:
    return RecordingSink()


@pytest.fixture
def run_feed(sink: RecordingSink) -> Iterator[Callable[[ExchangeFeed], threading.Thread]]:
    """Start ``feed.run(sink, stop)`` in a thread; the test's end stops it and checks that it stopped."""
    started: list[tuple[threading.Thread, threading.Event]] = []
    errors: list[BaseException] = []

    def start(feed: ExchangeFeed) -> threading.Thread:
        stop = threading.Event()

        def target() -> None:
            try:
                feed.run(sink, stop)
            except BaseException as exc:  # surfaced by the fixture's teardown
                errors.append(exc)
                raise

        thread = threading.Thread(target=target, name="feed-under-test", daemon=True)
        thread.start()
        started.append((thread, stop))
        return thread

    yield start
    for thread, stop in started:
        stop.set()
    for thread, _ in started:
        thread.join(10)
        assert not thread.is_alive(), "feed did not stop within 10 s of the stop event"
    assert not errors, f"feed raised: {errors!r}"
