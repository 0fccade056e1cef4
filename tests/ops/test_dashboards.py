"""The dashboards as code: the committed JSON is what ops/dashboards generates, and the boards are sound."""

from __future__ import annotations

import json
from pathlib import Path

from ops.dashboards import OUTPUT, boards, write


def test_committed_dashboards_are_what_the_code_generates() -> None:
    # Arrange
    generated = {board.file: board.to_json() for board in boards()}
    # Act
    committed = {path.name: path.read_text() for path in OUTPUT.glob("*.json")}
    # Assert: regenerate with `python -m ops.dashboards` when this fails
    assert sorted(committed) == sorted(generated)
    stale = [name for name, text in generated.items() if committed[name] != text]
    assert stale == [], f"stale dashboards {stale}: run `python -m ops.dashboards` and commit the JSON"


def test_write_replaces_the_folder_with_exactly_the_generated_files(tmp_path: Path) -> None:
    (tmp_path / "old.json").write_text("{}")

    written = write(tmp_path)

    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(b.file for b in boards())
    assert all(json.loads(path.read_text())["uid"] for path in written)


def test_every_board_has_a_unique_uid_unique_panel_ids_and_queries_on_the_provisioned_datasource() -> None:
    models = [json.loads(board.to_json()) for board in boards()]

    assert len({m["uid"] for m in models}) == len(models)
    for model in models:
        ids = [panel["id"] for panel in model["panels"]]
        assert len(ids) == len(set(ids)) and 0 not in ids, model["uid"]
        for panel in model["panels"]:
            if panel["type"] == "row":
                continue
            if panel["datasource"] == {"type": "prometheus", "uid": "prometheus"}:
                assert panel["targets"] and all(t["expr"] for t in panel["targets"]), panel["title"]
            else:
                # The SQL panels: the provisioned ClickHouse data source, each target raw SQL on it.
                assert panel["datasource"] == {"type": "grafana-clickhouse-datasource", "uid": "clickhouse"}
                assert panel["targets"] and all(
                    t["rawSql"] and t["datasource"] == panel["datasource"] for t in panel["targets"]
                ), panel["title"]


def test_the_boards_cover_what_operators_watch() -> None:
    titles = {board.model.title for board in boards()}
    exprs = {expr for board in boards() for expr in board.expressions()}

    assert {
        "tradegraph portfolio",
        "tradegraph executions and risk",
        "tradegraph models",
        "tradegraph ticks",
        "tradegraph ingestion",
        "tradegraph sources",
        "tradegraph energy",
        "tradegraph services",
    } == titles
    for metric in (
        "tradegraph_executor_equity",
        "tradegraph_executor_kill_switch_drawdown_threshold",
        "tradegraph_executor_denials_total",
        "tradegraph_executor_model_version",
        "tradegraph_streamer_ticks_total",
        "tradegraph_loader_consumer_lag_records",
        "tradegraph_streamer_dead_letters_total",
        "tradegraph_source_records_total",
        "process_resident_memory_bytes",
        "process_cpu_seconds_total",
    ):
        assert any(metric in expr for expr in exprs), metric
