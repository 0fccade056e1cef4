"""The service-state store as a Dagster resource: sensors and assets declare ``service_state:
ServiceStateResource`` and call ``open()``. Every field is set by whoever builds the resource
(``definitions.py`` from the settings); nothing here reads the environment."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse

import dagster as dg

from resources.service_state.base import ServiceStateStore
from resources.service_state.embedded import embedded_state_path
from resources.service_state.factory import build_service_state
from trading_assets.core.settings import Settings


class ServiceStateResource(dg.ConfigurableResource):
    """Opens the service-state store: a SQLite file (embedded) or ClickHouse tables."""

    backend: str = "embedded"
    """``embedded`` or ``clickhouse``."""
    sqlite_path: str = str(Path(".tradegraph") / "state" / "service_state.sqlite")
    """Database file of the embedded store."""
    clickhouse_url: str = "clickhouse://default@127.0.0.1:9000/default"
    """clickhouse-driver URL, for ``clickhouse`` (pass a ``dg.EnvVar`` when it holds a password, so the UI
    shows the variable's name, not the secret)."""
    clickhouse_database: str = "tradegraph"
    """ClickHouse database of the state tables."""
    clickhouse_password: str | None = None
    """ClickHouse password, set as an environment variable so the UI never shows it."""

    @classmethod
    def from_settings(cls, settings: Settings) -> ServiceStateResource:
        """The resource for ``settings`` (the same store the services write)."""
        # A URL with a password came from TRADEGRAPH_CLICKHOUSE_URL (the default has none): refer to the
        # variable, so Dagster resolves it at run time and never displays the secret.
        url: str = (
            dg.EnvVar("TRADEGRAPH_CLICKHOUSE_URL")
            if urlparse(settings.clickhouse_url).password
            else settings.clickhouse_url
        )
        password = (
            None
            if settings.clickhouse_password is None
            else dg.EnvVar(Settings.env_name("clickhouse_password"))
        )
        return cls(
            backend=settings.service_state,
            sqlite_path=str(embedded_state_path(settings.home)),
            clickhouse_url=url,
            clickhouse_database=settings.clickhouse_database,
            clickhouse_password=password,
        )

    @contextmanager
    def open(self) -> Iterator[ServiceStateStore]:
        """The store, closed again when the block ends."""
        store = build_service_state(
            backend=self.backend,
            sqlite_path=Path(self.sqlite_path),
            clickhouse_url=self.clickhouse_url,
            clickhouse_database=self.clickhouse_database,
            clickhouse_password=self.clickhouse_password,
        )
        try:
            yield store
        finally:
            store.close()
