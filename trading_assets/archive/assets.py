"""The tick archive asset: a sealed day as zstd Parquet on S3 or in a local folder, verified, after which
store partitions past the hot retention leave the store."""

import datetime as dt

import dagster as dg
import pyarrow as pa

from resources.archive.resource import TickArchiveResource
from resources.tick_store.resource import TickStoreResource
from trading_assets.archive.retention import days_to_drop
from trading_assets.market.partitions import DAILY, partition_day


class ArchiveConfig(dg.Config):
    """Run configuration of ``tick_archive``."""

    hot_retention_days: int | None = None
    """Archived days younger than this stay in the store; unset: TRADEGRAPH_HOT_RETENTION_DAYS (7)."""


@dg.asset(
    partitions_def=DAILY,
    group_name="archive",
    kinds={"s3", "parquet"},
    check_specs=[
        dg.AssetCheckSpec(
            "archive_rows_match_partition",
            asset="tick_archive",
            blocking=True,
            description="The archived Parquet holds exactly as many rows as the sealed store partition.",
        )
    ],
)
def tick_archive(
    context: dg.AssetExecutionContext,
    config: ArchiveConfig,
    tick_partition: pa.Table,
    tick_store: TickStoreResource,
    tick_archive: TickArchiveResource,
) -> dg.MaterializeResult:
    """One day of ticks as zstd Parquet, checked by row count and SHA-256 after upload. Then every store
    partition that is archived, verified and older than the hot retention is dropped from the store; reads
    of those days go to the archive through the same reader."""
    from trading_assets.core.settings import Settings

    day = partition_day(context.partition_key)
    retention = config.hot_retention_days
    if retention is None:
        retention = Settings.from_env().hot_retention_days
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
        archived_days = {record.day: record for record in archive.days()}
        dropped = days_to_drop(
            sorted(store_rows),
            archived_days,
            store_rows,
            today=dt.datetime.now(dt.UTC).date(),
            hot_retention_days=retention,
        )
        for old_day in dropped:
            store.drop(old_day)
            context.log.info("dropped %s from the store: archived and older than %d days", old_day, retention)
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
            "hot_retention_days": dg.MetadataValue.int(retention),
            "dropped_from_store": dg.MetadataValue.text(", ".join(d.isoformat() for d in dropped) or "none"),
        },
        check_results=[check],
    )
