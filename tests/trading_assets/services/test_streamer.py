import threading
from pathlib import Path

import pyarrow.compute as pc

from resources.bus.factory import TickBusConfig, open_tick_bus
from resources.exchange_feed.base import ExchangeFeed, FeedEvent, FeedSink
from resources.exchange_feed.wire import MalformedFrame
from trading_assets.core.time import US_PER_DAY
from trading_assets.market.simulation import MarketConfig, MarketSimulator
from trading_assets.services.heartbeat import read_heartbeat
from trading_assets.services.streamer import Streamer, StreamerConfig, load_state

DAY = 20_000 * US_PER_DAY


class ScriptedFeed(ExchangeFeed):
    """Hands a fixed script to the sink, then waits for stop, as a venue feed would."""

    def __init__(self, script: list[object], gaps: dict[str, list[tuple[int, int]]] | None = None) -> None:
        self.venue = "sim"
        self.script = script
        self.gaps = gaps or {}
        self.done = threading.Event()

    def run(self, sink: FeedSink, stop: threading.Event) -> None:
        for item in self.script:
            if isinstance(item, MalformedFrame):
                sink.on_malformed(item)
            elif isinstance(item, FeedEvent):
                sink.on_event(item)
            else:
                sink.on_ticks(item)  # type: ignore[arg-type]
        self.done.set()
        stop.wait()

    def unfilled_gaps(self) -> dict[str, list[tuple[int, int]]]:
        return self.gaps


def _run_until_done(streamer: Streamer, feed: ScriptedFeed) -> None:
    stop = threading.Event()
    thread = threading.Thread(target=streamer.run, args=(stop,))
    thread.start()
    assert feed.done.wait(10)
    stop.set()
    thread.join(10)
    assert not thread.is_alive()


def test_streamer_publishes_valid_ticks_and_dead_letters_the_rest_with_reasons(tmp_path: Path) -> None:
    ticks = MarketSimulator(config=MarketConfig(symbols=("BTCUSDT", "ETHUSDT")), start_us=DAY).generate(1_000)
    bad_price = ticks.slice(0, 3).set_column(3, "price", pc.multiply(ticks.slice(0, 3)["price"], -1))
    feed = ScriptedFeed(
        [
            ticks,
            bad_price,
            MalformedFrame(venue="sim", raw=b"{not json", reason="not JSON: unexpected character"),
            FeedEvent(kind="gap_found", venue="sim", symbol="BTCUSDT", detail="ids 5..9", count=5),
            FeedEvent(kind="reconnect", venue="sim", detail="dropped"),
        ]
    )
    bus = open_tick_bus(TickBusConfig())
    streamer = Streamer(feeds=[feed], bus=bus, home=tmp_path, config=StreamerConfig(flush_interval_s=0.01))

    _run_until_done(streamer, feed)

    with bus.consumer(group="check", venues=["sim"]) as consumer:
        got = consumer.poll(timeout_s=1, max_records=10_000).ticks
    assert got.num_rows == 1_000
    letters = bus.dead_letters()
    assert len(letters) == 4
    assert sum("must be positive and finite" in d.reason for d in letters) == 3
    assert any(d.value == b"{not json" and "not JSON" in d.reason for d in letters)
    metrics = streamer.metrics.registry
    assert metrics.get_sample_value("tradegraph_streamer_gap_trades_found_total", {"venue": "sim"}) == 5
    assert metrics.get_sample_value("tradegraph_streamer_reconnects_total", {"venue": "sim"}) == 1
    assert (
        metrics.get_sample_value(
            "tradegraph_streamer_dead_letters_total", {"venue": "sim", "kind": "invalid"}
        )
        == 3
    )
    assert metrics.get_sample_value("tradegraph_streamer_publish_latency_seconds_count") >= 1


def test_streamer_saves_acknowledged_last_ids_open_gaps_and_a_heartbeat(tmp_path: Path) -> None:
    ticks = MarketSimulator(config=MarketConfig(symbols=("BTCUSDT", "ETHUSDT")), start_us=DAY).generate(500)
    feed = ScriptedFeed([ticks], gaps={"BTCUSDT": [(900, 950)]})
    streamer = Streamer(feeds=[feed], bus=open_tick_bus(TickBusConfig()), home=tmp_path)

    _run_until_done(streamer, feed)

    state = load_state(tmp_path)
    for symbol in ("BTCUSDT", "ETHUSDT"):
        ids = ticks.filter(pc.equal(ticks["symbol"], symbol))["trade_id"]
        assert state.last_ids["sim"][symbol] == pc.max(ids).as_py()
    assert state.gaps == {"sim": {"BTCUSDT": [(900, 950)]}}
    beat = read_heartbeat(tmp_path, "streamer")
    assert beat is not None and beat.ticks == 500
    assert beat.last_trade_time_us == pc.max(ticks["trade_time_us"]).as_py()


def test_restarted_streamer_resumes_from_the_saved_state(tmp_path: Path) -> None:
    first = ScriptedFeed(
        [MarketSimulator(config=MarketConfig(symbols=("BTCUSDT",)), start_us=DAY).generate(10)]
    )
    _run_until_done(Streamer(feeds=[first], bus=open_tick_bus(TickBusConfig()), home=tmp_path), first)

    second = Streamer(feeds=[], bus=open_tick_bus(TickBusConfig()), home=tmp_path)

    assert second.last_ids() == {"sim": {"BTCUSDT": 10}}
