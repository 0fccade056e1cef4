"""The Dagster code location of tradegraph (loaded through ``workspace.yaml``).

Resources read their endpoints from the environment when a run starts (embedded by default; ClickHouse,
Kafka, S3 and MLflow by configuration), so importing this module has no side effects. Runs use the
in-process executor: steps of one run share the embedded store without fighting over files.
"""

from __future__ import annotations

import dagster as dg

from resources.archive.resource import TickArchiveResource
from resources.exchange_feed.resource import VenueHistoryResource
from resources.tick_store.resource import TickStoreResource
from sensors.archive_schedule import archive_schedule
from sensors.day_closed import day_closed_sensor
from sensors.retention_schedule import retention_schedule
from sensors.stream_health import stream_health_sensor
from trading_assets.archive.assets import hot_retention, tick_archive
from trading_assets.jobs import archive_job, day_pipeline_job, retention_job, seal_and_bars_job
from trading_assets.market.assets import bars_1m, tick_partition, tick_stream
from trading_assets.market.day_io import SealedDayIOManager


def resources(
    tick_store: TickStoreResource | None = None,
    tick_archive: TickArchiveResource | None = None,
    venue_history: VenueHistoryResource | None = None,
) -> dict[str, object]:
    """The resources of the graph; unset ones read the environment when a run starts."""
    store = tick_store or TickStoreResource()
    archive = tick_archive or TickArchiveResource()
    return {
        "tick_store": store,
        "tick_archive": archive,
        "venue_history": venue_history or VenueHistoryResource(),
        "sealed_day_io": SealedDayIOManager(tick_store=store, tick_archive=archive),
    }


defs = dg.Definitions(
    assets=[tick_stream, tick_partition, bars_1m, tick_archive, hot_retention],
    jobs=[day_pipeline_job, seal_and_bars_job, archive_job, retention_job],
    sensors=[day_closed_sensor, stream_health_sensor],
    schedules=[archive_schedule, retention_schedule],
    resources=resources(),
    executor=dg.in_process_executor,
)
