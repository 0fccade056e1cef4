"""`tradegraph run` whose every feed stops: the run ends, drains what was published and says why."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pyarrow as pa
import pytest

from resources.bus.embedded import EmbeddedTickBus
from resources.exchange_feed.base import ExchangeFeed, FeedSink
from resources.tick_store.factory import TickStoreConfig, open_tick_store
from trading_assets.core.settings import Settings
from trading_assets.market.simulation import MarketConfig, MarketSimulator
from trading_assets.services import pipeline
from trading_assets.services.pipeline import PipelineConfig, run_pipeline


class PublishThenFail(ExchangeFeed):
    """Publishes its ticks, then fails as a feed does on what reconnecting cannot cure."""

    def __init__(self, ticks: pa.Table) -> None:
        self.venue = "sim"
        self.ticks = ticks

    def run(self, sink: FeedSink, stop: threading.Event) -> None:
        sink.on_ticks(self.ticks)
        raise PermissionError("the venue refused the API key")


def test_a_run_whose_every_feed_failed_stores_what_was_published_and_names_the_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Arrange: the run's one feed publishes 100 ticks and fails
    settings = Settings.from_env({"TRADEGRAPH_HOME": str(tmp_path), "TRADEGRAPH_SYMBOLS": "BTCUSDT"})
    start_us = time.time_ns() // 1_000 - 3_600_000_000  # an hour ago: inside the store's window
    ticks = MarketSimulator(config=MarketConfig(symbols=("BTCUSDT",)), start_us=start_us).generate(100)
    monkeypatch.setattr(pipeline, "build_feeds", lambda *_: [PublishThenFail(ticks)])
    run = PipelineConfig(simulate=False, execute=False, duration_s=60.0)

    # Act
    with EmbeddedTickBus() as bus, open_tick_store(TickStoreConfig.from_settings(settings)) as store:
        summary = run_pipeline(settings, bus, store, run, threading.Event())

    # Assert: ended early with the reason, everything published stored
    assert summary.failure is not None and "every feed of the streamer stopped" in summary.failure
    assert summary.seconds < 30
    assert summary.published == summary.loaded == 100
