"""The asset-graph half of the demo: seal, bar and archive each ingested day through Dagster in-process,
recorded in a Dagster instance that ``dagster dev`` then shows (DAGSTER_HOME, or $TRADEGRAPH_HOME/dagster)."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
from tqdm import tqdm

from trading_assets.core.settings import Settings


@dataclass(frozen=True, slots=True, kw_only=True)
class DayResult:
    """What the graph made of one day."""

    day: dt.date
    """The partition."""
    rows: int
    """Sealed ticks."""
    bars: int
    """1-minute bars."""
    archive_bytes_per_tick: float
    """Parquet bytes per tick in the archive."""
    checks_passed: int
    """Asset checks that passed."""
    checks_failed: int
    """Asset checks that failed."""


def dagster_home(tradegraph_home: Path) -> Path:
    """Where the demo records its runs: $DAGSTER_HOME, or $TRADEGRAPH_HOME/dagster."""
    return Path(os.environ.get("DAGSTER_HOME") or tradegraph_home / "dagster")


def materialize_days(
    days: Sequence[dt.date], *, settings: Settings, progress: bool = True
) -> list[DayResult]:
    """Materialize tick_partition, bars_1m and tick_archive for each day; return what each produced."""
    from resources.exchange_feed.resource import VenueHistoryResource
    from trading_assets.archive.assets import tick_archive
    from trading_assets.definitions import resources
    from trading_assets.market.assets import bars_1m, tick_partition

    instance_dir = dagster_home(settings.home)
    instance_dir.mkdir(parents=True, exist_ok=True)
    assets = [tick_partition, bars_1m, tick_archive]
    results = []
    with dg.DagsterInstance.local_temp(str(instance_dir)) as instance:
        for day in tqdm(days, desc="asset graph", unit="day", disable=not progress):
            run = dg.materialize(
                assets,
                partition_key=day.isoformat(),
                instance=instance,
                # The demo's trades come from an in-process generator: no exchange holds their history.
                resources=resources(settings, venue_history=VenueHistoryResource(without_history=["sim"])),
                raise_on_error=False,
                # The demo prints its own summary; the run's full log is in the instance for the UI.
                run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
            )
            meta = {
                event.asset_key.to_user_string(): {
                    k: v.value for k, v in event.materialization.metadata.items()
                }
                for event in run.get_asset_materialization_events()
            }
            checks = [e.passed for e in run.get_asset_check_evaluations()]
            results.append(
                DayResult(
                    day=day,
                    rows=int(meta.get("tick_partition", {}).get("rows", 0)),
                    bars=int(meta.get("bars_1m", {}).get("bars", 0)),
                    archive_bytes_per_tick=float(meta.get("tick_archive", {}).get("bytes_per_tick", 0.0)),
                    checks_passed=sum(checks),
                    checks_failed=len(checks) - sum(checks),
                )
            )
    return results
