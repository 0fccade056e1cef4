"""The asset-graph half of the demo: runs of the code location's ``day_pipeline`` job (seal, bars,
archive) for each ingested day, recorded in the Dagster instance that ``dg dev`` then shows
(DAGSTER_HOME, or $TRADEGRAPH_HOME/dagster).

The runs are real runs of the job the UI serves, with the origin of the ``tradegraph`` code location,
so the UI can re-execute them (an ad-hoc ``materialize`` records an ephemeral job that it cannot). They
execute here, in process, and their run config turns off the REST history of the ``sim`` venue: the
demo's trades come from an in-process generator, no exchange holds their history. The instance gets a
``dagster.yaml`` (telemetry off, runs queued one at a time) unless it has one.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
from tqdm import tqdm

LOCATION = "tradegraph"
"""The code location's name, as workspace.yaml and [tool.dg.project] name it."""
JOB = "day_pipeline"
"""The job the demo runs for each day."""
MODELS_JOB = "retrain_models"
"""The job the demo runs for each symbol once the days are in."""
INSTANCE_YAML = """\
# The Dagster instance of tradegraph: copy into DAGSTER_HOME (`tradegraph demo` writes it there when missing).
# Runs, event logs and schedules are kept in SQLite under this folder (DAGSTER_HOME).
telemetry:
  enabled: false
# Runs launched from the UI, sensors and schedules wait their turn: the embedded tick store is one
# DuckDB/Parquet folder that one run at a time writes to.
run_queue:
  max_concurrent_runs: 1
"""
"""Content of the dagster.yaml the demo writes into a Dagster home that has none (= scripts/dagster.yaml)."""
DEMO_RUN_CONFIG: Mapping[str, object] = {
    "resources": {"venue_history": {"config": {"without_history": ["sim"]}}},
    # The demo prints its own summary; the run's full log is in the instance for the UI.
    "loggers": {"console": {"config": {"log_level": "WARNING"}}},
}
"""Run config of the demo's runs (kept by the runs, so a re-execution from the UI uses it too)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DayResult:
    """What the graph made of one day."""

    day: dt.date
    """The partition."""
    run_id: str
    """The day_pipeline run."""
    rows: int
    """Sealed ticks."""
    bars: int
    """1-minute bars."""
    archive_bytes_per_tick: float
    """Parquet bytes per tick in the archive."""
    checks_passed: int
    """Asset checks that passed."""
    checks_failed: int
    """Asset checks of error severity that failed."""
    checks_warned: int
    """Asset checks of warning severity that failed (e.g. a day not covered to midnight)."""


def dagster_home(tradegraph_home: Path) -> Path:
    """Where the demo records its runs: $DAGSTER_HOME, or $TRADEGRAPH_HOME/dagster."""
    return Path(os.environ.get("DAGSTER_HOME") or tradegraph_home / "dagster")


def ensure_instance_yaml(instance_dir: Path) -> Path:
    """Write :data:`INSTANCE_YAML` as ``instance_dir/dagster.yaml`` unless one exists; return its path."""
    instance_dir.mkdir(parents=True, exist_ok=True)
    path = instance_dir / "dagster.yaml"
    if not path.exists():
        path.write_text(INSTANCE_YAML)
    return path


def _remote_origin(recon_job: object, job_name: str) -> object:
    """The origin a run launched from the UI's ``tradegraph`` location carries: it names the location,
    repository and job, which is what the UI and the re-execution mutation look up."""
    from dagster._core.definitions.repository_definition.valid_definitions import (
        SINGLETON_REPOSITORY_NAME,
    )
    from dagster._core.remote_origin import (
        InProcessCodeLocationOrigin,
        RemoteJobOrigin,
        RemoteRepositoryOrigin,
    )
    from dagster._core.types.loadable_target_origin import LoadableTargetOrigin

    target = LoadableTargetOrigin(
        executable_path=sys.executable,
        module_name="trading_assets.definitions",
        working_directory=os.getcwd(),
    )
    location = InProcessCodeLocationOrigin(loadable_target_origin=target, location_name=LOCATION)
    return RemoteJobOrigin(
        repository_origin=RemoteRepositoryOrigin(
            code_location_origin=location, repository_name=SINGLETON_REPOSITORY_NAME
        ),
        job_name=job_name,
    )


def run_day_pipeline(
    instance: dg.DagsterInstance, day: dt.date, *, run_config: Mapping[str, object] = DEMO_RUN_CONFIG
) -> dg.DagsterRun:
    """Create a run of ``day_pipeline`` for ``day`` as the code location would launch it, execute it in
    this process, and return the finished run."""
    return run_job(instance, JOB, day.isoformat(), run_config=run_config)


def run_job(
    instance: dg.DagsterInstance, job_name: str, key: str, *, run_config: Mapping[str, object]
) -> dg.DagsterRun:
    """Create a run of the location's job ``job_name`` for partition ``key`` as the code location would
    launch it, execute it in this process, and return the finished run."""
    from dagster._core.definitions.reconstruct import ReconstructableJob, ReconstructableRepository
    from dagster._core.execution.api import execute_run

    repository = ReconstructableRepository.for_module(
        "trading_assets.definitions", "defs", working_directory=os.getcwd()
    )
    recon_job = repository.get_reconstructable_job(job_name)
    # Dagster caches the last job it reconstructed; the definitions depend on the settings in the
    # environment, so a second demo in one process (the tests) must not get the first one's stores.
    ReconstructableJob.get_definition.cache_clear()
    ReconstructableJob.get_repository_definition.cache_clear()
    job_def = recon_job.get_definition()
    run = instance.create_run_for_job(
        job_def=job_def,
        run_config=dict(run_config),
        tags={
            **job_def.get_tags_for_partition_key(key, selected_asset_keys=None),
            "tradegraph/source": "demo",
        },
        remote_job_origin=_remote_origin(recon_job, job_name),  # type: ignore[arg-type]
        job_code_origin=recon_job.get_python_origin(),
    )
    execute_run(recon_job, run, instance)
    finished = instance.get_run_by_id(run.run_id)
    assert finished is not None, f"run {run.run_id} vanished from the instance"
    return finished


def _day_result(instance: dg.DagsterInstance, day: dt.date, run: dg.DagsterRun) -> DayResult:
    records = instance.get_records_for_run(run.run_id).records
    meta: dict[str, dict[str, object]] = {}
    passed = failed = warned = 0
    for record in records:
        event = record.event_log_entry.dagster_event
        if event is None:
            continue
        if event.is_step_materialization:
            materialization = event.step_materialization_data.materialization
            meta[materialization.asset_key.to_user_string()] = {
                k: v.value for k, v in materialization.metadata.items()
            }
        elif event.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION:
            evaluation = event.asset_check_evaluation_data
            if evaluation.passed:
                passed += 1
            elif evaluation.severity == dg.AssetCheckSeverity.WARN:
                warned += 1
            else:
                failed += 1
    return DayResult(
        day=day,
        run_id=run.run_id,
        rows=int(meta.get("tick_partition", {}).get("rows", 0)),  # type: ignore[call-overload]
        bars=int(meta.get("bars_1m", {}).get("bars", 0)),  # type: ignore[call-overload]
        archive_bytes_per_tick=float(meta.get("tick_archive", {}).get("bytes_per_tick", 0.0)),  # type: ignore[arg-type]
        checks_passed=passed,
        checks_failed=failed + (0 if run.status == dg.DagsterRunStatus.SUCCESS else 1),
        checks_warned=warned,
    )


def materialize_days(days: Sequence[dt.date], *, home: Path, progress: bool = True) -> list[DayResult]:
    """Run ``day_pipeline`` (tick_partition, bars_1m, tick_archive) for each day; return what each produced."""
    instance_dir = dagster_home(home)
    ensure_instance_yaml(instance_dir)
    results = []
    with dg.DagsterInstance.from_config(str(instance_dir)) as instance:
        for day in tqdm(days, desc="asset graph", unit="day", disable=not progress):
            run = run_day_pipeline(instance, day)
            results.append(_day_result(instance, day, run))
    return results
