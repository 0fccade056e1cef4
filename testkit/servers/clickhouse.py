"""ClickHouse server (the Debian ``clickhouse-server`` package, 18.16 here) as a plain child process."""

from __future__ import annotations

import shutil
from pathlib import Path
from xml.sax.saxutils import escape

from testkit.servers.base import ManagedServer, free_port, port_open

CLICKHOUSE_BINARY = "/usr/sbin/clickhouse-server"
USERS_CONFIG = "/etc/clickhouse-server/users.xml"

_CONFIG = """<?xml version="1.0"?>
<yandex>
    <logger><level>information</level><console>1</console></logger>
    <listen_host>{host}</listen_host>
    <tcp_port>{tcp_port}</tcp_port>
    <http_port>{http_port}</http_port>
    <interserver_http_port>{interserver_port}</interserver_http_port>
    <path>{path}/</path>
    <tmp_path>{path}/tmp/</tmp_path>
    <user_files_path>{path}/user_files/</user_files_path>
    <format_schema_path>{path}/format_schemas/</format_schema_path>
    <users_config>{users}</users_config>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
    <timezone>UTC</timezone>
    <mark_cache_size>268435456</mark_cache_size>
    <max_concurrent_queries>100</max_concurrent_queries>
    <query_log>
        <database>system</database>
        <table>query_log</table>
        <partition_by>toYYYYMM(event_date)</partition_by>
        <flush_interval_milliseconds>1000</flush_interval_milliseconds>
    </query_log>
    <!-- Only queries sent with log_queries and log_query_threads are logged: bench/server_thread_nice.py
         finds the server thread of a connection here. -->
    <query_thread_log>
        <database>system</database>
        <table>query_thread_log</table>
        <partition_by>toYYYYMM(event_date)</partition_by>
        <flush_interval_milliseconds>1000</flush_interval_milliseconds>
    </query_thread_log>
</yandex>
"""


class ClickHouseServer(ManagedServer):
    """A ClickHouse server on 127.0.0.1 with its data under ``workdir``."""

    name = "clickhouse"
    ready_timeout_s = 30.0

    def __init__(
        self,
        workdir: Path,
        *,
        tcp_port: int | None = None,
        users_config: Path | None = None,
        host: str = "127.0.0.1",
        http_port: int | None = None,
    ) -> None:
        """``users_config``: a users.xml of its own (e.g. a user with a password); default the system's.
        ``host``: the loopback address it listens on; ``http_port``: its HTTP port (default a free one)."""
        super().__init__(workdir)
        self.users_config = users_config
        if shutil.which(CLICKHOUSE_BINARY) is None:
            raise FileNotFoundError(
                f"{CLICKHOUSE_BINARY} is missing: install it with `bash scripts/setup.sh --servers` "
                "(apt-get install clickhouse-server clickhouse-client)"
            )
        self.host = host
        self.tcp_port = tcp_port or free_port()
        self.http_port = http_port or free_port()
        self.interserver_port = free_port()
        self.config_path = self.workdir / "config.xml"

    @property
    def url(self) -> str:
        """Connection URL for clickhouse-driver."""
        return f"clickhouse://default@{self.host}:{self.tcp_port}/default"

    def command(self) -> list[str]:
        data = self.workdir / "data"
        for sub in ("tmp", "user_files", "format_schemas"):
            (data / sub).mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(
            _CONFIG.format(
                host=self.host,
                tcp_port=self.tcp_port,
                http_port=self.http_port,
                interserver_port=self.interserver_port,
                path=escape(str(data)),
                users=escape(str(self.users_config or USERS_CONFIG)),
            )
        )
        return [CLICKHOUSE_BINARY, f"--config-file={self.config_path}"]

    def is_ready(self) -> bool:
        if not port_open(self.http_port, self.host):
            return False
        import urllib.request

        try:
            with urllib.request.urlopen(f"http://{self.host}:{self.http_port}/ping", timeout=1) as resp:
                return resp.status == 200
        except OSError:
            return False
