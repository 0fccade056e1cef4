"""The executor's ledger on both table stores: ClickHouse 18.16 (real server) and the embedded store.

``open_store()`` opens another store on the same tables, as the restarted executor (or the ``risk
reset`` command) would.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pyarrow as pa
import pytest

from resources.table_store import TablePartition, TableSpec, TableStore, TableStoreConfig, open_table_store
from resources.table_store.base import FilterValue
from testkit.servers import ClickHouseServer
from tests.resources.clickhouse.admin import drop_database
from trading_assets.core.time import US_PER_DAY, US_PER_MINUTE, US_PER_SECOND, day_start_us
from trading_assets.execution.ledger import Ledger, risk_reset
from trading_assets.execution.ledger_tables import (
    EQUITY,
    FILLS,
    ORDERS,
    POSITIONS,
    RISK_EVENTS,
    RISK_RESETS,
    RISK_STATE,
    EquityRow,
    FillRow,
    LedgerTable,
    OrderRow,
    PositionRow,
    RiskEventRow,
    RiskStateRow,
    event_id,
)

DAY = dt.date(2024, 3, 1)
T0 = day_start_us(DAY) + 10 * US_PER_MINUTE
MIDNIGHT = day_start_us(DAY) + US_PER_DAY

_databases = itertools.count()

OpenStore = Callable[[], TableStore]


@pytest.fixture(params=["clickhouse", "embedded"])
def open_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[OpenStore]:
    """Opens stores on this test's own tables: a fresh ClickHouse database (dropped after) or folder."""
    database = ""
    if request.param == "embedded":
        config = TableStoreConfig(kind="embedded", embedded_dir=tmp_path / "tables")
    else:
        server: ClickHouseServer = request.getfixturevalue("clickhouse_server")
        database = f"ledger_{os.getpid()}_{next(_databases)}"
        config = TableStoreConfig(kind="clickhouse", clickhouse_url=server.url, clickhouse_database=database)
    opened: list[TableStore] = []

    def open_store() -> TableStore:
        store = open_table_store(config)
        opened.append(store)
        return store

    yield open_store
    for store in opened:
        store.close()
    if database:
        drop_database(config.clickhouse_url, database)


@pytest.fixture
def store(open_store: OpenStore) -> TableStore:
    return open_store()


def order(n: int, *, symbol: str = "BTCUSDT", bar_us: int = T0, version: int = 3) -> OrderRow:
    return OrderRow(
        order_id=f"order-{symbol}-{n}-{version}",
        symbol=symbol,
        side=1 if n % 2 == 0 else -1,
        quantity=0.25 + n,
        decision_us=bar_us + US_PER_MINUTE,
        bar_minute_us=bar_us,
        model_name=f"model_{symbol.lower()}",
        model_version=version,
        run_id=f"run{version:04d}",
        reason="signal",
    )


def fill_of(placed: OrderRow, *, delay_us: int = 250_000, price: float = 100.0) -> FillRow:
    return FillRow(
        fill_id=placed.order_id,
        order_id=placed.order_id,
        symbol=placed.symbol,
        side=placed.side,
        quantity=placed.quantity,
        decision_us=placed.decision_us,
        bar_minute_us=placed.bar_minute_us,
        model_name=placed.model_name,
        model_version=placed.model_version,
        run_id=placed.run_id,
        reason=placed.reason,
        time_us=placed.decision_us + delay_us,
        reference_price=price,
        price=price * (1 + 1e-4 * placed.side),
        fee=price * placed.quantity * 1e-3,
    )


def position(n: int, time_us: int = T0) -> PositionRow:
    return PositionRow(
        time_us=time_us + n, symbol="ETHUSDT", quantity=-1.5 * n, average_cost=3000.0 + n,
        realized_pnl=-12.5, fees=0.75, fill_id=f"fill-{n}",
    )  # fmt: skip


