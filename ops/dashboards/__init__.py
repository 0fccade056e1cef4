"""The Grafana dashboards of the docker/ stack as code (grafana-foundation-sdk).

One module per dashboard, each with a ``build()`` returning a :class:`~ops.dashboards.panels.Board`;
``python -m ops.dashboards`` writes them to docker/grafana/dashboards/, where Grafana's file provider
(docker/grafana/provisioning/dashboards/tradegraph.yml) loads them. tests/ops checks that the committed
files are what this code generates, and that every query returns data from running services.
"""

from __future__ import annotations

from pathlib import Path

from ops.dashboards import energy, ingestion, models, portfolio, services, sources, ticks, trading
from ops.dashboards.panels import Board

OUTPUT = Path(__file__).resolve().parents[2] / "docker" / "grafana" / "dashboards"
"""Where the generated JSON files go (mounted into Grafana by docker/compose.yaml)."""


def boards() -> list[Board]:
    """Every dashboard, in menu order."""
    return [
        module.build() for module in (portfolio, trading, models, ticks, ingestion, sources, energy, services)
    ]


def write(directory: Path = OUTPUT) -> list[Path]:
    """Write every dashboard's JSON into ``directory``, remove JSON files no dashboard writes; the paths."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for board in boards():
        path = directory / board.file
        path.write_text(board.to_json())
        written.append(path)
    for stale in set(directory.glob("*.json")) - set(written):
        stale.unlink()
    return written
