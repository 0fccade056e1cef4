import threading
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from resources.bus.base import BusError
from resources.bus.embedded import EmbeddedTickBus
from resources.exchange_feed.base import ExchangeFeed, FeedEvent, FeedSink
from resources.exchange_feed.wire import MalformedFrame
from resources.service_state import (
    EmbeddedServiceState,
    RestartState,
    ServiceInstance,
    ServiceStateStore,
    ServiceStateUnavailableError,
)
from trading_assets.core.time import US_PER_DAY, date_of
from trading_assets.market.simulation import MarketConfig, MarketSimulator
from trading_assets.services.streamer import FeedsStoppedError, Streamer, StreamerConfig, load_state

DAY = 20_000 * US_PER_DAY


def _instance(*symbols: str, name: str = "main") -> ServiceInstance:
    return ServiceInstance(
        service="streamer", venues=("sim",), symbols=symbols or ("BTCUSDT", "ETHUSDT"), host="h", name=name
    )


def _state(tmp_path: Path) -> ServiceStateStore:
    return EmbeddedServiceState(tmp_path / "state.sqlite")


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
    bus = EmbeddedTickBus()
    streamer = Streamer(
        feeds=[feed],
        bus=bus,
        state=_state(tmp_path),
        instance=_instance(),
        config=StreamerConfig(flush_interval_s=0.01),
    )

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
    store = _state(tmp_path)
    streamer = Streamer(feeds=[feed], bus=EmbeddedTickBus(), state=store, instance=_instance())

    _run_until_done(streamer, feed)

    state = load_state(store, _instance())
    for symbol in ("BTCUSDT", "ETHUSDT"):
        ids = ticks.filter(pc.equal(ticks["symbol"], symbol))["trade_id"]
        assert state.last_ids["sim"][symbol] == pc.max(ids).as_py()
    assert state.gaps == {"sim": {"BTCUSDT": [(900, 950)]}}
    beat = store.heartbeat(_instance())
    assert beat is not None and beat.ticks == 500 and beat.status == "stopped"
    assert beat.last_trade_time_us == pc.max(ticks["trade_time_us"]).as_py()


def test_restarted_streamer_resumes_from_the_saved_state(tmp_path: Path) -> None:
    first = ScriptedFeed(
        [MarketSimulator(config=MarketConfig(symbols=("BTCUSDT",)), start_us=DAY).generate(10)]
    )
    store = _state(tmp_path)
    _run_until_done(
        Streamer(feeds=[first], bus=EmbeddedTickBus(), state=store, instance=_instance("BTCUSDT")), first
    )

    second = Streamer(feeds=[], bus=EmbeddedTickBus(), state=store, instance=_instance("BTCUSDT"))

    assert second.last_ids() == {"sim": {"BTCUSDT": 10}}


def test_a_streamer_on_other_symbols_never_loads_another_instances_state(tmp_path: Path) -> None:
    # Arrange: streamer A (BTCUSDT) ran and saved its ids and an open gap
    ticks = MarketSimulator(config=MarketConfig(symbols=("BTCUSDT",)), start_us=DAY).generate(10)
    feed = ScriptedFeed([ticks], gaps={"BTCUSDT": [(20, 25)]})
    store = _state(tmp_path)
    _run_until_done(
        Streamer(feeds=[feed], bus=EmbeddedTickBus(), state=store, instance=_instance("BTCUSDT")), feed
    )

    # Act: streamer B on ETHUSDT starts against the same store (and A restarts)
    other = Streamer(feeds=[], bus=EmbeddedTickBus(), state=store, instance=_instance("ETHUSDT"))
    same = Streamer(feeds=[], bus=EmbeddedTickBus(), state=store, instance=_instance("BTCUSDT"))

    # Assert
    assert other.last_ids() == {}
    assert load_state(store, _instance("ETHUSDT")).gaps == {}
    assert same.last_ids() == {"sim": {"BTCUSDT": 10}}
    assert load_state(store, _instance("BTCUSDT")).gaps == {"sim": {"BTCUSDT": [(20, 25)]}}


