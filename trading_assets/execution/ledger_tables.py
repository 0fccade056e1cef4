"""The executor's ledger tables: one frozen row type and one :class:`TableSpec` per table.

Every table is day-partitioned by its time column and carries a ``seq`` column the ledger assigns:
for ``paper_fills`` the fill's position among all fills ever recorded (fills are replayed in that order
to rebuild the portfolio exactly), for the other tables the row's position among its day's rows in the
order they were appended (it orders rows that share a time; "the latest row wins" means greatest
``(time, seq)``). Row types hold the data only; ``seq`` is storage, not part of a row.

Each table also names its *identity*: the columns that make a row "the same row" for idempotent appends
(a row whose identity is already stored is not stored again). Orders, fills and risk events have ids;
snapshots (positions, equity, risk state) are the same row when all their values are equal, which is
what re-deriving a snapshot from replayed ticks after a restart produces.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

import pyarrow as pa
import pyarrow.compute as pc

from resources.table_store import TableSpec

SEQ = "seq"
"""The ledger-assigned ordering column every ledger table has (not a field of the row types)."""


class OrderLike(Protocol):
    """What the ledger reads of an order (``trading.orders.Order`` has these fields)."""

    @property
    def order_id(self) -> str: ...
    @property
    def symbol(self) -> str: ...
    @property
    def side(self) -> int: ...
    @property
    def quantity(self) -> float: ...
    @property
    def decision_us(self) -> int: ...
    @property
    def bar_minute_us(self) -> int: ...
    @property
    def model_name(self) -> str: ...
    @property
    def model_version(self) -> int | str: ...
    @property
    def run_id(self) -> str: ...
    @property
    def reason(self) -> str: ...


class FillLike(OrderLike, Protocol):
    """What the ledger reads of a fill (``trading.orders.Fill``: the order's fields and the execution)."""

    @property
    def fill_id(self) -> str: ...
    @property
    def time_us(self) -> int: ...
    @property
    def reference_price(self) -> float: ...
    @property
    def price(self) -> float: ...
    @property
    def fee(self) -> float: ...


def _values_of(row_type: type[OrderRow | FillRow], obj: OrderLike) -> dict[str, Any]:
    """``obj``'s values of the fields of ``row_type``, with the model version as a number."""
    values = {field.name: getattr(obj, field.name) for field in dataclasses.fields(row_type)}
    return values | {"model_version": int(values["model_version"])}


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderRow:
    """An order the executor placed (admitted by the risk engine and sent to the paper broker)."""

    order_id: str
    """Deterministic id of the decision (symbol, bar, model version, reason)."""
    symbol: str
    """Instrument."""
    side: int
    """+1 buy, -1 sell."""
    quantity: float
    """Units, > 0."""
    decision_us: int
    """When the decision was made (the bar's close); the table's time column."""
    bar_minute_us: int
    """Start of the bar the decision came from."""
    model_name: str
    """Registered model that made the decision."""
    model_version: int
    """Its registry version."""
    run_id: str
    """MLflow run that produced that version."""
    reason: str
    """Why: ``signal`` or ``flatten`` (kill switch)."""

    @classmethod
    def of(cls, order: OrderLike) -> OrderRow:
        """The row of an order object with the same field names (a model version given as text is a number)."""
        return cls(**_values_of(cls, order))


@dataclass(frozen=True, slots=True, kw_only=True)
class FillRow:
    """A fill of one order: the order's fields plus when, at which price and fee it executed."""

    fill_id: str
    """The fill's id: its order's id (one fill per order), so a re-derived decision is recognised."""
    order_id: str
    """The order filled."""
    symbol: str
    """Instrument."""
    side: int
    """+1 buy, -1 sell."""
    quantity: float
    """Units filled, > 0."""
    decision_us: int
    """When the decision was made."""
    bar_minute_us: int
    """Start of the bar the decision came from."""
    model_name: str
    """Registered model that made the decision."""
    model_version: int
    """Its registry version."""
    run_id: str
    """MLflow run that produced that version."""
    reason: str
    """``signal`` or ``flatten``."""
    time_us: int
    """Time of the trade the order filled on; the table's time column."""
    reference_price: float
    """Market price before costs."""
    price: float
    """Fill price after slippage and spread."""
    fee: float
    """Fee paid, in quote currency."""

    @classmethod
    def of(cls, fill: FillLike) -> FillRow:
        """The row of a fill object with the same field names (a model version given as text is a number)."""
        return cls(**_values_of(cls, fill))


@dataclass(frozen=True, slots=True, kw_only=True)
class PositionRow:
    """A symbol's position after a change (one row per fill that moved it)."""

    time_us: int
    """When it changed; the table's time column."""
    symbol: str
    """Instrument."""
    quantity: float
    """Signed units held (negative: short)."""
    average_cost: float
    """Average entry price of the open quantity (0 when flat)."""
    realized_pnl: float
    """PnL realized on this symbol so far, before fees (as the portfolio keeps it; fees in ``fees``)."""
    fees: float
    """Fees paid on this symbol so far."""
    fill_id: str
    """The fill that made the change."""


@dataclass(frozen=True, slots=True, kw_only=True)
class EquityRow:
    """The portfolio marked to market at one time."""

    time_us: int
    """Time of the mark; the table's time column."""
    cash: float
    """Cash after every fill and fee."""
    equity: float
    """Cash plus the marked value of the positions."""
    realized_pnl: float
    """Realized PnL so far, before fees (``equity = initial cash + realized - fees + unrealized``)."""
    unrealized_pnl: float
    """Unrealized PnL of the open positions at the mark."""
    fees: float
    """Fees paid so far."""
    gross_exposure: float
    """Sum of absolute position values."""
    net_exposure: float
    """Sum of signed position values."""
    high_water_mark: float
    """Highest equity so far."""
    drawdown: float
    """``1 - equity / high_water_mark`` (0 at the high-water mark)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RiskEventRow:
    """Something the risk side did: a denial, a state change, a kill-switch trip or a reset."""

    event_id: str
    """Deterministic id (see :func:`event_id`): the same event re-derived after a restart is not stored twice."""
    time_us: int
    """When it happened; the table's time column."""
    kind: str
    """``denial``, ``state``, ``kill_switch`` or ``reset``."""
    rule: str
    """The rule that fired (denials, kill switch); empty otherwise."""
    order_id: str
    """The order denied; empty when no order is involved."""
    symbol: str
    """The order's symbol; empty when no order is involved."""
    state: str
    """The trading state after the event (``ACTIVE``, ``REDUCING``, ``HALTED``)."""
    detail: str
    """Human-readable detail (limit and value, old -> new state)."""
    who: str
    """Who did it: a person for resets, ``executor`` otherwise."""
    why: str
    """Why, as given by the person for resets; empty otherwise."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RiskStateRow:
    """The risk engine's persistent state at a time; the latest row (greatest time, then seq) wins."""

    time_us: int
    """When the state was saved; the table's time column."""
    state: str
    """``ACTIVE``, ``REDUCING`` or ``HALTED``."""
    latched: bool
    """The kill-switch latch: HALTED until a person resets it."""
    high_water_mark: float
    """Equity high-water mark the drawdown is measured from."""
    breaches: int
    """Consecutive marks in breach of the drawdown threshold."""
    day_start_equity: float
    """Equity at the start of the UTC day (the daily loss limit's base)."""


def event_id(*parts: object) -> str:
    """A deterministic id of an event from its defining parts (a hex digest of their ``repr``)."""
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:32]


