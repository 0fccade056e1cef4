"""The executor's crash-safe state: orders, fills, positions, equity and risk in the table store.

One writer, the executor, appends rows to day-partitioned tables (:mod:`ledger_tables`). Appending a
batch to a day reads the day, drops the rows already stored (same id, or an identical snapshot), and
writes the day back with ONE ``write_partition`` call, which the table store replaces atomically: a
crash leaves the old day or the new one, never half a batch of that day. A batch that spans midnight is
one atomic write per day, oldest day first; a crash in between leaves the first day written, and the
batch written again after the restart stores only what is missing (appends are idempotent).

Write order, for crash safety (the executor keeps it; the ledger makes each step idempotent):

1. the order is recorded (``record_orders``) before it goes to the paper broker;
2. its fill is recorded (``record_fills``), with the position snapshot (``record_positions``), BEFORE
   the executor commits the bus offset of the tick that filled it;
3. the bus offset is committed.

A crash anywhere replays the ticks after the last committed offset. The executor first ``load``\\ s
the ledger: the fills, replayed in their recorded order into the portfolio, give back positions and
cash; the last risk state gives back the latch and the high-water mark. The replayed ticks re-derive
the same decisions with the same deterministic order ids (symbol, bar, model version, reason); an order
whose fill is stored is :meth:`Ledger.done` and is not placed again, so a crash between steps 2 and 3
never fills an order twice. Snapshots and risk events re-derived from the replay equal the stored ones
and are not stored again.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from resources.table_store import TableStore
from trading_assets.core.time import date_of, day_bounds_us, day_start_us
from trading_assets.execution.ledger_tables import (
    EQUITY,
    FILLS,
    ORDERS,
    POSITIONS,
    RISK_EVENTS,
    RISK_RESETS,
    RISK_STATE,
    SEQ,
    EquityRow,
    FillRow,
    LedgerTable,
    OrderRow,
    PositionRow,
    RiskEventRow,
    RiskStateRow,
    Row,
    event_id,
)

log = logging.getLogger(__name__)

HALTED = "HALTED"
ACTIVE = "ACTIVE"


@dataclass(frozen=True, slots=True, kw_only=True)
class LedgerState:
    """What the executor needs to resume, as stored at a time."""

    order_ids: frozenset[str]
    """Ids of every order recorded."""
    fill_ids: frozenset[str]
    """Ids of every fill recorded: the orders that are done."""
    fills: tuple[FillRow, ...]
    """Every fill in the order it was recorded: replayed into a portfolio they rebuild positions and cash."""
    positions: tuple[PositionRow, ...]
    """The latest snapshot of each symbol's position, by symbol."""
    equity: EquityRow | None
    """The last equity snapshot at or before the load time; ``None`` before the first mark."""
    risk_state: RiskStateRow | None
    """The last risk state at or before the load time (latch, high-water mark); ``None`` when never saved."""


