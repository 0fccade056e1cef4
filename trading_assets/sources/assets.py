"""One daily-partitioned asset per configured source, with its completeness, duplicates and revisions checks.

The source poller and loader services (outside Dagster) fill ``src_<name>`` in the table store day by
day; the asset ``source_<name>`` of a day reads that day back and records what is there (rows, series,
versions, time range, a chart), so the day shows in the graph with its lineage (the source's feed
upstream, features and models downstream) and its checks. The checks read the stored day themselves, so
they can be re-run alone after a late delivery.

No ``from __future__ import annotations``: Dagster reads the annotations of decorated functions.
"""

import base64
import datetime as dt
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import dagster as dg
import pyarrow as pa
import pyarrow.compute as pc

from resources.sources.base import SourceSpec
from resources.table_store.resource import TableStoreResource
from trading_assets.core.time import day_bounds_us
from trading_assets.market.partitions import DAILY, partition_day
from trading_assets.sources import checks
from trading_assets.sources.plots import source_day_png
from trading_assets.sources.tables import source_table

GROUP = "sources"
"""Asset group of the source assets."""
FEED_GROUP = "ingestion"
"""Asset group of the sources' feeds (beside ``tick_stream``)."""
COMPLETE_CHECK = "periods_complete"
DUPLICATES_CHECK = "no_duplicates"
REVISIONS_CHECK = "revisions"


def source_asset_key(spec: SourceSpec) -> dg.AssetKey:
    """The key of ``spec``'s daily asset: ``source_<name>``."""
    return dg.AssetKey(f"source_{spec.name}")


def source_feed_key(spec: SourceSpec) -> dg.AssetKey:
    """The key of ``spec``'s feed (the poller and loader services): ``source_<name>_feed``."""
    return dg.AssetKey(f"source_{spec.name}_feed")


def _time(time_us: int) -> str:
    return dt.datetime.fromtimestamp(time_us / 1e6, dt.UTC).isoformat()


def read_day(table_store: TableStoreResource, spec: SourceSpec, day: dt.date) -> pa.Table:
    """The stored rows of ``spec`` for ``day``, in key order."""
    start_us, end_us = day_bounds_us(day)
    with table_store.open() as store:
        return store.read(source_table(spec), start_us=start_us, end_us=end_us)


def day_metadata(spec: SourceSpec, rows: pa.Table) -> dict[str, dg.MetadataValue]:
    """Rows, series, versions and time range of a stored day, as metadata."""
    records = spec.records
    series = list(records.series)
    series_count = rows.select(series).group_by(series).aggregate([]).num_rows if series else 1
    versions = (
        len(pc.unique(rows.column(records.version_column))) if records.version_column is not None else 1
    )
    times = rows.column(records.time_column)
    metadata: dict[str, dg.MetadataValue] = {
        "table": dg.MetadataValue.text(source_table(spec).name),
        "rows": dg.MetadataValue.int(rows.num_rows),
        "series": dg.MetadataValue.int(series_count),
        "versions": dg.MetadataValue.int(versions),
        "first_time": dg.MetadataValue.text(_time(pc.min(times).as_py())),
        "last_time": dg.MetadataValue.text(_time(pc.max(times).as_py())),
    }
    if records.version_column is not None:
        published = rows.column(records.version_column)
        metadata["first_published"] = dg.MetadataValue.text(_time(pc.min(published).as_py()))
        metadata["last_published"] = dg.MetadataValue.text(_time(pc.max(published).as_py()))
    return metadata


def _check_result(
    result: "checks.Completeness | checks.Duplicates | checks.Revisions",
    severity: dg.AssetCheckSeverity = dg.AssetCheckSeverity.WARN,
) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        passed=result.passed,
        severity=severity,
        description=result.description,
        metadata=dict(result.metadata),
    )


