"""Test support for the ClickHouse stores: tear-down of a test's own database on the real server."""

from __future__ import annotations

from clickhouse_driver import Client

from resources.clickhouse import sql


def drop_database(url: str, database: str) -> None:
    """Drop ``database`` (if it exists) on the server at ``url``."""
    admin = Client.from_url(url)
    try:
        admin.execute(sql.drop_database(database))
    finally:
        admin.disconnect()