def _ticks_then_a_filled_gap() -> list[object]:
    """20 BTCUSDT ticks of DAY, then the event that ids 5..9 among them filled a gap (as the gap filler
    sends them: ticks first)."""
    ticks = MarketSimulator(config=MarketConfig(symbols=("BTCUSDT",)), start_us=DAY).generate(20)
    filled = FeedEvent(
        kind="gap_filled",
        venue="sim",
        symbol="BTCUSDT",
        detail="ids 5..9",
        count=5,
        first_id=5,
        last_id=9,
        trade_time_us=int(ticks["trade_time_us"][4].as_py()),
    )
    return [ticks, filled]


def test_gaps_filled_live_are_recorded_with_their_ids_and_day(tmp_path: Path) -> None:
    # Arrange: a feed that fills a gap (ticks first, then the event, as the gap filler does)
    without_ids = FeedEvent(kind="gap_filled", venue="sim", symbol="BTCUSDT", detail="old feed", count=3)
    feed = ScriptedFeed([*_ticks_then_a_filled_gap(), without_ids])
    store = _state(tmp_path)
    instance = _instance("BTCUSDT")

    # Act
    _run_until_done(Streamer(feeds=[feed], bus=EmbeddedTickBus(), state=store, instance=instance), feed)

    # Assert: one record with its ids, day and count (an event without ids is only counted)
    (fill,) = store.gap_fills(date_of(DAY))
    assert (fill.venue, fill.symbol, fill.first_id, fill.last_id, fill.filled) == ("sim", "BTCUSDT", 5, 9, 5)
    assert fill.instance_key == instance.key


def test_nothing_is_recorded_while_the_published_ticks_are_not_durable(tmp_path: Path) -> None:
    # Arrange: the in-process bus's check that the loader stored the ticks never confirms
    feed = ScriptedFeed(_ticks_then_a_filled_gap())
    store = _state(tmp_path)
    streamer = Streamer(
        feeds=[feed],
        bus=EmbeddedTickBus(),
        state=store,
        instance=_instance("BTCUSDT"),
        durable=lambda n: False,
    )

    # Act
    _run_until_done(streamer, feed)

    # Assert: neither restart state nor gap record ran ahead of the store
    saved = store.restart_state(_instance("BTCUSDT"))
    assert saved is None or saved.last_ids == {}  # a beat before the first ticks saves an empty state
    assert store.gap_fills(date_of(DAY)) == []
    # ... yet its last heartbeat says it stopped, rather than leaving it to look dead
    beat = store.heartbeat(_instance("BTCUSDT"))
    assert beat is not None and beat.status == "stopped"


class _UnreachableAtFirst(EmbeddedServiceState):
    """A state store that cannot be reached for its first ``failures`` restart-state saves."""

    def __init__(self, path: Path, failures: int) -> None:
        super().__init__(path)
        self.failures = failures

    def save_restart_state(self, instance: ServiceInstance, state: RestartState) -> None:
        if self.failures > 0:
            self.failures -= 1
            raise ServiceStateUnavailableError("state store away (test)")
        super().save_restart_state(instance, state)


def test_an_unreachable_state_store_is_ridden_out_and_gap_fills_are_recorded_later(tmp_path: Path) -> None:
    # Arrange: the store refuses the first saves (the streamer beats at start and at stop at least)
    feed = ScriptedFeed(_ticks_then_a_filled_gap())
    store = _UnreachableAtFirst(tmp_path / "state.sqlite", failures=2)
    streamer = Streamer(
        feeds=[feed],
        bus=EmbeddedTickBus(),
        state=store,
        instance=_instance("BTCUSDT"),
        config=StreamerConfig(heartbeat_interval_s=0.05),
    )

    # Act: run until the store took a save again (it comes back after two refusals)
    stop = threading.Event()
    thread = threading.Thread(target=streamer.run, args=(stop,))
    thread.start()
    deadline = time.monotonic() + 10
    while store.restart_state(_instance("BTCUSDT")) is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert feed.done.wait(10)
    stop.set()
    thread.join(10)

    # Assert: the streamer kept going, published everything, and the fill was recorded once
    assert not thread.is_alive() and streamer.published == 20
    assert [f.first_id for f in store.gap_fills(date_of(DAY))] == [5]
    saved = store.restart_state(_instance("BTCUSDT"))
    assert saved is not None and saved.last_ids == {"sim": {"BTCUSDT": 20}}