def _source_asset(spec: SourceSpec, partitions_def: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    table = source_table(spec)

    @dg.asset(
        name=source_asset_key(spec).path[-1],
        partitions_def=partitions_def,
        group_name=GROUP,
        deps=[source_feed_key(spec)],
        kinds={"parquet", "clickhouse", spec.kind},
        metadata={"table": table.name, "source_kind": spec.kind, "key": ", ".join(table.key)},
        description=f"Source {spec.name} ({spec.kind}): one UTC day of its records as the loader stored them "
        f"in table {table.name}, one row per key"
        + (
            f"; revisions kept as versions by {spec.records.version_column}"
            if spec.records.version_column
            else ""
        )
        + ".",
    )
    def source_day(
        context: dg.AssetExecutionContext, table_store: TableStoreResource
    ) -> dg.MaterializeResult:
        day = partition_day(context.partition_key)
        rows = read_day(table_store, spec, day)
        if rows.num_rows == 0:
            raise dg.Failure(
                f"no rows of source {spec.name} are stored for {day} in {table.name}: the source loader has not "
                "written this day (are the source poller and loader running, and is the source delivering?)"
            )
        png = base64.b64encode(source_day_png(spec, rows, day=day)).decode()
        return dg.MaterializeResult(
            metadata={
                **day_metadata(spec, rows),
                "chart_png": dg.MetadataValue.md(f"![{spec.name} {day}](data:image/png;base64,{png})"),
            }
        )

    return source_day


def _daily_check(**kwargs: Any) -> Callable[[Callable[..., Any]], dg.AssetChecksDefinition]:
    """``dg.asset_check(**kwargs)`` whose preview warning about ``partitions_def`` is silenced.

    Partitioned checks record one evaluation per partition (see
    :func:`trading_assets.market.partitions.check_spec`, which silences the same warning for the same reason).
    """

    def decorate(function: Callable[..., Any]) -> dg.AssetChecksDefinition:
        with warnings.catch_warnings():
            warnings.filterwarnings(
                "ignore", message=".*partitions_def on an AssetCheckSpec", category=dg.PreviewWarning
            )
            return dg.asset_check(**kwargs)(function)

    return decorate


def _source_checks(
    spec: SourceSpec, partitions_def: dg.PartitionsDefinition
) -> list[dg.AssetChecksDefinition]:
    key = source_asset_key(spec)
    periods = spec.periods_per_day

    @_daily_check(
        asset=key,
        name=COMPLETE_CHECK,
        partitions_def=partitions_def,
        blocking=False,
        description=f"Every series has all {periods} periods of the day (the source's own expectation); "
        "warns, does not block, when periods are missing."
        if periods
        else "The day has rows (the source promises no number of periods a day).",
    )
    def complete(
        context: dg.AssetCheckExecutionContext, table_store: TableStoreResource
    ) -> dg.AssetCheckResult:
        day = partition_day(context.partition_key)
        result = checks.check_completeness(spec, day, read_day(table_store, spec, day))
        return _check_result(result, dg.AssetCheckSeverity.WARN)

    @_daily_check(
        asset=key,
        name=DUPLICATES_CHECK,
        partitions_def=partitions_def,
        blocking=True,
        description=f"Each key ({', '.join(spec.records.key)}) is stored once: redeliveries were merged away.",
    )
    def no_duplicates(
        context: dg.AssetCheckExecutionContext, table_store: TableStoreResource
    ) -> dg.AssetCheckResult:
        day = partition_day(context.partition_key)
        result = checks.check_duplicates(spec, read_day(table_store, spec, day))
        return _check_result(result, dg.AssetCheckSeverity.ERROR)

    @_daily_check(
        asset=key,
        name=REVISIONS_CHECK,
        partitions_def=partitions_def,
        blocking=False,
        description="How many periods the source revised and the most versions of one (informational).",
    )
    def revisions(
        context: dg.AssetCheckExecutionContext, table_store: TableStoreResource
    ) -> dg.AssetCheckResult:
        day = partition_day(context.partition_key)
        return _check_result(checks.check_revisions(spec, read_day(table_store, spec, day)))

    return [complete, no_duplicates, revisions]


def source_feed(spec: SourceSpec) -> dg.AssetSpec:
    """The external feed of ``spec``: its records arrive through the source poller and loader services."""
    return dg.AssetSpec(
        source_feed_key(spec),
        group_name=FEED_GROUP,
        description=f"Records of source {spec.name} ({spec.kind}) as they arrive: the source poller publishes "
        f"them on bus topic {spec.topic} and the source loader merges them into {source_table(spec).name} "
        "(services outside Dagster).",
        kinds={spec.kind},
    )


def build_source_assets(
    specs: Sequence[SourceSpec], *, partitions_def: dg.PartitionsDefinition = DAILY
) -> tuple[list[dg.AssetsDefinition | dg.AssetSpec], list[dg.AssetChecksDefinition]]:
    """Per source: its feed (an external asset), its daily asset ``source_<name>``, and its three checks.

    The assets need the ``table_store`` resource (:class:`TableStoreResource`).
    """
    names = [spec.name for spec in specs]
    doubled = sorted({name for name in names if names.count(name) > 1})
    if doubled:
        raise ValueError(f"sources {doubled} are configured more than once")
    assets: list[dg.AssetsDefinition | dg.AssetSpec] = []
    asset_checks: list[dg.AssetChecksDefinition] = []
    for spec in specs:
        assets += [source_feed(spec), _source_asset(spec, partitions_def)]
        asset_checks += _source_checks(spec, partitions_def)
    return assets, asset_checks