def equity(n: int, time_us: int = T0) -> EquityRow:
    return EquityRow(
        time_us=time_us + n * US_PER_MINUTE, cash=10_000.0 - n, equity=10_050.5 - n, realized_pnl=3.25,
        unrealized_pnl=47.25 - n, fees=1.5, gross_exposure=500.0, net_exposure=-250.0,
        high_water_mark=10_100.0, drawdown=1 - (10_050.5 - n) / 10_100.0,
    )  # fmt: skip


def denial(n: int, rule: str = "max_order_notional") -> RiskEventRow:
    denied = order(n)
    return RiskEventRow(
        event_id=event_id("denial", denied.order_id, rule), time_us=denied.decision_us, kind="denial",
        rule=rule, order_id=denied.order_id, symbol=denied.symbol, state="ACTIVE",
        detail=f"notional {1000 + n} > 1000", who="executor", why="",
    )  # fmt: skip


def risk_state(
    time_us: int, *, latched: bool = False, hwm: float = 10_100.0, breaches: int = 0
) -> RiskStateRow:
    return RiskStateRow(
        time_us=time_us, state="HALTED" if latched else "ACTIVE", latched=latched, high_water_mark=hwm,
        breaches=breaches, day_start_equity=10_000.0,
    )  # fmt: skip


def stored(store: TableStore, table: LedgerTable[object]) -> list[object]:
    """Every row of ``table`` in the store, in key order."""
    return list(table.from_table(store.read(table.spec, start_us=0, end_us=2**62)))


# -- round trips -----------------------------------------------------------------------------------


def test_each_table_stores_its_rows_exactly(store: TableStore) -> None:
    ledger = Ledger(store)
    ledger.load(T0)
    orders = [order(n) for n in range(3)]
    events = [denial(1), denial(2, "gross_exposure")]
    states = [risk_state(T0), risk_state(T0 + US_PER_SECOND, latched=True, breaches=3)]

    assert ledger.record_orders(orders) == 3
    assert ledger.record_fills([fill_of(o) for o in orders]) == 3
    assert ledger.record_positions([position(n) for n in range(3)]) == 3
    assert ledger.record_equity([equity(n) for n in range(3)]) == 3
    assert ledger.record_risk_events(events) == 2
    assert [ledger.save_risk_state(s) for s in states] == [True, True]

    assert stored(store, ORDERS) == orders
    assert stored(store, FILLS) == [fill_of(o) for o in orders]
    assert stored(store, POSITIONS) == [position(n) for n in range(3)]
    assert stored(store, EQUITY) == [equity(n) for n in range(3)]
    assert stored(store, RISK_EVENTS) == events
    assert stored(store, RISK_STATE) == states


def test_every_order_and_fill_row_carries_symbol_and_model_attribution(store: TableStore) -> None:
    ledger = Ledger(store)
    ledger.load(T0)
    placed = order(1, symbol="SOLUSDT", version=7)

    ledger.record_orders([placed])
    ledger.record_fills([fill_of(placed)])

    for table in (ORDERS, FILLS):
        row = store.read(table.spec, start_us=0, end_us=2**62).to_pylist()[0]
        assert (row["symbol"], row["model_name"], row["model_version"], row["run_id"]) == (
            "SOLUSDT", "model_solusdt", 7, "run0007",
        )  # fmt: skip


# -- idempotence -----------------------------------------------------------------------------------


def test_recording_the_same_fill_twice_stores_one_row(store: TableStore) -> None:
    ledger = Ledger(store)
    ledger.load(T0)
    filled = fill_of(order(1))

    first = ledger.record_fills([filled, filled])
    second = ledger.record_fills([filled])

    assert (first, second) == (1, 0)
    assert stored(store, FILLS) == [filled]


