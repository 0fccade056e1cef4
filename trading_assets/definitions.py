"""The Dagster code location of tradegraph (loaded through ``workspace.yaml``).

The definitions load lazily (``@dg.definitions``): the settings are read from the environment when Dagster
loads the code location, not when this module is imported, and every resource gets its configuration
from them as typed fields, so the UI shows the real store, archive and endpoints. Secrets are given as
``dg.EnvVar``: the UI shows the variable's name, and Dagster reads its value when a run starts. Runs use
the in-process executor: steps of one run share the embedded store without fighting over files.
"""

from __future__ import annotations

import tomllib
from typing import TypedDict
from urllib.parse import urlparse

import dagster as dg

from resources.archive.factory import TickArchiveConfig
from resources.archive.resource import TickArchiveResource
from resources.exchange_feed.registry import rest_urls_from
from resources.exchange_feed.resource import VenueHistoryResource
from resources.model_registry.factory import ModelRegistryConfig
from resources.model_registry.resource import ModelRegistryResource
from resources.service_state.resource import ServiceStateResource
from resources.sources.base import SourceSpec
from resources.sources.config import SourcesFileError, load_sources
from resources.table_store.factory import TableStoreConfig
from resources.table_store.resource import TableStoreResource
from resources.tick_store.factory import TickStoreConfig
from resources.tick_store.resource import TickStoreResource
from sensors.archive_schedule import archive_schedule
from sensors.day_closed import day_closed_sensor
from sensors.model_drift import build_drift_sensor
from sensors.paper_fills import paper_fills_sensor
from sensors.retention_schedule import retention_schedule
from sensors.retrain_schedule import build_retrain_schedule
from sensors.stream_health import stream_health_sensor
from trading_assets.archive.assets import hot_retention, tick_archive
from trading_assets.core.settings import Settings
from trading_assets.energy.assets import build_energy_assets
from trading_assets.energy.config import energy_config
from trading_assets.execution.assets import paper_fills, portfolio_daily
from trading_assets.jobs import (
    archive_job,
    day_pipeline_job,
    paper_trading_job,
    retention_job,
    retrain_job,
    seal_and_bars_job,
    source_days_job,
)
from trading_assets.market.assets import bars_1m, tick_partition, tick_stream
from trading_assets.market.day_io import SealedDayIOManager
from trading_assets.models.features_asset import features
from trading_assets.models.model_assets import build_model_assets
from trading_assets.sources.assets import build_source_assets


def _secret(settings: Settings, field: str) -> dg.EnvVar | None:
    """The secret's variable (never its value), or None when it is not set."""
    return None if getattr(settings, field) is None else dg.EnvVar(Settings.env_name(field))


class _ClickHouseConnection(TypedDict):
    clickhouse_url: str | dg.EnvVar
    clickhouse_password: dg.EnvVar | None


def _clickhouse_connection(settings: Settings, url: str) -> _ClickHouseConnection:
    """The ClickHouse URL and password fields of a store resource: the password only by its variable's
    name, and the URL too when it holds a password (it would show in the UI)."""
    shown: str | dg.EnvVar = url
    if urlparse(url).password is not None:
        shown = dg.EnvVar(Settings.env_name("clickhouse_url"))
    return _ClickHouseConnection(
        clickhouse_url=shown, clickhouse_password=_secret(settings, "clickhouse_password")
    )


class _ClickHouseWorkloadFields(TypedDict):
    clickhouse_insert_priority: int
    clickhouse_read_priority: int
    clickhouse_read_max_threads: int
    clickhouse_read_os_thread_priority: int


def _clickhouse_workload(settings: Settings) -> _ClickHouseWorkloadFields:
    """The ClickHouse priority and thread fields of a store resource (the inserts ahead of the reads)."""
    return _ClickHouseWorkloadFields(
        clickhouse_insert_priority=settings.clickhouse_insert_priority,
        clickhouse_read_priority=settings.clickhouse_read_priority,
        clickhouse_read_max_threads=settings.clickhouse_read_max_threads,
        clickhouse_read_os_thread_priority=settings.clickhouse_read_os_thread_priority,
    )


def tick_store_resource(settings: Settings) -> TickStoreResource:
    """The tick store of ``settings`` as a Dagster resource; the password only by its variable's name."""
    config = TickStoreConfig.from_settings(settings)
    return TickStoreResource(
        kind=config.kind,
        embedded_dir=str(config.embedded_dir),
        clickhouse_database=config.database,
        **_clickhouse_connection(settings, config.clickhouse_url),
        **_clickhouse_workload(settings),
    )


