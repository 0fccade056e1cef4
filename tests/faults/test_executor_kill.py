"""Kill -9 the paper executor at random points and restart it: the ledger ends as an uninterrupted run's.

A real ``tradegraph execute`` process reads the first hours of a trending trading day from its own Tansu
broker, published by this test while the executor runs (one tick per record, so a poll is a few bars
and the executor checkpoints every poll or two; the last part only after the last kill, so every kill
lands mid-stream). It trades a champion registered in a sqlite MLflow registry and keeps its ledger and
checkpoint in the embedded table store of its TRADEGRAPH_HOME. It checkpoints every 0.5 s and dies five
times, in this order:

- SIGKILL from outside a seeded random 0.05..1.5 s after joining its group (between checkpoints or in one),
- at the failpoint ``executor.after_ledger`` (a checkpoint's new fills are in the ledger; the checkpoint
  and the offset commit are not),
- SIGKILL right after a checkpoint file was replaced (between the checkpoint and the commit, or just after),
- at the failpoint ``executor.before_commit`` (new fills and the checkpoint stored; offsets not committed),
- SIGKILL a seeded random time after joining again.

Each time it is started again; the last run goes on until its group has committed the end of the topic,
then stops on SIGTERM. The ledger must then equal that of the in-process executor over the embedded bus on
the same ticks (the reference, as in tests/trading_assets/services/test_executor.py): the same fills in
the same order with equal time, side, quantity, price, fee and model version, no fill id twice, the same
orders and equity rows, the same cash and positions (the fills replayed into a Portfolio, and the last
checkpoint's portfolio), and the same risk state (latch, high-water mark).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import pickle
import signal
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from kafka import TopicPartition

from resources.bus.embedded import EmbeddedTickBus
from resources.bus.kafka import KafkaTickBus
from resources.model_registry.base import ModelRegistry
from resources.model_registry.factory import ModelRegistryConfig, open_model_registry
from resources.table_store.embedded import EmbeddedTableStore
from testkit.champions import register_champion
from testkit.harness import Processes, TradegraphProcess, log_lines
from testkit.servers import KafkaBroker
from trading_assets.core.time import day_start_us
from trading_assets.execution.checkpoint import checkpoint_table, load_checkpoint
from trading_assets.execution.ledger import Ledger
from trading_assets.execution.ledger_tables import EQUITY, ORDERS, FillRow
from trading_assets.market.simulation import MarketConfig, MarketSimulator
from trading_assets.services.executor import Executor, ExecutorConfig
from trading_assets.trading.orders import Fill
from trading_assets.trading.portfolio import Portfolio

pytestmark = pytest.mark.slow

SYMBOL = "BTCUSDT"
VENUE = "sim"
GROUP = "executor"  # the group `tradegraph execute` joins
DAY = dt.date(2026, 3, 2)
SEED = 20260302
CHECKPOINT_S = 0.5
HOURS = 12  # the executor trades the first hours of the day (about 720 bars, tens of fills)
PUBLISH_ROWS = 50  # ticks published ...
PUBLISH_S = 0.15  # ... every this many seconds (about 330 ticks/s) ...
HELD_BACK = 0.15  # ... up to this fraction of the end, published only after the last kill
RUN_S = 150  # --duration of every run: a bound, never reached when the test works


# --- the market and the champion (as in tests/trading_assets/services/test_executor.py) ------------


@pytest.fixture(scope="module")
def market() -> tuple[pa.Table, pa.Table]:
    """A training day and the first hours of a trading day of a trending symbol (ticks of each)."""
    config = MarketConfig(
        symbols=(SYMBOL,), trades_per_second=40_000 / 86_400, trend=((SYMBOL, 0.1),), seed=11
    )
    ticks = MarketSimulator(config=config, start_us=day_start_us(DAY - dt.timedelta(days=1))).generate(80_000)
    split = day_start_us(DAY)
    before = ticks.filter(pc.less(ticks["trade_time_us"], split))
    after = ticks.filter(pc.greater_equal(ticks["trade_time_us"], split))
    return before, after.filter(pc.less(after["trade_time_us"], split + HOURS * 3_600_000_000))


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory, market: tuple[pa.Table, pa.Table]) -> ModelRegistry:
    """A sqlite MLflow registry whose champion for SYMBOL is an XGBoost model trained on the first day."""
    root = tmp_path_factory.mktemp("registry")
    opened = open_model_registry(ModelRegistryConfig(tracking_uri=f"sqlite:///{root / 'mlflow.db'}"))
    register_champion(opened, market[0], SYMBOL)
    return opened


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Outcome:
    """What a finished executor left: its ledger, and the portfolio and risk state of its last checkpoint."""

    fills: list[FillRow]
    order_ids: list[str]
    equity: list[tuple]
    portfolio: object
    risk: object


def _outcome(store: EmbeddedTableStore, instance: str) -> Outcome:
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


@pytest.fixture(scope="module")
def reference(
    tmp_path_factory: pytest.TempPathFactory, market: tuple[pa.Table, pa.Table], registry: ModelRegistry
) -> Outcome:
    """The uninterrupted run: the in-process executor over the embedded bus on the same ticks."""
    bus = EmbeddedTickBus()
    for start in range(0, market[1].num_rows, PUBLISH_ROWS):
        bus.publish(market[1].slice(start, PUBLISH_ROWS))
    bus.flush()
    store = EmbeddedTableStore(tmp_path_factory.mktemp("reference") / "tables")
    config = ExecutorConfig(symbols=(SYMBOL,), venues=(VENUE,), checkpoint_s=1e9, poll_timeout_s=0.01)
    executor = Executor(bus.consumer(group=GROUP, venues=[VENUE]), registry, store, config)
    executor.start()
    idle = 0
    while idle < 3:
        idle = idle + 1 if executor.run_once() is None else 0
    executor.checkpoint()
    assert executor.stats.ticks == market[1].num_rows
    return _outcome(store, config.instance)


# --- the broker, the process and the waits -- --------------------------------------------------------


class Publisher(threading.Thread):
    """Publishes the slice to the broker in its own thread, one tick per record (a poll of 500 records is
    then a few bars, so the executor checkpoints every poll or two), at a steady pace up to HELD_BACK of
    the end, and the rest only once released (:meth:`release`): every kill lands while ticks are still coming."""

    def __init__(self, bootstrap: str, ticks: pa.Table) -> None:
        super().__init__(name="publisher", daemon=True)
        self.bus = KafkaTickBus(bootstrap, max_ticks_per_record=1)
        self.bus.ensure_topics([f"ticks.{VENUE}"])
        self.ticks = ticks
        self.error: BaseException | None = None
        self.published = 0
        self._released = threading.Event()
        self._halt = threading.Event()

    def run(self) -> None:
        hold_at = int(self.ticks.num_rows * (1 - HELD_BACK))
        try:
            while self.published < self.ticks.num_rows and not self._halt.is_set():
                if self.published >= hold_at:
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


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[KafkaBroker]:
    """A Tansu broker of this test only (the group and topic names are those of every executor)."""
    with KafkaBroker(tmp_path / "tansu") as started:
        yield started  # type: ignore[misc]


def _end_offsets(bus: KafkaTickBus, topic: str) -> dict[int, int]:
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


def _wait_committed(bus: KafkaTickBus, topic: str, ends: Mapping[int, int], timeout_s: float) -> dict:
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


def _wait_joined(process: TradegraphProcess, offset: int, timeout_s: float = 45.0) -> None:
    """Wait until this start of the process has partitions assigned in its group (seconds on Tansu)."""
    deadline = time.monotonic() + timeout_s
    while not log_lines(process.log_path, r"Setting newly assigned partitions", offset=offset):
        assert process.exit_code is None, f"the executor exited ({process.exit_code}) before joining"
        assert time.monotonic() < deadline, f"the executor joined no group within {timeout_s} s"
        time.sleep(0.05)


def _mtime_ns(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except FileNotFoundError:
        return 0


def _wait_new_checkpoint(checkpoints: Path, timeout_s: float = 20.0) -> None:
    """Wait until a checkpoint file is replaced (the executor has just stored a checkpoint)."""

    def newest() -> int:
        return max((_mtime_ns(path) for path in checkpoints.glob("day=*/part.parquet")), default=0)

    before, deadline = newest(), time.monotonic() + timeout_s
    while newest() == before:
        assert time.monotonic() < deadline, f"no checkpoint stored within {timeout_s} s"
        time.sleep(0.002)


def _fill(row: FillRow) -> Fill:
    values = {field.name: getattr(row, field.name) for field in dataclasses.fields(Fill)}
    return Fill(**values | {"model_version": str(row.model_version)})


def _replayed(fills: list[FillRow]) -> tuple[float, dict[str, tuple[float, float]]]:
    """Cash and positions (quantity, average cost) of a new account after the fills, in ledger order."""
    portfolio = Portfolio(100_000.0)
    for row in fills:
        assert portfolio.apply(_fill(row)), f"fill {row.fill_id} applied twice"
    return portfolio.cash, {s: (p.quantity, p.avg_cost) for s, p in portfolio.positions.items()}


# --- the test ----------------------------------------------------------------------------------------


def test_executor_sigkilled_at_random_points_ends_with_the_uninterrupted_ledger(
    tmp_path: Path,
    market: tuple[pa.Table, pa.Table],
    registry: ModelRegistry,
    reference: Outcome,
    broker: KafkaBroker,
) -> None:
    # Arrange: the day goes onto the broker at a steady pace while the executor runs and dies
    rng = np.random.default_rng(SEED)
    topic = f"ticks.{VENUE}"
    home = tmp_path / "home"
    env = {
        "TRADEGRAPH_HOME": str(home),
        "TRADEGRAPH_BUS": "kafka",
        "TRADEGRAPH_KAFKA_BOOTSTRAP": broker.bootstrap,
        "TRADEGRAPH_STORE": "embedded",
        "TRADEGRAPH_MLFLOW_URI": registry.tracking_uri,
        "TRADEGRAPH_SYMBOLS": SYMBOL,
        "TRADEGRAPH_VENUES": VENUE,
    }
    args = ["execute", "--duration", str(RUN_S), "--checkpoint-seconds", str(CHECKPOINT_S)]
    executor = TradegraphProcess(tmp_path / "executor", name="executor", args=args, env=env, service=None)
    checkpoints = home / "tables" / checkpoint_table("default").name
    processes = Processes()
    deaths: list[str] = []
    publisher = Publisher(broker.bootstrap, market[1])

    def stored_fills() -> int:
        return len(Ledger(EmbeddedTableStore(home / "tables")).load(2**62).fills)

    def start(failpoint: str | None = None) -> int:
        executor.env = {**env, "TRADEGRAPH_FAILPOINTS": f"{failpoint}"} if failpoint else dict(env)
        offset = executor.log_path.stat().st_size if executor.log_path.exists() else 0
        if executor in processes:
            executor.start()
        else:
            processes.start(executor)
        return offset

    try:
        publisher.start()
        kills = [
            "random",
            "executor.after_ledger=1",
            "after_checkpoint",
            "executor.before_commit=1",
            "random",
        ]
        for kill in kills:
            if kill.startswith("executor."):
                # A failpoint: the run dies by itself between a checkpoint's stored fills and its commit
                offset = start(kill)
                exit_code = executor.wait_exit(timeout_s=90)
                name = kill.partition("=")[0]
                assert exit_code == -signal.SIGKILL, (
                    f"the executor did not die at {kill}: exit {exit_code}\n{processes.diagnostics(40)}"
                )
                assert log_lines(executor.log_path, rf"failpoint {name} reached", offset=offset)
                executor.forget()
            else:
                # A SIGKILL from outside, a seeded random time after joining or right after a checkpoint
                offset = start()
                _wait_joined(executor, offset)
                if kill == "random":
                    delay = float(rng.uniform(0.05, 3 * CHECKPOINT_S))
                    time.sleep(delay)
                    kill = f"SIGKILL {delay:.2f} s after joining"
                else:
                    _wait_new_checkpoint(checkpoints)
                    kill = "SIGKILL right after a checkpoint"
                executor.sigkill()
            deaths.append(f"{kill}: {stored_fills()} fills stored, {publisher.published} ticks published")
        assert publisher.is_alive() and publisher.published < market[1].num_rows, "a kill came after the end"
        # The last run: the rest of the slice; it ends once its group committed the end of the topic
        start()
        publisher.finish(timeout_s=60)
        bus = KafkaTickBus(broker.bootstrap)
        try:
            _wait_committed(bus, topic, _end_offsets(bus, topic), timeout_s=90)
        finally:
            bus.close()
        exit_code = executor.terminate(timeout_s=30)
        assert exit_code == 0, f"the last run did not exit cleanly: {exit_code}\n{processes.diagnostics(40)}"
    finally:
        try:
            processes.close()
        finally:
            publisher.stop()

    # Assert: the ledger of the killed and restarted executor is the uninterrupted run's
    got = _outcome(EmbeddedTableStore(home / "tables"), "default")
    context = f"deaths: {deaths}\n{processes.diagnostics(40)}"
    print("executor deaths:", *deaths, sep="\n  ")
    assert len(deaths) == 5
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