class Ledger:
    """The executor's ledger over a table store; one writer at a time (the executor, or a reset).

    :meth:`load` reads the stored state and must come before :meth:`done` and :meth:`record_fills`;
    the other appends need no load (they check the day they write).
    """

    def __init__(self, store: TableStore) -> None:
        self.store = store
        self._order_ids: set[str] | None = None
        self._fill_ids: set[str] | None = None
        self._next_fill_seq = 0

    # -- reading ------------------------------------------------------------------------------------

    def _read_all(self, table: LedgerTable[Any], end_us: int | None = None) -> pa.Table:
        """Every stored row of ``table`` (with time < ``end_us`` when given), in key order."""
        days = self.store.days(table.spec)
        if not days:
            return table.spec.schema.empty_table()
        start = day_start_us(days[0].day)
        stop = day_bounds_us(days[-1].day)[1] if end_us is None else end_us
        return self.store.read(table.spec, start_us=start, end_us=max(start, stop))

    def _latest(self, table: LedgerTable[Row], end_us: int) -> Row | None:
        """The row with the greatest (time, seq) before ``end_us``, or ``None``."""
        rows = self._read_all(table, end_us)
        if rows.num_rows == 0:
            return None
        ordered = rows.sort_by([(table.spec.time_column, "ascending"), (SEQ, "ascending")])
        return table.from_table(ordered.slice(ordered.num_rows - 1))[0]

    def load(self, now_us: int) -> LedgerState:
        """The stored state as of ``now_us`` (rows stamped later are not part of it), and the done set.

        :meth:`done` and the fill ids checked by :meth:`record_fills` cover every stored fill, also one
        stamped after ``now_us``: an order stored as filled is never placed again.
        """
        end_us = now_us + 1
        orders = self._read_all(ORDERS)
        fills = self._read_all(FILLS).sort_by(SEQ)
        self._order_ids = set(orders.column("order_id").to_pylist())
        self._fill_ids = set(fills.column("fill_id").to_pylist())
        self._next_fill_seq = int(pc.max(fills.column(SEQ)).as_py()) + 1 if fills.num_rows else 0
        fills_now = fills.filter(pc.less(fills.column(FILLS.spec.time_column), end_us))
        orders_now = orders.filter(pc.less(orders.column(ORDERS.spec.time_column), end_us))
        positions: dict[str, PositionRow] = {}
        for position in POSITIONS.from_table(self._read_all(POSITIONS, end_us)):
            positions[position.symbol] = position  # key order (time, seq): the last one is the latest
        state = LedgerState(
            order_ids=frozenset(orders_now.column("order_id").to_pylist()),
            fill_ids=frozenset(fills_now.column("fill_id").to_pylist()),
            fills=tuple(FILLS.from_table(fills_now)),
            positions=tuple(positions[symbol] for symbol in sorted(positions)),
            equity=self._latest(EQUITY, end_us),
            risk_state=self._with_resets(
                self._latest(RISK_STATE, end_us), self._latest(EQUITY, end_us), now_us
            ),
        )
        log.info(
            "ledger loaded as of %d: %d orders, %d fills, latched=%s",
            now_us,
            len(state.order_ids),
            len(state.fills),
            state.risk_state.latched if state.risk_state else False,
        )
        return state

    def done(self, order_id: str) -> bool:
        """Whether the order's fill is stored (fill id = order id): the order must not be placed again."""
        if self._fill_ids is None:
            raise RuntimeError("load() the ledger before asking whether an order is done")
        return order_id in self._fill_ids

    def placed(self, order_id: str) -> bool:
        """Whether the order is recorded (it may still be waiting for its fill)."""
        if self._order_ids is None:
            raise RuntimeError("load() the ledger before asking whether an order was placed")
        return order_id in self._order_ids

    # -- writing ------------------------------------------------------------------------------------

    def _append(
        self, table: LedgerTable[Row], rows: Sequence[Row], seqs: Sequence[int] | None = None
    ) -> list[Row]:
        """Append the rows not stored yet, one atomic day write per day; return the rows stored.

        ``seqs`` (fills) gives each row its seq; otherwise a row's seq follows its day's last one.
        """
        spec = table.spec
        by_day: dict[dt.date, list[tuple[Row, int | None]]] = {}
        for i, row in enumerate(rows):
            day = date_of(getattr(row, spec.time_column))
            by_day.setdefault(day, []).append((row, None if seqs is None else seqs[i]))
        stored: list[Row] = []
        for day in sorted(by_day):
            start, end = day_bounds_us(day)
            existing = self.store.read(spec, start_us=start, end_us=end)
            seen = table.identities(existing, [row for row, _ in by_day[day]])
            new: list[Row] = []
            new_seqs: list[int] = []
            next_seq = int(pc.max(existing.column(SEQ)).as_py()) + 1 if existing.num_rows else 0
            for row, seq in by_day[day]:
                identity = table.identity_of(row)
                if identity in seen:
                    continue
                seen.add(identity)
                new.append(row)
                new_seqs.append(next_seq + len(new_seqs) if seq is None else seq)
            if not new:
                continue
            # One call per day: the store swaps the whole day atomically (old rows plus the new ones).
            self.store.write_partition(spec, day, pa.concat_tables([existing, table.to_table(new, new_seqs)]))
            stored.extend(new)
        skipped = len(rows) - len(stored)
        if skipped:
            log.info("%s: %d of %d rows already stored, not stored again", spec.name, skipped, len(rows))
        return stored

    def record_orders(self, orders: Sequence[OrderRow]) -> int:
        """Store orders not stored yet (by order id); return how many were stored."""
        stored = self._append(ORDERS, list(orders))
        if self._order_ids is not None:
            self._order_ids.update(row.order_id for row in stored)
        return len(stored)

    def record_fills(self, fills: Sequence[FillRow]) -> int:
        """Store fills whose id is not stored yet, numbered in the order given; return how many were stored.

        Checked before writing: a fill id the ledger holds (loaded or recorded since) is skipped, so
        recording the same fill twice stores one row.
        """
        if self._fill_ids is None:
            raise RuntimeError(
                "load() the ledger before recording fills (it numbers them after the stored ones)"
            )
        new: list[FillRow] = []
        batch_ids: set[str] = set()
        for fill in fills:
            if fill.fill_id in self._fill_ids or fill.fill_id in batch_ids:
                continue
            batch_ids.add(fill.fill_id)
            new.append(fill)
        seqs = list(range(self._next_fill_seq, self._next_fill_seq + len(new)))
        stored = self._append(FILLS, new, seqs)
        if new:
            self._next_fill_seq = seqs[-1] + 1
        self._fill_ids.update(row.fill_id for row in stored)
        return len(stored)

    def record_positions(self, positions: Sequence[PositionRow]) -> int:
        """Store position snapshots (identical snapshots once); return how many were stored."""
        return len(self._append(POSITIONS, list(positions)))

    def record_equity(self, snapshots: Sequence[EquityRow]) -> int:
        """Store equity snapshots (identical snapshots once); return how many were stored."""
        return len(self._append(EQUITY, list(snapshots)))

    def record_risk_events(self, events: Sequence[RiskEventRow]) -> int:
        """Store risk events not stored yet (by event id); return how many were stored."""
        return len(self._append(RISK_EVENTS, list(events)))

    def resets(self, now_us: int) -> list[RiskEventRow]:
        """Every reset a person asked for (``tradegraph risk reset``) at or before ``now_us``, oldest first."""
        rows = self._read_all(RISK_RESETS, now_us + 1)
        return sorted(RISK_RESETS.from_table(rows), key=lambda row: (row.time_us, row.event_id))

    def _with_resets(
        self, stored: RiskStateRow | None, equity: EquityRow | None, now_us: int
    ) -> RiskStateRow | None:
        """The stored risk state, or the state a reset asked for after it: a latch a person reset is
        cleared as of the reset (the executor stores the same when it applies the request)."""
        if stored is None or not stored.latched:
            return stored
        later = [reset for reset in self.resets(now_us) if reset.time_us > stored.time_us]
        if not later:
            return stored
        return cleared_state(stored, equity, later[-1].time_us)

    def request_reset(self, reset: RiskEventRow) -> bool:
        """Store a person's reset request (``tradegraph risk reset``); ``False`` when it is stored already."""
        return bool(self._append(RISK_RESETS, [reset]))

    def latest_risk_state(self, now_us: int) -> RiskStateRow | None:
        """The latest stored risk state at or before ``now_us`` (reads only that table)."""
        return self._latest(RISK_STATE, now_us + 1)

    def save_risk_state(self, state: RiskStateRow) -> bool:
        """Store the risk state (it becomes the latest); ``False`` when the identical row is stored already."""
        return bool(self._append(RISK_STATE, [state]))