def test_a_restarted_ledger_does_not_store_a_stored_fill_or_order_again(open_store: OpenStore) -> None:
    placed = order(1)
    before = Ledger(open_store())
    before.load(T0)
    before.record_orders([placed])
    before.record_fills([fill_of(placed)])

    after = Ledger(open_store())
    after.load(T0 + US_PER_DAY)
    counts = (after.record_orders([placed]), after.record_fills([fill_of(placed)]))

    assert counts == (0, 0)
    assert stored(open_store(), ORDERS) == [placed]
    assert stored(open_store(), FILLS) == [fill_of(placed)]


def test_re_derived_snapshots_and_risk_events_are_not_stored_twice(store: TableStore) -> None:
    ledger = Ledger(store)
    ledger.record_positions([position(1)])
    ledger.record_equity([equity(1)])
    ledger.record_risk_events([denial(1)])
    ledger.save_risk_state(risk_state(T0, latched=True))

    again = (
        ledger.record_positions([position(1), position(2)]),
        ledger.record_equity([equity(1)]),
        ledger.record_risk_events([denial(1)]),
        ledger.save_risk_state(risk_state(T0, latched=True)),
    )

    assert again == (1, 0, 0, False)
    assert stored(store, POSITIONS) == [position(1), position(2)]
    assert stored(store, EQUITY) == [equity(1)]
    assert stored(store, RISK_EVENTS) == [denial(1)]


# -- days ------------------------------------------------------------------------------------------


