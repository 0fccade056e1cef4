"""Rows of the state tables to and from the records of :mod:`resources.service_state.base` (both stores)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from resources.service_state.base import Heartbeat, LiveGapFill, RestartState, ServiceInstance, Status

INSTANCE_COLUMNS: tuple[str, ...] = ("instance_key", "service", "name", "host", "venues", "symbols")
"""The columns that name an instance, first in every per-instance table."""

HEARTBEAT_COLUMNS: tuple[str, ...] = (
    *INSTANCE_COLUMNS,
    "pid",
    "wall_time_us",
    "status",
    "ticks",
    "last_trade_time_us",
    "detail",
)
"""Columns of the heartbeat table, in :func:`heartbeat_row` order."""

GAP_COLUMNS: tuple[str, ...] = (
    "instance_key",
    "venue",
    "symbol",
    "day",
    "first_id",
    "last_id",
    "filled",
    "recorded_us",
)
"""Columns of the live gap-fill table, in :class:`~resources.service_state.base.LiveGapFill` order."""


def instance_row(instance: ServiceInstance) -> tuple[str, ...]:
    """The :data:`INSTANCE_COLUMNS` values of ``instance``."""
    return (
        instance.key,
        instance.service,
        instance.name,
        instance.host,
        ",".join(instance.venues),
        ",".join(instance.symbols),
    )


def instance_from(row: tuple[Any, ...]) -> ServiceInstance:
    """The instance named by the first :data:`INSTANCE_COLUMNS` values of ``row``."""
    _, service, name, host, venues, symbols = row[: len(INSTANCE_COLUMNS)]
    return ServiceInstance(
        service=str(service),
        name=str(name),
        host=str(host),
        venues=tuple(v for v in str(venues).split(",") if v),
        symbols=tuple(s for s in str(symbols).split(",") if s),
    )


def heartbeat_row(beat: Heartbeat) -> tuple[Any, ...]:
    """The :data:`HEARTBEAT_COLUMNS` values of ``beat``."""
    return (
        *instance_row(beat.instance),
        int(beat.pid),
        int(beat.wall_time_us),
        beat.status,
        int(beat.ticks),
        None if beat.last_trade_time_us is None else int(beat.last_trade_time_us),
        json.dumps(beat.detail, sort_keys=True),
    )


def heartbeat_from(row: tuple[Any, ...]) -> Heartbeat:
    """The heartbeat in a row of :data:`HEARTBEAT_COLUMNS` values."""
    pid, wall, status, ticks, last_trade, detail = row[len(INSTANCE_COLUMNS) :]
    status_value: Status = "stopped" if status == "stopped" else "running"
    return Heartbeat(
        instance=instance_from(row),
        pid=int(pid),
        wall_time_us=int(wall),
        status=status_value,
        ticks=int(ticks),
        last_trade_time_us=None if last_trade is None else int(last_trade),
        detail={str(k): float(v) for k, v in json.loads(detail or "{}").items()},
    )


def gap_fill_row(fill: LiveGapFill, *, day_as_text: bool = False) -> tuple[Any, ...]:
    """The :data:`GAP_COLUMNS` values of ``fill``; the day as a date, or as ISO text (SQLite)."""
    return (
        fill.instance_key,
        fill.venue,
        fill.symbol,
        fill.day.isoformat() if day_as_text else fill.day,
        fill.first_id,
        fill.last_id,
        fill.filled,
        fill.recorded_us,
    )


def gap_fill_from(row: tuple[Any, ...]) -> LiveGapFill:
    """The live gap fill in a row of :data:`GAP_COLUMNS` values (the day as a date or as ISO text)."""
    key, venue, symbol, day, first, last, filled, recorded = row
    return LiveGapFill(
        instance_key=str(key),
        venue=str(venue),
        symbol=str(symbol),
        day=day if isinstance(day, dt.date) else dt.date.fromisoformat(day),
        first_id=int(first),
        last_id=int(last),
        filled=int(filled),
        recorded_us=int(recorded),
    )


def state_to_json(state: RestartState) -> str:
    """``state`` as a JSON document."""
    return json.dumps({"last_ids": state.last_ids, "gaps": state.gaps}, sort_keys=True)


def state_from_json(text: str) -> RestartState:
    """The restart state in a document written by :func:`state_to_json`."""
    data = json.loads(text)
    return RestartState(
        last_ids={v: {s: int(i) for s, i in ids.items()} for v, ids in data["last_ids"].items()},
        gaps={
            v: {s: [(int(a), int(b)) for a, b in ranges] for s, ranges in by_symbol.items()}
            for v, by_symbol in data["gaps"].items()
        },
    )
