"""Running the stores' SQL on a current ClickHouse (chdb, in-process) exactly as clickhouse-driver sends it.

Each store writes its SQL for ClickHouse 18.16 (the contract suites run it there); its
``test_clickhouse_sql_modern.py`` runs every statement here too, rendered with the driver's own parameter
escaping, on rows inserted with SQL ``VALUES`` escaped the same way. Importing this module skips the
importing test module when chdb is not installed.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import pyarrow as pa
import pytest
from clickhouse_driver.context import Context
from clickhouse_driver.util.escape import escape_param, escape_params

from resources.clickhouse import sql

chdb_session = pytest.importorskip("chdb.session")


def statements_of(module: ModuleType) -> set[str]:
    """The public functions ``module`` defines itself (not those it imports): the statements a modern check
    must cover."""
    return {
        name
        for name, value in inspect.getmembers(module, inspect.isfunction)
        if value.__module__ == module.__name__ and not name.startswith("_")
    }


def render(query: str, params: dict[str, Any] | None = None) -> str:
    """The statement as clickhouse-driver sends it (client-side parameter substitution)."""
    return query % escape_params(params, Context()) if params else query


def values_clause(rows: Iterable[Sequence[Any]]) -> str:
    """Rows as SQL ``VALUES`` tuples, each value escaped as clickhouse-driver escapes parameters (a bool
    as 0/1, as the driver sends it to a UInt8 column)."""
    return ", ".join(
        "(" + ", ".join(str(escape_param(int(v) if isinstance(v, bool) else v, Context())) for v in row) + ")"
        for row in rows
    )


class Modern:
    """A chdb session that runs rendered statements and returns Arrow tables or row tuples."""

    def __init__(self, path: Path) -> None:
        self.session = chdb_session.Session(str(path))

    def run(self, query: str, params: dict[str, Any] | None = None) -> pa.Table:
        return self.session.query(render(query, params), "ArrowTable")

    def rows(self, query: str, params: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
        result = self.run(query, params)
        return list(zip(*(column.to_pylist() for column in result.columns), strict=True))

    def insert(self, query: str, rows: Iterable[Sequence[Any]]) -> None:
        """Run an ``INSERT .. VALUES`` statement of the store with ``rows`` as its values."""
        self.session.query(f"{query} {values_clause(rows)}")


@contextmanager
def modern_database(path: Path, database: str) -> Iterator[Modern]:
    """A chdb session under ``path`` with ``database`` created (twice: it is idempotent), dropped at the end."""
    db = Modern(path)
    db.run(sql.create_database(database))
    db.run(sql.create_database(database))
    try:
        yield db
    finally:
        db.run(sql.drop_database(database))
        db.session.close()
