"""The archive assets: ``tick_archive`` writes one sealed day as zstd Parquet on S3 or in a local folder
and verifies it; ``hot_retention`` (its own asset, run on its own schedule) drops from the tick store the
days that are archived, verified and older than the hot retention, and records which.

Archiving a day never drops any day: retention is a separate step, so a backfill of old days or a
re-archive of one day cannot shrink the store as a side effect.
"""

import datetime as dt

import dagster as dg
import pyarrow as pa

from resources.archive.resource import TickArchiveResource
from resources.tick_store.resource import TickStoreResource
from trading_assets.archive.retention import days_to_drop
from trading_assets.market.partitions import DAILY, daily_check_spec, partition_day


@dg.asset(
    partitions_def=DAILY,
    group_name="archive",
    kinds={"s3", "parquet"},
    check_specs=[
        daily_check_spec(
            "archive_rows_match_partition",
            asset="tick_archive",
            blocking=True,
            description="The archived Parquet holds exactly as many rows as the sealed store partition.",
        )
    ],
)
def tick_archive(
    context: dg.AssetExecutionContext,
    tick_partition: pa.Table,
    tick_store: TickStoreResource,
    tick_archive: TickArchiveResource,
) -> dg.MaterializeResult:
    """One day of ticks as zstd Parquet, checked by row count and SHA-256 after upload. Only this day is
    touched: dropping old days from the store is ``hot_retention``'s job."""
    day = partition_day(context.partition_key)
    with tick_store.open() as store, tick_archive.open() as archive:
        store_rows = {p.day: p.rows for p in store.partitions()}
        if day not in store_rows:
            # Archived earlier and dropped from the store (the input was read back from the archive):
            # verify the archived day again instead of rewriting it.
            archived = archive.verify(day)
            partition_rows = tick_partition.num_rows
        else:
            archived = archive.write_day(day, tick_partition)
            # The sealed partition's own count: it differs from the archive if the day was not sealed or
            # trades arrived after the seal, and then the check stops the day from being trusted.
            partition_rows = store_rows[day]
    check = dg.AssetCheckResult(
        check_name="archive_rows_match_partition",
        passed=archived.rows == partition_rows,
        metadata={"archive_rows": archived.rows, "partition_rows": partition_rows},
    )
    return dg.MaterializeResult(
        metadata={
            "rows": dg.MetadataValue.int(archived.rows),
            "bytes": dg.MetadataValue.int(archived.bytes),
            "bytes_per_tick": dg.MetadataValue.float(round(archived.bytes_per_tick, 3)),
            "sha256": dg.MetadataValue.text(archived.sha256),
            "uri": dg.MetadataValue.text(archived.uri),
        },
        check_results=[check],
    )


class RetentionConfig(dg.Config):
    """Run configuration of ``hot_retention``."""

    hot_retention_days: int | None = None
    """Archived days younger than this stay in the store; unset: TRADEGRAPH_HOT_RETENTION_DAYS (7)."""
    today: str | None = None
    """The day retention counts from (``YYYY-MM-DD``); unset: today in UTC. For replays and tests."""


@dg.asset(
    group_name="archive",
    deps=[tick_archive],
    kinds={"clickhouse", "parquet"},
    description="The hot tick store after retention: days archived, verified and older than the hot "
    "retention are dropped from it (reads of those days go to the archive through the same reader). "
    "Each materialization records the days it dropped.",
)
def hot_retention(
    context: dg.AssetExecutionContext,
    config: RetentionConfig,
    tick_store: TickStoreResource,
    tick_archive: TickArchiveResource,
) -> dg.MaterializeResult:
    """Drop from the store every day that is archived with the store's row count and older than the hot
    retention (:func:`trading_assets.archive.retention.days_to_drop`); record what was dropped."""
    from trading_assets.core.settings import Settings

    retention = config.hot_retention_days
    if retention is None:
        retention = Settings.from_env().hot_retention_days
    today = dt.date.fromisoformat(config.today) if config.today else dt.datetime.now(dt.UTC).date()
    with tick_store.open() as store, tick_archive.open() as archive:
        store_rows = {p.day: p.rows for p in store.partitions()}
        archived = {record.day: record for record in archive.days()}
        dropped = days_to_drop(
            sorted(store_rows), archived, store_rows, today=today, hot_retention_days=retention
        )
        for day in dropped:
            store.drop(day)
            context.log.info(
                f"dropped {day} ({store_rows[day]:,} ticks) from the store: archived and older than "
                f"{retention} days"
            )
    kept = sorted(set(store_rows) - set(dropped))
    not_archived = [day for day in kept if day not in archived]
    return dg.MaterializeResult(
        metadata={
            "dropped_days": dg.MetadataValue.json([day.isoformat() for day in dropped]),
            "dropped": dg.MetadataValue.int(len(dropped)),
            "dropped_rows": dg.MetadataValue.int(sum(store_rows[day] for day in dropped)),
            "hot_days": dg.MetadataValue.int(len(kept)),
            "oldest_hot_day": dg.MetadataValue.text(kept[0].isoformat() if kept else "-"),
            "hot_days_not_archived": dg.MetadataValue.int(len(not_archived)),
            "hot_retention_days": dg.MetadataValue.int(retention),
            "today": dg.MetadataValue.text(today.isoformat()),
        }
    )
