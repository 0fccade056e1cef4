"""Fixtures for the bus tests: vectorised tick tables, unique names, and a drain helper."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pytest

from resources.bus import DeadLetter, TickConsumer
from resources.bus.base import merge_offsets
from trading_assets.core.ticks import TICK_SCHEMA

BASE_TIME_US = 1_735_689_600_000_000  # 2025-01-01T00:00:00Z


def make_ticks(venue: str, symbols: Sequence[str], n: int, *, first_id: int = 1, seed: int = 0) -> pa.Table:
    """``n`` ticks of ``venue`` cycling through ``symbols``; trade ids rise in publish order."""
    rng = np.random.default_rng(seed)
    ids = np.arange(first_id, first_id + n, dtype=np.int64)
    trade_time = BASE_TIME_US + ids * 1_000
    return pa.table(
        {
            "venue": pa.array([venue] * n, pa.string()),
            "symbol": pa.array(np.asarray(symbols, dtype=object)[ids % len(symbols)], pa.string()),
            "trade_id": ids,
            "price": rng.uniform(10.0, 100.0, n),
            "quantity": rng.uniform(0.001, 5.0, n),
            "side": rng.integers(-1, 2, n, dtype=np.int8),
            "trade_time_us": trade_time,
            "event_time_us": trade_time + 50,
            "receive_time_us": trade_time + 2_000,
        },
        schema=TICK_SCHEMA,
    )


def sort_ticks(table: pa.Table) -> pa.Table:
    """Canonical order for comparing tick tables."""
    return table.sort_by([("venue", "ascending"), ("symbol", "ascending"), ("trade_id", "ascending")])


@dataclass
class Drained:
    """Everything some polls returned."""

    ticks: pa.Table
    records: int
    dead_letters: list[DeadLetter] = field(default_factory=list)
    offsets: dict[tuple[str, int], int] = field(default_factory=dict)
    """Just past every record the polls returned (their :attr:`Delivery.offsets` merged)."""


def drain(consumer: TickConsumer, *, ticks: int, timeout_s: float = 45.0, quiet_s: float = 1.0) -> Drained:
    """Poll until ``ticks`` ticks arrived (or ``timeout_s``), then once more for ``quiet_s`` to catch extras.

    Kafka consumers spend their first polls joining the group, so a single poll is not enough.
    """
    tables: list[pa.Table] = []
    records, got = 0, 0
    dead: list[DeadLetter] = []
    offsets: dict[tuple[str, int], int] = {}
    deadline = time.monotonic() + timeout_s
    while got < ticks and time.monotonic() < deadline:
        delivery = consumer.poll(timeout_s=0.5)
        tables.append(delivery.ticks)
        records += delivery.records
        got += delivery.ticks.num_rows
        dead.extend(delivery.dead_letters)
        merge_offsets(offsets, delivery.offsets)
    extra = consumer.poll(timeout_s=quiet_s)
    tables.append(extra.ticks)
    records += extra.records
    dead.extend(extra.dead_letters)
    merge_offsets(offsets, extra.offsets)
    return Drained(pa.concat_tables(tables), records, dead, offsets)


@pytest.fixture
def venue() -> str:
    """A venue name no other test uses, so its topic starts empty (matches the venue pattern)."""
    return f"t{uuid.uuid4().hex[:12]}"


@pytest.fixture
def group_name() -> Callable[[str], str]:
    """Unique consumer-group names per test."""
    suffix = uuid.uuid4().hex[:8]
    return lambda name: f"{name}-{suffix}"
