"""The demo's asset-graph runs are runs of the code location's day_pipeline job, re-executable from the
UI (they carry the tradegraph location's origin), and the demo gives its Dagster home a dagster.yaml."""

import datetime as dt
from pathlib import Path

import dagster as dg
import pytest

from resources.tick_store.embedded import EmbeddedTickStore
from tests.resources.archive.conftest import sim_day
from trading_assets.demo_graph import INSTANCE_YAML, LOCATION, ensure_instance_yaml, materialize_days

ROOT = Path(__file__).resolve().parents[2]
DAY = dt.date(2024, 2, 5)


def test_the_instance_template_is_the_one_the_demo_writes(tmp_path: Path) -> None:
    path = ensure_instance_yaml(tmp_path / "dagster")
    path.write_text(path.read_text() + "# edited\n")

    ensure_instance_yaml(tmp_path / "dagster")  # an existing file is left as it is

    assert (ROOT / "scripts" / "dagster.yaml").read_text() == INSTANCE_YAML
    assert path.read_text() == INSTANCE_YAML + "# edited\n"


def test_demo_days_run_as_day_pipeline_runs_of_the_code_location(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "tradegraph"
    store = EmbeddedTickStore(home / "ticks")
    store.insert(sim_day(DAY, 3_000, seed=3))
    monkeypatch.setenv("TRADEGRAPH_HOME", str(home))
    monkeypatch.setenv("TRADEGRAPH_STORE", "embedded")
    monkeypatch.delenv("TRADEGRAPH_ARCHIVE", raising=False)
    monkeypatch.delenv("DAGSTER_HOME", raising=False)

    (result,) = materialize_days([DAY], home=home, progress=False)

    assert (result.day, result.checks_failed) == (DAY, 0)
    assert result.rows == store.export(DAY).num_rows and result.bars > 0
    assert (home / "dagster" / "dagster.yaml").read_text() == INSTANCE_YAML
    with dg.DagsterInstance.from_config(str(home / "dagster")) as instance:
        run = instance.get_run_by_id(result.run_id)
        assert run is not None
        assert (run.job_name, run.status, run.tags["dagster/partition"]) == (
            "day_pipeline",
            dg.DagsterRunStatus.SUCCESS,
            DAY.isoformat(),
        )
        origin = run.remote_job_origin
        assert origin is not None
        assert (origin.location_name, origin.repository_origin.repository_name, origin.job_name) == (
            LOCATION,
            "__repository__",
            "day_pipeline",
        )
        # Every daily asset of the day, in the one run.
        materialized = {
            key.to_user_string()
            for key in instance.get_asset_keys()
            if instance.get_materialized_partitions(key) == {DAY.isoformat()}
        }
        assert materialized == {"tick_partition", "bars_1m", "tick_archive", "features"}
        # The run config turned the demo venue's REST history off, and a re-execution reuses it.
        assert run.run_config["resources"]["venue_history"]["config"]["without_history"] == ["sim"]