def test_ticks_without_venue_ids_are_counted_but_give_no_last_id(tmp_path: Path) -> None:
    # Arrange: BTCUSDT with trade ids, ETHUSDT with negative content keys (a venue without ids), one table
    ticks = MarketSimulator(config=MarketConfig(symbols=("BTCUSDT", "ETHUSDT")), start_us=DAY).generate(200)
    is_eth = pc.equal(ticks["symbol"], "ETHUSDT")
    keyed = ticks.set_column(
        ticks.schema.get_field_index("trade_id"),
        "trade_id",
        pc.if_else(is_eth, pc.negate(ticks["trade_id"]), ticks["trade_id"]),
    )
    feed = ScriptedFeed([keyed])
    store = _state(tmp_path)
    streamer = Streamer(feeds=[feed], bus=EmbeddedTickBus(), state=store, instance=_instance())

    # Act
    _run_until_done(streamer, feed)

    # Assert
    btc_ids = ticks.filter(pc.invert(is_eth))["trade_id"]
    assert load_state(store, _instance()).last_ids == {"sim": {"BTCUSDT": pc.max(btc_ids).as_py()}}
    eth = pc.sum(is_eth).as_py()
    samples = {
        symbol: streamer.metrics.registry.get_sample_value(
            "tradegraph_streamer_ticks_total", {"venue": "sim", "symbol": symbol}
        )
        for symbol in ("BTCUSDT", "ETHUSDT")
    }
    assert samples == {"BTCUSDT": 200 - eth, "ETHUSDT": eth}


class PublishingWhileAsked(ScriptedFeed):
    """When the streamer asks for the open gaps, another thread of the feed publishes a batch whose ids
    jump (1, 2, 5): as a feed's read thread may at any moment. The feed knows the batch's gap (3..4) from
    then on, but the answer to this question is the one from before the batch."""

    def __init__(self, batch: pa.Table) -> None:
        super().__init__([])
        self.batch: pa.Table | None = batch
        self.sink: FeedSink | None = None
        self.publisher: threading.Thread | None = None

    def unfilled_gaps(self) -> dict[str, list[tuple[int, int]]]:
        before = dict(self.gaps)
        if self.batch is not None and self.sink is not None:
            self.gaps = {"BTCUSDT": [(3, 4)]}
            self.publisher = threading.Thread(target=self.sink.on_ticks, args=(self.batch,))
            self.batch = None
            self.publisher.start()
            self.publisher.join(0.5)  # it finishes unless the streamer keeps publishes out meanwhile
        return before


def test_a_batch_published_while_the_state_is_taken_is_never_saved_without_its_gap(tmp_path: Path) -> None:
    # Arrange: ids 1, 2 and 5 of BTCUSDT, published in the middle of a beat
    ticks = MarketSimulator(config=MarketConfig(symbols=("BTCUSDT",)), start_us=DAY).generate(5)
    jumping = ticks.filter(pc.is_in(ticks["trade_id"], pa.array([1, 2, 5])))
    feed = PublishingWhileAsked(jumping)
    store = _state(tmp_path)
    streamer = Streamer(feeds=[feed], bus=EmbeddedTickBus(), state=store, instance=_instance("BTCUSDT"))
    feed.sink = streamer

    # Act: the beat takes the state while the batch is published; then the next beat
    streamer.beat()
    assert feed.publisher is not None
    feed.publisher.join(10)
    first = load_state(store, _instance("BTCUSDT"))
    streamer.beat()
    second = load_state(store, _instance("BTCUSDT"))

    # Assert: a saved last id of 5 comes with the gap 3..4 (the first beat saved neither; the second both)
    for saved in (first, second):
        if saved.last_ids.get("sim", {}).get("BTCUSDT") == 5:
            assert saved.gaps == {"sim": {"BTCUSDT": [(3, 4)]}}, saved
    assert second.last_ids == {"sim": {"BTCUSDT": 5}}