Row = TypeVar("Row", OrderRow, FillRow, PositionRow, EquityRow, RiskEventRow, RiskStateRow)

_ARROW_TYPES: dict[str, pa.DataType] = {"str": pa.string(), "int": pa.int64(), "float": pa.float64()}
_ARROW_TYPES["bool"] = pa.bool_()


@dataclass(frozen=True, slots=True)
class LedgerTable(Generic[Row]):
    """A ledger table: its spec, its row type and the columns that identify a row."""

    spec: TableSpec
    row_type: type[Row]
    identity: tuple[str, ...]

    @property
    def fields(self) -> tuple[str, ...]:
        """The row type's field names (the spec's columns without ``seq``)."""
        return tuple(field.name for field in dataclasses.fields(self.row_type))

    def to_table(self, rows: list[Row], seqs: list[int]) -> pa.Table:
        """The rows with their seqs as an Arrow table of the spec's schema."""
        columns: dict[str, list[Any]] = {name: [getattr(row, name) for row in rows] for name in self.fields}
        columns[SEQ] = seqs
        return pa.Table.from_pydict(columns, schema=self.spec.schema)

    def from_table(self, table: pa.Table) -> list[Row]:
        """Rows of a table read from the store, in the table's order."""
        return [self.row_type(**record) for record in table.select(list(self.fields)).to_pylist()]

    def identities(self, table: pa.Table, rows: list[Row]) -> set[tuple[Any, ...]]:
        """The identities of a stored table's rows that could equal one of ``rows``.

        When the identity includes the time column only stored rows within the times of ``rows`` can
        match: the others are not turned into Python values (a snapshot day holds thousands of rows).
        """
        time_column = self.spec.time_column
        if rows and time_column in self.identity:
            times = [getattr(row, time_column) for row in rows]
            column = table.column(time_column)
            in_range = pc.and_(pc.greater_equal(column, min(times)), pc.less_equal(column, max(times)))
            table = table.filter(in_range)
        return set(zip(*(table.column(name).to_pylist() for name in self.identity), strict=True))

    def identity_of(self, row: Row) -> tuple[Any, ...]:
        """One row's identity."""
        return tuple(getattr(row, name) for name in self.identity)


