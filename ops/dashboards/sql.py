"""ClickHouse SQL panels (the grafana-clickhouse-datasource plugin), for data that lives in the store,
not in Prometheus: energy prices, forecasts and their revisions, intraday trades.

grafana-foundation-sdk has no builder for that plugin's queries, so :class:`SqlQuery` is the SDK's
extension point for one (a ``Dataquery`` variant with its own ``to_json``), written in the plugin's
query format (``editorType`` sql, ``rawSql``, ``format`` 0 = time series, 1 = table). The SQL uses
the plugin's ``$__fromTime`` / ``$__toTime`` macros (the dashboard's range as DateTime), which
:func:`expand_macros` replaces for tests/ops, which runs every query on ClickHouse.
"""

from __future__ import annotations

import datetime as dt

from grafana_foundation_sdk.builders import timeseries
from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.cog import variants as cogvariants
from grafana_foundation_sdk.models.dashboard import DataSourceRef

from ops.dashboards.panels import series_panel

CLICKHOUSE = DataSourceRef(type_val="grafana-clickhouse-datasource", uid="clickhouse")
"""The data source docker/grafana/provisioning/datasources/clickhouse.yml provisions (uid ``clickhouse``)."""

TIME_SERIES, TABLE = 0, 1
"""The plugin's query formats."""


class SqlQuery(cogvariants.Dataquery):
    """One query of the ClickHouse plugin."""

    def __init__(self, *, ref_id: str, sql: str, fmt: int) -> None:
        self.ref_id = ref_id
        self.sql = sql
        self.fmt = fmt

    def to_json(self) -> dict[str, object]:
        """The target as the plugin stores it in a dashboard."""
        return {
            "datasource": {"type": CLICKHOUSE.type_val, "uid": CLICKHOUSE.uid},
            "editorType": "sql",
            "format": self.fmt,
            "queryType": "timeseries" if self.fmt == TIME_SERIES else "table",
            "rawSql": self.sql,
            "refId": self.ref_id,
        }


class _SqlQueryBuilder(cogbuilder.Builder[SqlQuery]):
    def __init__(self, query: SqlQuery) -> None:
        self._internal = query

    def build(self) -> SqlQuery:
        return self._internal


def sql_series(title: str, unit: str, *sqls: str, description: str = "", width: int = 12) -> timeseries.Panel:
    """A time series panel of ClickHouse queries, each returning ``time`` and one or more value columns
    (a string column splits a query into one series per value)."""
    panel = series_panel(title, unit, CLICKHOUSE, description=description, width=width)
    for ref, sql in zip("ABCDEFGHIJ", sqls, strict=False):
        panel.with_target(_SqlQueryBuilder(SqlQuery(ref_id=ref, sql=sql, fmt=TIME_SERIES)))
    return panel


def expand_macros(sql: str, *, start: dt.datetime, end: dt.datetime) -> str:
    """``sql`` with the plugin's range macros replaced as the plugin does (DateTime of the range's ends)."""
    return sql.replace("$__fromTime", f"toDateTime({int(start.timestamp())})").replace(
        "$__toTime", f"toDateTime({int(end.timestamp())})"
    )
