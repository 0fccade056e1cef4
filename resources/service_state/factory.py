"""Build the service-state store: the one place that maps a configuration to an implementation.

The CLI and the services call :func:`open_service_state` with the settings; the Dagster resource calls
:func:`build_service_state` with its own fields; tests call either.
"""

from __future__ import annotations

from pathlib import Path

from resources.service_state.base import ServiceStateStore
from resources.service_state.embedded import embedded_state_path
from trading_assets.core.settings import Settings
from trading_assets.core.urls import url_with_password

BACKENDS: tuple[str, ...] = ("embedded", "clickhouse")
"""Implementations by name: a SQLite file under the home, or ClickHouse tables."""


def build_service_state(
    *,
    backend: str,
    sqlite_path: Path,
    clickhouse_url: str,
    clickhouse_database: str,
    clickhouse_password: str | None = None,
) -> ServiceStateStore:
    """The store named by ``backend``; the other backend's arguments are ignored.

    ``clickhouse_password`` replaces one in the URL (``TRADEGRAPH_CLICKHOUSE_PASSWORD``, as for the stores).
    """
    if backend == "clickhouse":
        from resources.service_state.clickhouse import ClickHouseServiceState

        url = url_with_password(clickhouse_url, clickhouse_password)
        return ClickHouseServiceState(url, database=clickhouse_database)
    if backend == "embedded":
        from resources.service_state.embedded import EmbeddedServiceState

        return EmbeddedServiceState(sqlite_path)
    raise ValueError(f"service state backend {backend!r} must be one of {', '.join(BACKENDS)}")


def open_service_state(settings: Settings) -> ServiceStateStore:
    """The store chosen by ``TRADEGRAPH_SERVICE_STATE`` (embedded: a SQLite file under TRADEGRAPH_HOME)."""
    return build_service_state(
        backend=settings.service_state,
        sqlite_path=embedded_state_path(settings.home),
        clickhouse_url=settings.clickhouse_url,
        clickhouse_database=settings.clickhouse_database,
        clickhouse_password=(
            None if settings.clickhouse_password is None else settings.clickhouse_password.get_secret_value()
        ),
    )
