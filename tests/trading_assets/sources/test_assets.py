"""The source assets materialized in-process on the embedded table store: metadata, chart and checks."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import dagster as dg
import pyarrow as pa
import pytest

from resources.sources.base import SourceSpec
from resources.sources.sns import SnsConfig
from resources.table_store.embedded import EmbeddedTableStore
from resources.table_store.resource import TableStoreResource
from tests.trading_assets.sources.helpers import DAY, FORECAST, PRICES, forecast_rows, full_forecast_day, hour
from trading_assets.sources.assets import build_source_assets, source_asset_key
from trading_assets.sources.tables import merge_day, source_table

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def store_day(tmp_path: Path, spec: SourceSpec, rows: pa.Table, *, merge: bool = True) -> None:
    """Write ``rows`` as the day of ``spec``: merged by key as the loader does, or as is (``merge=False``)."""
    table = source_table(spec)
    with EmbeddedTableStore(tmp_path / "tables") as store:
        written = merge_day(table, table.schema.empty_table(), rows)[0] if merge else rows
        store.write_partition(table, DAY, written)


def materialize(tmp_path: Path, specs: list[SourceSpec], **kwargs: object) -> dg.ExecuteInProcessResult:
    assets, checks = build_source_assets(specs)
    return dg.materialize(
        [*assets, *checks],
        partition_key=DAY.isoformat(),
        resources={"table_store": TableStoreResource(kind="embedded", embedded_dir=str(tmp_path / "tables"))},
        selection=dg.AssetSelection.assets(*(source_asset_key(spec) for spec in specs)),
        **kwargs,  # type: ignore[arg-type]
    )


def metadata(result: dg.ExecuteInProcessResult, spec: SourceSpec) -> dict[str, object]:
    (event,) = [m for m in result.get_asset_materialization_events() if m.asset_key == source_asset_key(spec)]
    return {k: v.value for k, v in event.materialization.metadata.items()}


def evaluations(result: dg.ExecuteInProcessResult) -> dict[str, dg.AssetCheckEvaluation]:
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


def test_a_complete_day_with_revisions_is_described_charted_and_passes_its_checks(tmp_path: Path) -> None:
    # Arrange: two areas, 24 hours, each hour issued twice (and one delivery repeated, as at least once).
    rows = full_forecast_day(DAY, versions=2)
    store_day(tmp_path, FORECAST, pa.concat_tables([rows, rows.slice(0, 5)]))

    # Act
    result = materialize(tmp_path, [FORECAST])

    # Assert
    assert result.success
    shown = metadata(result, FORECAST)
    assert shown["table"] == "src_load_forecast"
    assert (shown["rows"], shown["series"], shown["versions"]) == (96, 2, 2)
    assert shown["first_time"] == "2024-03-02T00:00:00+00:00"
    assert shown["last_time"] == "2024-03-02T23:00:00+00:00"
    assert shown["first_published"] == "2024-03-01T12:00:00+00:00"
    png = re.search(r"base64,([A-Za-z0-9+/=]+)\)", str(shown["chart_png"]))
    assert png is not None and base64.b64decode(png.group(1)).startswith(PNG_MAGIC)

    checks = evaluations(result)
    assert set(checks) == {"periods_complete", "no_duplicates", "revisions"}
    assert all(check.passed for check in checks.values())
    assert checks["revisions"].metadata["revised_periods"].value == 48
    assert checks["revisions"].metadata["max_versions"].value == 2
    assert all(check.partition == DAY.isoformat() for check in checks.values())


def test_missing_periods_warn_without_failing_the_run(tmp_path: Path) -> None:
    # Arrange: FR has only the first 20 hours.
    full = full_forecast_day(DAY)
    mask = [not (r["area"] == "FR" and r["delivery_us"] >= hour(DAY, 20)) for r in full.to_pylist()]
    store_day(tmp_path, FORECAST, full.filter(pa.array(mask)))

    # Act
    result = materialize(tmp_path, [FORECAST])

    # Assert
    assert result.success
    complete = evaluations(result)["periods_complete"]
    assert not complete.passed
    assert complete.severity == dg.AssetCheckSeverity.WARN
    assert complete.metadata["missing_periods"].value == 4
    assert "FR misses 4 (20:00, 21:00, 22:00, 23:00)" in (complete.description or "")
    assert evaluations(result)["no_duplicates"].passed


def test_duplicated_keys_in_the_store_fail_the_duplicates_check_as_an_error(tmp_path: Path) -> None:
    # Arrange: rows written around the loader's merge, so a key is stored twice.
    rows = full_forecast_day(DAY, ("DE",))
    store_day(tmp_path, FORECAST, pa.concat_tables([rows, rows.slice(3, 2)]), merge=False)

    # Act
    result = materialize(tmp_path, [FORECAST], raise_on_error=False)

    # Assert
    duplicates = evaluations(result)["no_duplicates"]
    assert not duplicates.passed
    assert duplicates.severity == dg.AssetCheckSeverity.ERROR
    assert duplicates.metadata["duplicate_rows"].value == 2


def test_an_empty_day_fails_saying_what_to_start(tmp_path: Path) -> None:
    with pytest.raises(dg.Failure, match="no rows of source da_prices are stored for 2024-03-02"):
        materialize(tmp_path, [PRICES])


def test_sources_without_versions_or_series_are_charted_and_checked(tmp_path: Path) -> None:
    rows = pa.Table.from_pylist(
        [{"delivery_us": hour(DAY, h), "price": 40.0 + h} for h in range(24)], schema=PRICES.records.schema
    )
    store_day(tmp_path, PRICES, rows)

    result = materialize(tmp_path, [PRICES])

    shown = metadata(result, PRICES)
    assert (shown["rows"], shown["series"], shown["versions"]) == (24, 1, 1)
    assert "first_published" not in shown
    assert all(check.passed for check in evaluations(result).values())


def test_each_source_gets_a_feed_an_asset_in_the_sources_group_and_three_checks_and_loads_in_definitions() -> (
    None
):
    # An SNS source's own spec, so the kinds' specs fit the tables and assets built here.
    sns = SnsConfig(
        name="sns_prices",
        queue_url="http://127.0.0.1:1/q",
        columns={"area": "string", "price": "float64"},
        time_column="delivery_start",
        series=("area",),
        version_column="published_us",
        periods_per_day=96,
    ).spec()

    assets, checks = build_source_assets([FORECAST, PRICES, sns])
    definitions = dg.Definitions(
        assets=assets,
        asset_checks=checks,
        resources={"table_store": TableStoreResource(kind="embedded", embedded_dir="/nonexistent")},
    )

    graph = definitions.resolve_asset_graph()
    key = source_asset_key(sns)
    assert graph.get(key).group_name == "sources"
    assert graph.get(key).partitions_def is not None
    assert {k.name for k in graph.asset_check_keys if k.asset_key == key} == {
        "periods_complete",
        "no_duplicates",
        "revisions",
    }
    assert dg.AssetKey("source_sns_prices_feed") in graph.get(key).parent_keys
    assert len(checks) == 9
    with pytest.raises(ValueError, match="more than once"):
        build_source_assets([FORECAST, FORECAST])


def test_a_forecast_stored_through_the_loader_merge_keeps_revisions_apart(tmp_path: Path) -> None:
    # Arrange: the same hour revised twice, delivered in two batches, the second batch delivered twice.
    table = source_table(FORECAST)
    first = forecast_rows([("DE", hour(DAY, 5), hour(DAY, 0) - 100, 1.0)])
    second = forecast_rows([("DE", hour(DAY, 5), hour(DAY, 0) - 50, 2.0)])
    stored, _ = merge_day(table, table.schema.empty_table(), first)
    stored, new = merge_day(table, stored, second)
    stored, again = merge_day(table, stored, second)
    store_day(tmp_path, FORECAST, stored, merge=False)

    # Act
    result = materialize(tmp_path, [FORECAST])

    # Assert
    assert (new, again) == (1, 0)
    assert metadata(result, FORECAST)["rows"] == 2
    revisions = evaluations(result)["revisions"]
    assert revisions.metadata["max_versions"].value == 2
