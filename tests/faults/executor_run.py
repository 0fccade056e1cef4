"""A paper executor as a real process over its own Tansu broker, and the run it must match: the helpers of
the executor fault tests (test_executor_kill.py, test_executor_broker_outage.py).

The market is the first hours of a trending trading day, the champion an XGBoost model trained on the
day before and registered in a sqlite MLflow registry; the reference is the uninterrupted run, the
in-process executor over the embedded bus on the same ticks (as in
tests/trading_assets/services/test_executor.py). A :class:`Publisher` puts the day onto the broker while
the executor runs, and :func:`assert_same_ledger` compares what the executor left with the reference.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import pickle
import threading
import time
from collections.abc import Mapping
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
from kafka import TopicPartition

from resources.bus.embedded import EmbeddedTickBus
from resources.bus.kafka import KafkaTickBus
from resources.model_registry.base import ModelRegistry
from resources.model_registry.factory import ModelRegistryConfig, open_model_registry
from resources.table_store.base import TableStore
from resources.table_store.embedded import EmbeddedTableStore
from testkit.champions import register_champion
from testkit.harness import Processes, TradegraphProcess, log_lines
from trading_assets.core.time import day_start_us
from trading_assets.execution.checkpoint import load_checkpoint
from trading_assets.execution.ledger import Ledger
from trading_assets.execution.ledger_tables import EQUITY, ORDERS, FillRow
from trading_assets.market.simulation import MarketConfig, MarketSimulator
from trading_assets.services.executor import Executor, ExecutorConfig
from trading_assets.trading.orders import Fill
from trading_assets.trading.portfolio import Portfolio

SYMBOL = "BTCUSDT"
VENUE = "sim"
TOPIC = f"ticks.{VENUE}"
GROUP = "executor"  # the group `tradegraph execute` joins
DAY = dt.date(2026, 3, 2)
HOURS = 12  # the executor trades the first hours of the day (about 720 bars, tens of fills)
PUBLISH_ROWS = 50  # ticks published ...
PUBLISH_S = 0.15  # ... every this many seconds (about 330 ticks/s) ...
HELD_BACK = 0.15  # ... up to this fraction of the end, published only once released


# --- the market, the champion and the reference ------------------------------------------------------


def trading_day() -> tuple[pa.Table, pa.Table]:
    """A training day and the first hours of a trading day of a trending symbol (ticks of each)."""
    config = MarketConfig(
        symbols=(SYMBOL,), trades_per_second=40_000 / 86_400, trend=((SYMBOL, 0.1),), seed=11
    )
    ticks = MarketSimulator(config=config, start_us=day_start_us(DAY - dt.timedelta(days=1))).generate(80_000)
    split = day_start_us(DAY)
    before = ticks.filter(pc.less(ticks["trade_time_us"], split))
    after = ticks.filter(pc.greater_equal(ticks["trade_time_us"], split))
    return before, after.filter(pc.less(after["trade_time_us"], split + HOURS * 3_600_000_000))


def champion_registry(root: Path, training: pa.Table) -> ModelRegistry:
    """A sqlite MLflow registry under ``root`` whose champion for SYMBOL is trained on ``training``."""
    opened = open_model_registry(ModelRegistryConfig(tracking_uri=f"sqlite:///{root / 'mlflow.db'}"))
    register_champion(opened, training, SYMBOL)
    return opened


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Outcome:
    """What a finished executor left: its ledger, and the portfolio and risk state of its last checkpoint."""

    fills: list[FillRow]
    order_ids: list[str]
    equity: list[tuple]
    portfolio: object
    risk: object


def outcome(store: TableStore, instance: str) -> Outcome:
    """What the executor ``instance`` left in ``store``."""
    state = Ledger(store).load(2**62)
    saved = load_checkpoint(store, instance)
    assert saved is not None, "no checkpoint stored"
    checkpoint = pickle.loads(saved[2])  # the executor's own pickle, written by this test's code
    everything = {"start_us": 0, "end_us": 2**62}
    orders = sorted(
        ORDERS.from_table(store.read(ORDERS.spec, **everything)), key=lambda o: (o.decision_us, o.order_id)
    )
    equity = EQUITY.from_table(store.read(EQUITY.spec, **everything))
    return Outcome(
        fills=list(state.fills),
        order_ids=[order.order_id for order in orders],
        equity=sorted(dataclasses.astuple(row) for row in equity),
        portfolio=checkpoint["portfolio"],
        risk=checkpoint["risk"],
    )


def uninterrupted(root: Path, ticks: pa.Table, registry: ModelRegistry) -> Outcome:
    """The uninterrupted run on ``ticks``: the in-process executor over the embedded bus (store under ``root``)."""
    bus = EmbeddedTickBus()
    for start in range(0, ticks.num_rows, PUBLISH_ROWS):
        bus.publish(ticks.slice(start, PUBLISH_ROWS))
    bus.flush()
    store = EmbeddedTableStore(root / "tables")
    config = ExecutorConfig(symbols=(SYMBOL,), venues=(VENUE,), checkpoint_s=1e9, poll_timeout_s=0.01)
    executor = Executor(bus.consumer(group=GROUP, venues=[VENUE]), registry, store, config)
    executor.start()
    idle = 0
    while idle < 3:
        idle = idle + 1 if executor.run_once() is None else 0
    executor.checkpoint()
    assert executor.stats.ticks == ticks.num_rows
    return outcome(store, config.instance)


# --- the broker, the process and the waits -----------------------------------------------------------


def executor_env(home: Path, bootstrap: str, registry: ModelRegistry) -> dict[str, str]:
    """The environment of a ``tradegraph execute`` on the broker at ``bootstrap``, keeping its ledger and
    checkpoint in the embedded table store under ``home``."""
    return {
        "TRADEGRAPH_HOME": str(home),
        "TRADEGRAPH_BUS": "kafka",
        "TRADEGRAPH_KAFKA_BOOTSTRAP": bootstrap,
        "TRADEGRAPH_STORE": "embedded",
        "TRADEGRAPH_MLFLOW_URI": registry.tracking_uri,
        "TRADEGRAPH_SYMBOLS": SYMBOL,
        "TRADEGRAPH_VENUES": VENUE,
    }


class Publisher(threading.Thread):
    """Publishes the slice to the broker in its own thread, one tick per record (a poll of 500 records is
    then a few bars, so the executor checkpoints every poll or two), at a steady pace up to HELD_BACK of
    the end (then :attr:`held` is set), and the rest only once released (:meth:`release`): every fault
    lands while ticks are still coming."""

    def __init__(self, bootstrap: str, ticks: pa.Table) -> None:
        super().__init__(name="publisher", daemon=True)
        self.bus = KafkaTickBus(bootstrap, max_ticks_per_record=1)
        self.bus.ensure_topics([TOPIC])
        self.ticks = ticks
        self.error: BaseException | None = None
        self.published = 0
        self._released = threading.Event()
        self._halt = threading.Event()
        self.held = threading.Event()
        """Set once everything up to HELD_BACK of the end is published."""

    def run(self) -> None:
        hold_at = int(self.ticks.num_rows * (1 - HELD_BACK))
        try:
            while self.published < self.ticks.num_rows and not self._halt.is_set():
                if self.published >= hold_at:
                    self.held.set()
                    self._released.wait(0.1)
                if self.published < hold_at or self._released.is_set():
                    self.bus.publish(self.ticks.slice(self.published, PUBLISH_ROWS))
                    self.bus.flush(timeout_s=30)
                    self.published = min(self.published + PUBLISH_ROWS, self.ticks.num_rows)
                    if not self._released.is_set():
                        self._halt.wait(PUBLISH_S)
        except BaseException as exc:  # reported by finish()
            self.error = exc

    def release(self) -> None:
        """Publish the held-back rest without pause."""
        self._released.set()

    def finish(self, timeout_s: float) -> None:
        """Wait until everything is published; fail after ``timeout_s`` or on a publishing error."""
        self.release()
        self.join(timeout_s)
        if self.is_alive() or self.error is not None:
            raise AssertionError(
                f"published {self.published} of {self.ticks.num_rows} ticks in {timeout_s} s: {self.error!r}"
            )

    def stop(self) -> None:
        """Stop publishing and close the bus (also after a failure elsewhere)."""
        self._halt.set()
        self.join(30)
        self.bus.close()


def end_offsets(bus: KafkaTickBus, topic: str) -> dict[int, int]:
    """Per partition one past the last record's offset, read from the topic until it is quiet (Tansu's
    ListOffsets answers cannot be trusted, see KafkaTickBus.dead_letters)."""
    consumer = bus.new_kafka_consumer(group=None)
    try:
        partitions = sorted(consumer.partitions_for_topic(topic) or ())
        consumer.assign([TopicPartition(topic, p) for p in partitions])
        consumer.seek_to_beginning()
        ends: dict[int, int] = {}
        deadline, quiet_since = time.monotonic() + 30.0, time.monotonic()
        while time.monotonic() < deadline and time.monotonic() - quiet_since < 1.5:
            for tp, records in consumer.poll(timeout_ms=200).items():
                ends[tp.partition] = max(ends.get(tp.partition, 0), records[-1].offset + 1)
                quiet_since = time.monotonic()
        return ends
    finally:
        consumer.close(autocommit=False)


def wait_committed(bus: KafkaTickBus, topic: str, ends: Mapping[int, int], timeout_s: float) -> dict:
    """Wait until the executor's group has committed every partition's end offset; the last committed."""
    consumer = bus.new_kafka_consumer(group=GROUP)  # never subscribes: reads the group's offsets only
    committed: dict[int, int | None] = {}
    try:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            committed = {p: consumer.committed(TopicPartition(topic, p)) for p in ends}
            if all(committed[p] == end for p, end in ends.items()):
                return committed
            time.sleep(0.25)
    finally:
        consumer.close(autocommit=False)
    raise AssertionError(
        f"the executor did not commit the end of {topic} {dict(ends)} in {timeout_s} s: {committed}"
    )


def wait_joined(process: TradegraphProcess, offset: int, timeout_s: float = 45.0) -> None:
    """Wait until this start of the process has partitions assigned in its group (seconds on Tansu)."""
    deadline = time.monotonic() + timeout_s
    while not log_lines(process.log_path, r"Setting newly assigned partitions", offset=offset):
        assert process.exit_code is None, f"the executor exited ({process.exit_code}) before joining"
        assert time.monotonic() < deadline, f"the executor joined no group within {timeout_s} s"
        time.sleep(0.05)


def run_to_the_end(
    publisher: Publisher, executor: TradegraphProcess, bootstrap: str, processes: Processes
) -> None:
    """Publish the held-back rest, wait until the executor's group has committed the end of the topic,
    then stop the executor with SIGTERM; it must exit cleanly."""
    publisher.finish(timeout_s=60)
    bus = KafkaTickBus(bootstrap)
    try:
        wait_committed(bus, TOPIC, end_offsets(bus, TOPIC), timeout_s=90)
    finally:
        bus.close()
    exit_code = executor.terminate(timeout_s=30)
    assert exit_code == 0, f"the last run did not exit cleanly: {exit_code}\n{processes.diagnostics(40)}"


def _fill(row: FillRow) -> Fill:
    values = {field.name: getattr(row, field.name) for field in dataclasses.fields(Fill)}
    return Fill(**values | {"model_version": str(row.model_version)})


def _replayed(fills: list[FillRow]) -> tuple[float, dict[str, tuple[float, float]]]:
    """Cash and positions (quantity, average cost) of a new account after the fills, in ledger order."""
    portfolio = Portfolio(100_000.0)
    for row in fills:
        assert portfolio.apply(_fill(row)), f"fill {row.fill_id} applied twice"
    return portfolio.cash, {s: (p.quantity, p.avg_cost) for s, p in portfolio.positions.items()}


def assert_same_ledger(got: Outcome, reference: Outcome, context: str) -> None:
    """The executor's ledger is the reference's: the same fills in the same order (time, side, quantity,
    price, fee, model version), no fill id twice, the same orders and equity rows, the same cash and
    positions (the fills replayed, and the last checkpoint's portfolio) and the same risk state."""
    assert reference.fills, "the reference run made no fill: nothing was tested"
    ids = [fill.fill_id for fill in got.fills]
    assert len(ids) == len(set(ids)), f"fill ids twice in the ledger\n{context}"

    def key(fill: FillRow) -> tuple:
        return (
            fill.fill_id,
            fill.time_us,
            fill.side,
            fill.quantity,
            fill.price,
            fill.fee,
            fill.model_version,
        )

    assert [key(f) for f in got.fills] == [key(f) for f in reference.fills], context
    assert got.fills == reference.fills, context
    assert got.order_ids == reference.order_ids, context
    assert _replayed(got.fills) == _replayed(reference.fills)
    assert got.equity == reference.equity, context
    assert got.portfolio == reference.portfolio, context
    assert got.risk == reference.risk, context
    assert (got.risk.latched, got.risk.high_water_mark) == (  # type: ignore[attr-defined]
        reference.risk.latched,  # type: ignore[attr-defined]
        reference.risk.high_water_mark,  # type: ignore[attr-defined]
    )
