"""What every resource on ClickHouse shares: the client built from a URL with its timeouts, the classing of
server errors into "retry later" and "will not work", and the SQL identifiers and day partitions.

A lower module of ``resources``: the store packages (tick store, table store, service state) import it;
it imports none of them (an import-linter contract in ``pyproject.toml``).
"""

from resources.clickhouse.client import ClickHouseEndpoint, parse_endpoint
from resources.clickhouse.errors import TRANSIENT_CODES, server_reason, wrapped_errors
from resources.clickhouse.workload import ClickHouseWorkload

__all__ = [
    "TRANSIENT_CODES",
    "ClickHouseEndpoint",
    "ClickHouseWorkload",
    "parse_endpoint",
    "server_reason",
    "wrapped_errors",
]