RESET = "reset"
"""Kind of the risk event a person's reset is recorded as; the executor applies each one once."""


def cleared_state(previous: RiskStateRow | None, equity: EquityRow | None, time_us: int) -> RiskStateRow:
    """The risk state right after a reset: ACTIVE, unlatched, the high-water mark re-based to the last
    equity (kept at the old peak, the drawdown the kill switch acted on would trip it again)."""
    hwm = previous.high_water_mark if previous is not None else 0.0
    if equity is not None:
        hwm = equity.equity
    return RiskStateRow(
        time_us=time_us,
        state=ACTIVE,
        latched=False,
        high_water_mark=hwm,
        breaches=0,
        day_start_equity=previous.day_start_equity if previous is not None else hwm,
    )


def risk_reset(ledger: Ledger, who: str, why: str, now_us: int) -> RiskStateRow:
    """Ask for the kill-switch latch to be cleared, recorded with who and why; return the state it leads to.

    Only the request is written (table ``risk_reset_requests``, which nothing else writes): the executor
    rewrites whole days of its own tables, so a reset writing those would race with it and one of the two
    writes could be lost. The running executor applies the request at its next checkpoint (a stopped one
    when it starts), records it as a ``reset`` risk event and stores the cleared state; until then
    :meth:`Ledger.load` already shows the cleared state.
    """
    if not who.strip() or not why.strip():
        raise ValueError("a risk reset needs who did it and why (both non-empty)")
    state = ledger.load(now_us)
    previous = state.risk_state
    cleared = cleared_state(previous, state.equity, now_us)
    before = f"{previous.state} latched={previous.latched}" if previous is not None else "no saved state"
    ledger.request_reset(
        reset_event(
            who, why, now_us, f"{before} -> {ACTIVE} latched=False; high-water mark {cleared.high_water_mark}"
        )
    )
    log.warning("risk reset asked by %s (%s): %s", who, why, before)
    return cleared


def reset_event(who: str, why: str, time_us: int, detail: str) -> RiskEventRow:
    """The record of a person's reset (the request, and the risk event the executor writes applying it)."""
    return RiskEventRow(
        event_id=event_id("reset", time_us, who, why),
        time_us=time_us,
        kind=RESET,
        rule="",
        order_id="",
        symbol="",
        state=ACTIVE,
        detail=detail,
        who=who,
        why=why,
    )
