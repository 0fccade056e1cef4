"""The sealed-day hand-off lives on the IO manager, per run: two runs in one process, each sealing a day
before either reads it back, each get their own day handed over, and neither sees the other's."""

import datetime as dt
import threading
from pathlib import Path

import dagster as dg
import pyarrow as pa

from resources.archive.resource import TickArchiveResource
from resources.tick_store.embedded import EmbeddedTickStore
from resources.tick_store.resource import TickStoreResource
from tests.resources.archive.conftest import sim_day
from trading_assets.market.day_io import SealedDayIOManager
from trading_assets.market.partitions import DAILY

DAYS = (dt.date(2024, 4, 1), dt.date(2024, 4, 2))
_both_sealed = threading.Barrier(2, timeout=60)
_sealed: dict[str, pa.Table] = {}
_received: dict[str, pa.Table] = {}


@dg.asset(partitions_def=DAILY, io_manager_key="sealed_day_io")
def sealed(context: dg.AssetExecutionContext, tick_store: TickStoreResource) -> pa.Table:
    with tick_store.open() as store:
        ticks = store.export(dt.date.fromisoformat(context.partition_key))
    _sealed[context.partition_key] = ticks
    return ticks


@dg.asset(partitions_def=DAILY, deps=[sealed])
def gate() -> None:
    # Runs after `sealed` handed its day to the IO manager: wait until the other run did the same.
    _both_sealed.wait()


@dg.asset(partitions_def=DAILY, deps=[gate])
def reader(context: dg.AssetExecutionContext, sealed: pa.Table) -> None:
    _received[context.partition_key] = sealed


def _run(root: Path, day: dt.date, results: dict[dt.date, bool]) -> None:
    store = TickStoreResource(store="embedded", embedded_dir=str(root / "ticks"))
    archive = TickArchiveResource(location=str(root / "archive"))
    result = dg.materialize(
        [sealed, gate, reader],
        partition_key=day.isoformat(),
        resources={
            "tick_store": store,
            "sealed_day_io": SealedDayIOManager(tick_store=store, tick_archive=archive),
        },
        raise_on_error=False,
    )
    results[day] = result.success


def test_two_runs_each_get_their_own_sealed_day_handed_over(tmp_path: Path) -> None:
    for i, day in enumerate(DAYS):
        store = EmbeddedTickStore(tmp_path / str(i) / "ticks")
        store.insert(sim_day(day, 1_000, seed=i))
        store.seal(day)
    results: dict[dt.date, bool] = {}
    threads = [
        threading.Thread(target=_run, args=(tmp_path / str(i), day, results)) for i, day in enumerate(DAYS)
    ]

    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert results == dict.fromkeys(DAYS, True)
    for day in DAYS:
        key = day.isoformat()
        # The very table the run sealed, not a copy read again, and not the other run's day.
        assert _received[key] is _sealed[key]