def test_a_batch_across_midnight_is_split_into_the_two_days(store: TableStore) -> None:
    ledger = Ledger(store)
    ledger.load(MIDNIGHT)
    late = [equity(n, MIDNIGHT - 2 * US_PER_MINUTE) for n in range(4)]  # 23:58 .. 00:01

    ledger.record_equity(late)
    ledger.record_equity([equity(0, MIDNIGHT + US_PER_MINUTE // 2)])

    days = {partition.day: partition.rows for partition in store.days(EQUITY.spec)}
    assert days == {DAY: 2, DAY + dt.timedelta(days=1): 3}
    next_day = store.read(EQUITY.spec, start_us=MIDNIGHT, end_us=MIDNIGHT + US_PER_DAY)
    assert EQUITY.from_table(next_day) == [late[2], equity(0, MIDNIGHT + US_PER_MINUTE // 2), late[3]]


def test_fills_load_in_the_order_they_were_recorded_across_days(store: TableStore) -> None:
    ledger = Ledger(store)
    ledger.load(T0)
    later = fill_of(order(1, bar_us=MIDNIGHT + US_PER_MINUTE))
    earlier = fill_of(order(2, symbol="ETHUSDT"))  # an earlier day, recorded after

    ledger.record_fills([later])
    ledger.record_fills([earlier])
    state = Ledger(store).load(MIDNIGHT + US_PER_DAY)

    assert state.fills == (later, earlier)


# -- load and restart ------------------------------------------------------------------------------


def test_load_returns_what_was_written(open_store: OpenStore) -> None:
    ledger = Ledger(open_store())
    ledger.load(T0)
    orders = [order(n) for n in range(4)] + [order(9, symbol="ETHUSDT", bar_us=MIDNIGHT)]
    fills = [fill_of(o) for o in orders[:3]] + [fill_of(orders[4])]
    ledger.record_orders(orders)
    ledger.record_fills(fills)
    ledger.record_positions([position(1), position(2)])
    ledger.record_equity([equity(n) for n in range(5)])
    ledger.save_risk_state(risk_state(T0, hwm=10_000.0))
    ledger.save_risk_state(risk_state(T0 + US_PER_MINUTE, latched=True, hwm=10_200.0, breaches=4))

    state = Ledger(open_store()).load(MIDNIGHT + US_PER_DAY)

    assert state.order_ids == {o.order_id for o in orders}
    assert state.fill_ids == {f.fill_id for f in fills}
    assert state.fills == tuple(fills)
    assert state.positions == (position(2),)
    assert state.equity == equity(4)
    assert state.risk_state == risk_state(T0 + US_PER_MINUTE, latched=True, hwm=10_200.0, breaches=4)


def test_load_is_the_state_as_of_its_time_but_done_covers_every_stored_fill(store: TableStore) -> None:
    ledger = Ledger(store)
    ledger.load(T0)
    today, tomorrow = order(1), order(2, bar_us=MIDNIGHT)
    ledger.record_fills([fill_of(today), fill_of(tomorrow)])
    ledger.record_equity([equity(0), equity(0, MIDNIGHT)])

    restarted = Ledger(store)
    state = restarted.load(MIDNIGHT - 1)

    assert state.fills == (fill_of(today),)
    assert state.equity == equity(0)
    assert restarted.done(today.order_id) and restarted.done(tomorrow.order_id)


def test_the_latest_risk_state_wins_also_between_rows_of_the_same_time(store: TableStore) -> None:
    ledger = Ledger(store)
    ledger.save_risk_state(risk_state(T0, latched=True))
    ledger.save_risk_state(risk_state(T0))

    assert Ledger(store).load(T0).risk_state == risk_state(T0)


def test_an_empty_ledger_loads_as_nothing_done(store: TableStore) -> None:
    ledger = Ledger(store)

    state = ledger.load(T0)

    assert state.order_ids == state.fill_ids == frozenset()
    assert (state.fills, state.positions, state.equity, state.risk_state) == ((), (), None, None)
    assert not ledger.done(order(1).order_id)


def test_done_and_fills_need_a_loaded_ledger(store: TableStore) -> None:
    ledger = Ledger(store)

    with pytest.raises(RuntimeError, match="load"):
        ledger.done("x")
    with pytest.raises(RuntimeError, match="load"):
        ledger.record_fills([fill_of(order(1))])


def test_a_crash_between_the_fill_and_the_offset_commit_leaves_the_order_done(open_store: OpenStore) -> None:
    # The executor: order recorded, filled, fill recorded; killed before it commits the bus offset.
    placed = order(1)
    executor = Ledger(open_store())
    executor.load(T0)
    executor.record_orders([placed])
    assert not executor.done(placed.order_id)
    executor.record_fills([fill_of(placed)])

    # The restart: a new ledger on the same tables; the replayed tick re-derives the same decision.
    restarted = Ledger(open_store())
    state = restarted.load(T0 + US_PER_DAY)
    re_derived = order(1)

    assert restarted.done(re_derived.order_id)
    assert state.fills == (fill_of(placed),)
    assert restarted.record_fills([fill_of(re_derived)]) == 0


def test_an_order_placed_but_not_filled_before_a_crash_is_placed_not_done(open_store: OpenStore) -> None:
    placed = order(1)
    executor = Ledger(open_store())
    executor.load(T0)
    executor.record_orders([placed])

    restarted = Ledger(open_store())
    restarted.load(T0 + US_PER_DAY)

    assert restarted.placed(placed.order_id) and not restarted.done(placed.order_id)


class Killed(BaseException):
    """The process died (a BaseException: nothing in the ledger may catch it)."""


class KilledAfterWrites(TableStore):
    """A real store whose process dies at its ``writes``-th + 1 partition write, before that write starts."""

    def __init__(self, inner: TableStore, writes: int) -> None:
        self.inner = inner
        self.writes_left = writes

    def write_partition(self, spec: TableSpec, day: dt.date, table: pa.Table) -> int:
        if self.writes_left == 0:
            raise Killed(f"killed before writing {spec.name} for {day}")
        self.writes_left -= 1
        return self.inner.write_partition(spec, day, table)

    def _replace_day(self, spec: TableSpec, day: dt.date, rows: pa.Table) -> None:
        raise AssertionError("write_partition delegates to the real store")

    def _read(
        self, spec: TableSpec, *, start_us: int, end_us: int, filters: Mapping[str, tuple[FilterValue, ...]]
    ) -> pa.Table:
        return self.inner.read(spec, start_us=start_us, end_us=end_us, filters=filters)

    def days(self, spec: TableSpec) -> list[TablePartition]:
        return self.inner.days(spec)

    def drop_partition(self, spec: TableSpec, day: dt.date) -> None:
        self.inner.drop_partition(spec, day)


def test_a_crash_between_the_two_days_of_a_batch_stores_only_the_rest_after_the_restart(
    open_store: OpenStore,
) -> None:
    fills = [
        fill_of(order(1, bar_us=MIDNIGHT - 3 * US_PER_MINUTE)),
        fill_of(order(2, symbol="ETHUSDT", bar_us=MIDNIGHT - 3 * US_PER_MINUTE)),
        fill_of(order(3, bar_us=MIDNIGHT + US_PER_MINUTE)),
    ]
    dying = Ledger(KilledAfterWrites(open_store(), writes=1))
    dying.load(MIDNIGHT)
    with pytest.raises(Killed):
        dying.record_fills(fills)  # the first day is written, the process dies before the second

    restarted = Ledger(open_store())
    restarted.load(MIDNIGHT + US_PER_DAY)
    done_before = [restarted.done(f.fill_id) for f in fills]
    stored_again = restarted.record_fills(fills)
    state = Ledger(open_store()).load(MIDNIGHT + US_PER_DAY)

    assert done_before == [True, True, False]
    assert stored_again == 1
    assert state.fills == tuple(fills)


# -- the latch -------------------------------------------------------------------------------------


def test_the_latch_survives_a_new_ledger_until_a_reset(open_store: OpenStore) -> None:
    executor = Ledger(open_store())
    executor.record_equity([equity(0)])
    executor.save_risk_state(risk_state(T0, latched=True, hwm=10_500.0, breaches=3))

    latched = Ledger(open_store()).load(T0 + US_PER_MINUTE).risk_state
    cleared = risk_reset(Ledger(open_store()), "alice", "drawdown reviewed", T0 + 2 * US_PER_MINUTE)
    after = Ledger(open_store()).load(T0 + 3 * US_PER_MINUTE)

    assert latched == risk_state(T0, latched=True, hwm=10_500.0, breaches=3)
    assert after.risk_state == cleared
    assert (cleared.state, cleared.latched, cleared.breaches) == ("ACTIVE", False, 0)
    assert cleared.high_water_mark == equity(0).equity  # re-based: the old drawdown does not trip again
    # Only the request is written: the executor's tables are the executor's (it records the reset event
    # when it applies the request), so a reset never rewrites a day the executor is writing.
    requests = [e for e in stored(open_store(), RISK_RESETS) if isinstance(e, RiskEventRow)]
    assert [(e.kind, e.who, e.why, e.state) for e in requests] == [
        ("reset", "alice", "drawdown reviewed", "ACTIVE")
    ]
    assert stored(open_store(), RISK_EVENTS) == []
    assert Ledger(open_store()).latest_risk_state(T0 + 3 * US_PER_MINUTE) == risk_state(
        T0, latched=True, hwm=10_500.0, breaches=3
    )


def test_a_reset_before_the_latch_does_not_clear_it(open_store: OpenStore) -> None:
    ledger = Ledger(open_store())
    ledger.record_equity([equity(0)])
    risk_reset(ledger, "alice", "early", T0)
    ledger.save_risk_state(risk_state(T0 + US_PER_MINUTE, latched=True, hwm=10_500.0, breaches=3))

    state = Ledger(open_store()).load(T0 + 2 * US_PER_MINUTE).risk_state

    assert state is not None and state.latched


def test_a_reset_needs_who_and_why(store: TableStore) -> None:
    with pytest.raises(ValueError, match="who"):
        risk_reset(Ledger(store), "alice", " ", T0)

    assert stored(store, RISK_RESETS) == [] and stored(store, RISK_STATE) == []