class FailingFirstFlush(EmbeddedTickBus):
    """A bus whose first flush reports records it could not deliver (and, like Kafka's, forgets them)."""

    def __init__(self) -> None:
        super().__init__()
        self.flushes = 0

    def flush(self, timeout_s: float = 30.0) -> None:
        self.flushes += 1
        if self.flushes == 1:
            raise BusError("3 of 3 records were not acknowledged")
        super().flush(timeout_s)


def test_after_the_bus_lost_records_no_later_acknowledgement_saves_ids_past_them(tmp_path: Path) -> None:
    # Arrange: ids 1..5 published, their flush fails; then ids 6..10 published
    ticks = MarketSimulator(config=MarketConfig(symbols=("BTCUSDT",)), start_us=DAY).generate(10)
    store = _state(tmp_path)
    instance = _instance("BTCUSDT")
    streamer = Streamer(feeds=[], bus=FailingFirstFlush(), state=store, instance=instance)
    streamer.on_ticks(ticks.slice(0, 5))
    with pytest.raises(BusError):
        streamer.acknowledge()
    streamer.on_ticks(ticks.slice(5, 5))

    # Act: the streamer's last beat as it stops
    streamer.beat(status="stopped")

    # Assert: no saved id lies past the lost ones; the heartbeat still says it stopped
    assert load_state(store, instance).last_ids == {}
    beat = store.heartbeat(instance)
    assert beat is not None and beat.status == "stopped"


def test_a_streamer_that_fails_on_the_bus_does_not_report_itself_stopped(tmp_path: Path) -> None:
    # Arrange: a feed that publishes once; the bus's first flush fails
    ticks = MarketSimulator(config=MarketConfig(symbols=("BTCUSDT",)), start_us=DAY).generate(10)
    feed = ScriptedFeed([ticks])
    store = _state(tmp_path)
    instance = _instance("BTCUSDT")
    streamer = Streamer(feeds=[feed], bus=FailingFirstFlush(), state=store, instance=instance)

    # Act
    with pytest.raises(BusError):
        streamer.run(threading.Event())

    # Assert: no heartbeat says it stopped (its silence reads as dead), and no state was saved
    beat = store.heartbeat(instance)
    assert beat is None or beat.status == "running"
    assert load_state(store, instance).last_ids == {}


class FailingAfterTicks(ScriptedFeed):
    """Hands its script over, then fails as a feed does on what reconnecting cannot cure."""

    def run(self, sink: FeedSink, stop: threading.Event) -> None:
        for item in self.script:
            sink.on_ticks(item)  # type: ignore[arg-type]
        raise PermissionError("the venue refused the API key")


def test_a_streamer_whose_every_feed_failed_raises_the_feeds_error_and_does_not_report_itself_stopped(
    tmp_path: Path,
) -> None:
    # Arrange: one feed that publishes 10 ticks and then fails
    ticks = MarketSimulator(config=MarketConfig(symbols=("BTCUSDT",)), start_us=DAY).generate(10)
    store = _state(tmp_path)
    instance = _instance("BTCUSDT")
    bus = EmbeddedTickBus()
    streamer = Streamer(feeds=[FailingAfterTicks([ticks])], bus=bus, state=store, instance=instance)

    # Act
    with pytest.raises(FeedsStoppedError, match="every feed of the streamer stopped") as raised:
        streamer.run(threading.Event())

    # Assert: the feed's error is the cause; what it published was flushed and saved; no "stopped" beat
    assert isinstance(raised.value.__cause__, PermissionError)
    beat = store.heartbeat(instance)
    assert beat is not None and beat.status == "running" and beat.ticks == 10
    assert load_state(store, instance).last_ids != {}