def _ledger_table(
    name: str,
    row_type: type[Row],
    time_column: str,
    *,
    identity: tuple[str, ...] = (),
    global_seq: bool = False,
) -> LedgerTable[Row]:
    overrides = {"side": pa.int8()}
    fields = [
        pa.field(f.name, overrides.get(f.name, _ARROW_TYPES[str(f.type)]), nullable=False)
        for f in dataclasses.fields(row_type)
    ]
    fields.append(pa.field(SEQ, pa.int64(), nullable=False))
    key = (SEQ,) if global_seq else (time_column, SEQ)
    spec = TableSpec(name=name, schema=pa.schema(fields), time_column=time_column, key=key)
    names = tuple(f.name for f in dataclasses.fields(row_type))
    return LedgerTable(spec=spec, row_type=row_type, identity=identity or names)


ORDERS = _ledger_table("paper_orders", OrderRow, "decision_us", identity=("order_id",))
"""Orders placed, by decision time."""
FILLS = _ledger_table("paper_fills", FillRow, "time_us", identity=("fill_id",), global_seq=True)
"""Fills, by trade time; ``seq`` numbers all fills in the order they were recorded (the replay order)."""
POSITIONS = _ledger_table("paper_positions", PositionRow, "time_us")
"""Position snapshots, one per change."""
EQUITY = _ledger_table("paper_equity", EquityRow, "time_us")
"""Equity snapshots, one per mark."""
RISK_EVENTS = _ledger_table("risk_events", RiskEventRow, "time_us", identity=("event_id",))
"""Denials (with the rule that fired), state changes, kill-switch trips and resets."""
RISK_STATE = _ledger_table("risk_state", RiskStateRow, "time_us")
"""The risk engine's state over time; the latest row wins."""
RISK_RESETS = _ledger_table("risk_reset_requests", RiskEventRow, "time_us", identity=("event_id",))
"""Resets a person asked for (`tradegraph risk reset`): the only table a reset writes, so it never
rewrites a day of the executor's tables while the executor writes them; the executor applies each
request once and records it in ``risk_events``."""

TABLES: tuple[LedgerTable[Any], ...] = (
    ORDERS,
    FILLS,
    POSITIONS,
    EQUITY,
    RISK_EVENTS,
    RISK_STATE,
    RISK_RESETS,
)
"""Every ledger table."""
