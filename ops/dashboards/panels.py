"""The few building blocks every dashboard uses: a Prometheus query, a time series, a stat, a dashboard.

The dashboards are built with grafana-foundation-sdk's builders; these helpers fix what all of them
share (the provisioned Prometheus data source, panel sizes, legends, ids), so each dashboard module
reads as a list of titled queries.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from grafana_foundation_sdk.builders import common as common_builders
from grafana_foundation_sdk.builders import dashboard, prometheus, stat, timeseries
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models import dashboard as dashboard_model
from grafana_foundation_sdk.models.dashboard import DataSourceRef

DATASOURCE = DataSourceRef(type_val="prometheus", uid="prometheus")
"""The data source docker/grafana/provisioning/datasources/prometheus.yml provisions (uid ``prometheus``)."""

PANEL_HEIGHT = 8
"""Grid rows of a time series panel."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Query:
    """One PromQL expression of a panel and the legend of its series."""

    expr: str
    """The PromQL expression (tests/ops evaluates each against running services)."""
    legend: str = ""
    """Grafana legend format, e.g. ``{{symbol}}`` ('' : Grafana's default, the series' labels)."""


Panel = timeseries.Panel | stat.Panel


def _targets(panel: Panel, queries: Sequence[Query]) -> None:
    for ref, query in zip("ABCDEFGHIJ", queries, strict=False):
        target = prometheus.Dataquery().expr(query.expr).ref_id(ref).range()
        if query.legend:
            target = target.legend_format(query.legend)
        panel.with_target(target)


def series_panel(
    title: str, unit: str, datasource: DataSourceRef, *, description: str = "", width: int = 12
) -> timeseries.Panel:
    """A time series panel on ``datasource`` without its queries: the standard height, a list legend below."""
    panel = (
        timeseries.Panel()
        .title(title)
        .unit(unit)
        .datasource(datasource)
        .height(PANEL_HEIGHT)
        .span(width)
        .legend(
            common_builders.VizLegendOptions()
            .show_legend(True)
            .display_mode(common.LegendDisplayMode.LIST)
            .placement(common.LegendPlacement.BOTTOM)
        )
    )
    if description:
        panel = panel.description(description)
    return panel


def series(
    title: str, unit: str, *queries: Query, description: str = "", width: int = 12
) -> timeseries.Panel:
    """A time series panel of ``queries`` in ``unit`` (a Grafana unit id: ``ops``, ``s``, ``bytes``, ...)."""
    if len(queries) > 10:
        raise ValueError(f"{title}: at most 10 queries a panel")
    panel = series_panel(title, unit, DATASOURCE, description=description, width=width)
    _targets(panel, queries)
    return panel


def single(title: str, unit: str, query: Query, *, description: str = "", width: int = 6) -> stat.Panel:
    """A stat panel: the latest value of each series of ``query``."""
    panel = (
        stat.Panel()
        .title(title)
        .unit(unit)
        .datasource(DATASOURCE)
        .height(4)
        .span(width)
        .graph_mode(common.BigValueGraphMode.AREA)
        .color_mode(common.BigValueColorMode.VALUE)
        .reduce_options(common_builders.ReduceDataOptions().calcs(["lastNotNull"]).values(False))
    )
    if description:
        panel = panel.description(description)
    _targets(panel, [query])
    return panel


@dataclass(frozen=True, slots=True, kw_only=True)
class Board:
    """A dashboard: its file name under docker/grafana/dashboards/ and its Grafana model."""

    file: str
    """File name, e.g. ``portfolio.json``."""
    model: dashboard_model.Dashboard
    """The built dashboard (the SDK's model)."""

    def to_json(self) -> str:
        """The provisioned file's text: sorted keys, two-space indent, a final newline (stable diffs)."""
        return json.dumps(self.model, cls=JSONEncoder, indent=2, sort_keys=True) + "\n"

    def expressions(self) -> list[str]:
        """Every PromQL expression of the dashboard's panels."""
        return [target["expr"] for target in self._targets() if "expr" in target]

    def sql(self) -> list[str]:
        """Every ClickHouse SQL query of the dashboard's panels (see ops.dashboards.sql)."""
        return [target["rawSql"] for target in self._targets() if "rawSql" in target]

    def _targets(self) -> list[dict[str, str]]:
        data = json.loads(self.to_json())
        return [target for panel in data["panels"] for target in panel.get("targets") or []]


def board(
    *, file: str, uid: str, title: str, description: str, rows: Sequence[tuple[str, Sequence[Panel]]]
) -> Board:
    """A dashboard of titled rows of panels, numbered 1.. in order (Grafana needs unique panel ids)."""
    built = (
        dashboard.Dashboard(title)
        .uid(uid)
        .description(description)
        .tags(["tradegraph"])
        .refresh("10s")
        .time("now-1h", "now")
        .timezone("utc")
        .tooltip(dashboard_model.DashboardCursorSync.CROSSHAIR)
    )
    panel_id = 0
    for row_title, panels in rows:
        panel_id += 1
        built = built.with_row(dashboard.Row(row_title).id(panel_id))
        for panel in panels:
            panel_id += 1
            built = built.with_panel(panel.id(panel_id))
    return Board(file=file, model=built.build())
