"""Fixtures for the tick reader: an embedded store beside a local or S3 (moto) archive, and sample days."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from resources.archive import TickArchive
from resources.tick_store import TickStore, TickStoreConfig, open_tick_store

# The archive fixture (local and S3 on moto) is the archive contract suite's own.
from tests.resources.archive.conftest import archive, sim_day  # noqa: F401
from trading_assets.archive import TickReader

COLD = dt.date(2024, 3, 1)
"""Archived, then dropped from the store."""
HOT = dt.date(2024, 3, 2)
"""In the store only."""
BOTH = dt.date(2024, 3, 3)
"""In the store and archived."""
ABSENT = dt.date(2024, 3, 5)
"""In neither."""


@pytest.fixture
def store(tmp_path: Path) -> Iterator[TickStore]:
    with open_tick_store(TickStoreConfig(embedded_dir=tmp_path / "store")) as embedded:
        yield embedded


@pytest.fixture
def days() -> dict[dt.date, pa.Table]:
    """The ticks of each sample day (different seeds, so days differ)."""
    return {
        COLD: sim_day(COLD, 3_000, seed=1),
        HOT: sim_day(HOT, 3_000, seed=2),
        BOTH: sim_day(BOTH, 3_000, seed=3),
    }


@pytest.fixture
def reader(store: TickStore, archive: TickArchive, days: dict[dt.date, pa.Table]) -> TickReader:  # noqa: F811
    """COLD only archived, HOT only in the store, BOTH in both; each day sealed in the store first."""
    for day, ticks in days.items():
        store.insert(ticks)
        store.seal(day)
    for day in (COLD, BOTH):
        archive.write_day(day, store.export(day))
    store.drop(COLD)
    return TickReader(store, archive)


def select(ticks: pa.Table, *, symbol: str, start_us: int, end_us: int, venue: str | None = None) -> pa.Table:
    """What a read of ``symbol`` in ``[start_us, end_us)`` must return from ``ticks``, in read order."""
    mask = (
        (pc.field("symbol") == symbol)
        & (pc.field("trade_time_us") >= start_us)
        & (pc.field("trade_time_us") < end_us)
    )
    if venue is not None:
        mask = mask & (pc.field("venue") == venue)
    return ticks.filter(mask).sort_by(
        [("trade_time_us", "ascending"), ("venue", "ascending"), ("trade_id", "ascending")]
    )