def tick_archive_resource(settings: Settings) -> TickArchiveResource:
    """The archive of ``settings`` as a Dagster resource; S3 keys only by their variables' names."""
    config = TickArchiveConfig.from_settings(settings)
    return TickArchiveResource(
        location=config.location,
        s3_endpoint=config.s3_endpoint,
        s3_region=config.s3_region,
        aws_access_key_id=_secret(settings, "s3_access_key_id"),
        aws_secret_access_key=_secret(settings, "s3_secret_access_key"),
        aws_session_token=_secret(settings, "s3_session_token"),
    )


def table_store_resource(settings: Settings) -> TableStoreResource:
    """The table store beside the tick store of ``settings``; the password only by its variable's name."""
    config = TableStoreConfig.from_settings(settings)
    return TableStoreResource(
        kind=config.kind,
        embedded_dir=str(config.embedded_dir),
        clickhouse_database=config.clickhouse_database,
        **_clickhouse_connection(settings, config.clickhouse_url),
        **_clickhouse_workload(settings),
    )


def model_registry_resource(settings: Settings) -> ModelRegistryResource:
    """The model registry of ``settings`` as a Dagster resource; a URI with a password by its variable's name."""
    config = ModelRegistryConfig.from_settings(settings)
    # A server URI with credentials in it is shown by its variable's name, as the ClickHouse URL is.
    uri: str | dg.EnvVar = config.tracking_uri
    if urlparse(config.tracking_uri).password is not None:
        uri = dg.EnvVar(Settings.env_name("mlflow_uri"))
    return ModelRegistryResource(
        tracking_uri=uri,
        artifacts_dir=None if config.artifacts_dir is None else str(config.artifacts_dir),
        request_timeout_s=config.request_timeout_s,
        max_retries=config.max_retries,
    )


def resources(
    settings: Settings,
    *,
    venue_history: VenueHistoryResource | None = None,
    table_store: TableStoreResource | None = None,
    service_state: ServiceStateResource | None = None,
    model_registry: ModelRegistryResource | None = None,
) -> dict[str, object]:
    """The resources of the graph, configured from ``settings`` (tests may replace some)."""
    store = tick_store_resource(settings)
    archive = tick_archive_resource(settings)
    return {
        "tick_store": store,
        "table_store": table_store or table_store_resource(settings),
        "tick_archive": archive,
        "venue_history": venue_history or VenueHistoryResource(rest_urls=rest_urls_from(settings)),
        # Fields set here from the settings, so the UI shows where the services' state is read.
        "service_state": service_state or ServiceStateResource.from_settings(settings),
        "sealed_day_io": SealedDayIOManager(tick_store=store, tick_archive=archive),
        "model_registry": model_registry or model_registry_resource(settings),
    }


def source_specs(settings: Settings) -> list[SourceSpec]:
    """What each source of the sources file delivers (none without ``TRADEGRAPH_SOURCES_FILE``)."""
    if settings.sources_file is None:
        return []
    return [entry.spec() for entry in load_sources(settings.sources_file)]


def energy_assets(settings: Settings, specs: list[SourceSpec]) -> list[dg.AssetsDefinition]:
    """The energy example's assets when the sources file has an ``[energy]`` table (docs/ENERGY.md)."""
    if settings.sources_file is None:
        return []
    table = tomllib.loads(settings.sources_file.read_text(encoding="utf-8")).get("energy")
    if table is None:
        return []
    try:
        config = energy_config(table)
    except ValueError as exc:
        raise SourcesFileError(f"{settings.sources_file}: [energy]: {exc}") from exc
    return build_energy_assets(config, specs)


def build_definitions(settings: Settings) -> dg.Definitions:
    """The code location for ``settings``."""
    symbols = settings.symbols
    specs = source_specs(settings)
    source_assets, source_checks = build_source_assets(specs)
    energy = energy_assets(settings, specs)
    source_jobs = [source_days_job] if specs else []
    return dg.Definitions(
        assets=[
            tick_stream,
            tick_partition,
            bars_1m,
            tick_archive,
            hot_retention,
            features,
            *build_model_assets(symbols),
            paper_fills,
            portfolio_daily,
            *source_assets,
            *energy,
        ],
        asset_checks=source_checks,
        jobs=[
            day_pipeline_job,
            seal_and_bars_job,
            archive_job,
            retention_job,
            retrain_job,
            paper_trading_job,
            *source_jobs,
        ],
        sensors=[
            day_closed_sensor,
            stream_health_sensor,
            build_drift_sensor(symbols, threshold=settings.drift_psi_threshold),
            paper_fills_sensor,
        ],
        schedules=[
            archive_schedule,
            retention_schedule,
            build_retrain_schedule(settings.retrain_cron, symbols),
            *[
                dg.build_schedule_from_partitioned_job(job, hour_of_day=0, minute_of_hour=30)
                for job in source_jobs
            ],
        ],
        resources=resources(settings),
        executor=dg.in_process_executor,
    )


@dg.definitions
def defs() -> dg.Definitions:
    """The code location, configured from the environment when Dagster loads it."""
    return build_definitions(Settings.from_env())
