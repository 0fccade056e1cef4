"""Retention is its own asset: archiving a day never drops another, and ``hot_retention`` drops exactly
the days that are archived, verified and older than the retention, and records them."""

import datetime as dt
from pathlib import Path

import dagster as dg

from resources.archive.local import LocalTickArchive
from resources.exchange_feed.resource import VenueHistoryResource
from resources.tick_store.embedded import EmbeddedTickStore
from tests.resources.archive.conftest import sim_day
from trading_assets.archive.assets import hot_retention, tick_archive
from trading_assets.core.settings import Settings
from trading_assets.definitions import resources
from trading_assets.market.assets import bars_1m, tick_partition

TODAY = dt.date(2024, 5, 20)
OLD = dt.date(2024, 5, 1)
"""Archived and far older than the retention."""
OLD_NOT_ARCHIVED = dt.date(2024, 5, 2)
"""Old, but never archived: must stay."""
RECENT = dt.date(2024, 5, 18)
"""Archived, but inside the retention."""
GRAPH = [tick_partition, bars_1m, tick_archive, hot_retention]


def _resources(tmp_path: Path) -> dict[str, object]:
    # The embedded defaults under tmp_path: the store in ticks/, the archive in archive/.
    settings = Settings.from_env({"TRADEGRAPH_HOME": str(tmp_path)})
    return resources(settings, venue_history=VenueHistoryResource(without_history=["sim"]))


def _store_sealed(tmp_path: Path, days: list[dt.date]) -> EmbeddedTickStore:
    store = EmbeddedTickStore(tmp_path / "ticks")
    for seed, day in enumerate(days):
        store.insert(sim_day(day, 2_000, seed=seed))
        store.seal(day)
    return store


def _archive(tmp_path: Path, day: dt.date) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        GRAPH, selection=[tick_archive], partition_key=day.isoformat(), resources=_resources(tmp_path)
    )


def _retention(tmp_path: Path, **config: object) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        GRAPH,
        selection=[hot_retention],
        resources=_resources(tmp_path),
        run_config={"ops": {"hot_retention": {"config": {"today": TODAY.isoformat(), **config}}}},
    )


def _metadata(result: dg.ExecuteInProcessResult, asset: str) -> dict[str, object]:
    (event,) = [m for m in result.get_asset_materialization_events() if m.asset_key.to_user_string() == asset]
    return {k: v.value for k, v in event.materialization.metadata.items()}


def test_archiving_a_day_never_drops_another_day(tmp_path: Path) -> None:
    store = _store_sealed(tmp_path, [OLD, RECENT])
    assert _archive(tmp_path, OLD).success

    # OLD is archived and far past any retention: archiving RECENT must still leave it in the store.
    result = _archive(tmp_path, RECENT)

    assert result.success
    assert sorted(p.day for p in store.partitions()) == [OLD, RECENT]
    assert {r.day for r in LocalTickArchive(tmp_path / "archive").days()} == {OLD, RECENT}
    assert "dropped_from_store" not in _metadata(result, "tick_archive")


def test_retention_drops_old_archived_days_only_and_records_them(tmp_path: Path) -> None:
    store = _store_sealed(tmp_path, [OLD, OLD_NOT_ARCHIVED, RECENT])
    rows = {p.day: p.rows for p in store.partitions()}
    for day in (OLD, RECENT):
        assert _archive(tmp_path, day).success

    result = _retention(tmp_path, hot_retention_days=7)

    assert result.success
    assert sorted(p.day for p in store.partitions()) == [OLD_NOT_ARCHIVED, RECENT]
    meta = _metadata(result, "hot_retention")
    assert meta["dropped_days"] == [OLD.isoformat()]
    assert (meta["dropped"], meta["dropped_rows"]) == (1, rows[OLD])
    assert (meta["hot_days"], meta["oldest_hot_day"], meta["hot_days_not_archived"]) == (
        2,
        OLD_NOT_ARCHIVED.isoformat(),
        1,
    )
    assert (meta["hot_retention_days"], meta["today"]) == (7, TODAY.isoformat())


def test_retention_with_nothing_to_drop_records_an_empty_list(tmp_path: Path) -> None:
    _store_sealed(tmp_path, [RECENT])
    assert _archive(tmp_path, RECENT).success

    result = _retention(tmp_path, hot_retention_days=7)

    meta = _metadata(result, "hot_retention")
    assert (meta["dropped_days"], meta["dropped"], meta["hot_days"]) == ([], 0, 1)


def test_a_day_dropped_by_retention_is_still_read_from_the_archive(tmp_path: Path) -> None:
    store = _store_sealed(tmp_path, [OLD])
    assert _archive(tmp_path, OLD).success
    assert _retention(tmp_path, hot_retention_days=0).success
    assert store.partitions() == []

    # bars_1m alone reads the day through the IO manager: from the archive, since the store dropped it.
    rebuilt = dg.materialize(
        GRAPH, selection=[bars_1m], partition_key=OLD.isoformat(), resources=_resources(tmp_path)
    )

    assert rebuilt.success
    assert _metadata(rebuilt, "bars_1m")["ticks"] == LocalTickArchive(tmp_path / "archive").verify(OLD).rows
