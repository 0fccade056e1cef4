"""A PostgreSQL server (the Debian package's ``/usr/lib/postgresql/<version>/bin``) in a fresh cluster.

``initdb`` makes the cluster under the work directory with a superuser ``postgres`` whose password is
given; local (Unix socket) connections are trusted, TCP ones need the password (scram-sha-256), as in
the postgres image. PostgreSQL refuses to run as root, so as root the cluster belongs to, and the server
runs as, the ``postgres`` system user the Debian package creates; its cluster then lives in a folder of
its own under the system's temporary folder (a test's work directory is root's alone, which that user
cannot enter), removed when the server stops.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

from testkit.servers.base import ManagedServer, ServerStartError, free_port, port_open

_DEBIAN = Path("/usr/lib/postgresql")


def postgres_bin() -> Path:
    """The newest PostgreSQL's bin folder; :class:`ServerStartError` naming the package when none is."""
    versions = sorted(
        (p for p in _DEBIAN.glob("*/bin") if (p / "postgres").exists()),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
    )
    if not versions:
        raise ServerStartError(f"no PostgreSQL under {_DEBIAN}: install the Debian package `postgresql`")
    return versions[-1]


class PostgresServer(ManagedServer):
    """``postgres`` on ``host:port`` with its socket in the work directory."""

    name = "postgres"
    ready_timeout_s = 60.0

    def __init__(
        self, workdir: Path, *, superuser_password: str, host: str = "127.0.0.1", port: int | None = None
    ) -> None:
        """``superuser_password``: of ``postgres`` over TCP; ``host``: the loopback address it listens on."""
        super().__init__(workdir)
        self.host = host
        self.port = port or free_port()
        self.superuser_password = superuser_password
        self._bin = postgres_bin()
        # As root: run as the package's system user (PostgreSQL will not run as root).
        self._as: Sequence[str] = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        self.cluster = Path(tempfile.mkdtemp(prefix="tradegraph-postgres-")) if self._as else self.workdir
        self.data = self.cluster / "data"
        self.socket_dir = self.cluster / "socket"

    def _init_cluster(self) -> None:
        if (self.data / "PG_VERSION").exists():
            return
        self.socket_dir.mkdir(parents=True, exist_ok=True)
        pwfile = self.cluster / "superuser.pw"
        pwfile.write_text(self.superuser_password + "\n")
        pwfile.chmod(0o600)
        if self._as:
            user = pwd.getpwnam("postgres")
            for path in (self.cluster, self.socket_dir, pwfile):
                os.chown(path, user.pw_uid, user.pw_gid)
        result = subprocess.run(
            [
                *self._as,
                str(self._bin / "initdb"),
                "-D",
                str(self.data),
                "-U",
                "postgres",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                f"--pwfile={pwfile}",
                "--encoding=UTF8",
                "--no-instructions",
            ],
            check=False,
            capture_output=True,
            text=True,
            timeout=120,
        )
        pwfile.unlink()
        if result.returncode != 0:
            raise ServerStartError(f"initdb failed ({result.returncode}):\n{result.stderr[-2000:]}")

    def start(self) -> ManagedServer:
        self._init_cluster()
        return super().start()

    def stop(self, timeout_s: float = 10.0) -> None:
        super().stop(timeout_s)
        if self.cluster != self.workdir:
            shutil.rmtree(self.cluster, ignore_errors=True)

    def command(self) -> list[str]:
        return [
            *self._as,
            str(self._bin / "postgres"),
            "-D",
            str(self.data),
            "-h",
            self.host,
            "-p",
            str(self.port),
            "-k",
            str(self.socket_dir),
        ]

    def is_ready(self) -> bool:
        return port_open(self.port, self.host) and (self.socket_dir / f".s.PGSQL.{self.port}").exists()

    def psql_env(self) -> dict[str, str]:
        """Environment for ``psql`` as the superuser over the trusted socket (as docker-entrypoint-initdb.d
        scripts run): ``PGHOST``, ``PGPORT``, ``POSTGRES_USER``."""
        return {
            **os.environ,
            "PGHOST": str(self.socket_dir),
            "PGPORT": str(self.port),
            "POSTGRES_USER": "postgres",
        }
