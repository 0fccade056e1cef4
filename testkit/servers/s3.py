"""moto's S3-compatible server on 127.0.0.1 (stands in for AWS S3 or MinIO in tests)."""

from __future__ import annotations

import shutil
import sys
import urllib.request
from pathlib import Path

from testkit.servers.base import ManagedServer, free_port

# moto accepts any credentials; these make boto3 and pyarrow sign requests without a real account.
ACCESS_KEY = "testing"
SECRET_KEY = "testing"
REGION = "us-east-1"


class S3Server(ManagedServer):
    """A moto S3 server."""

    name = "moto"
    ready_timeout_s = 30.0

    def __init__(self, workdir: Path, *, port: int | None = None, host: str = "127.0.0.1") -> None:
        """``host``: the loopback address it listens on."""
        super().__init__(workdir)
        self.host = host
        self.port = port or free_port()

    @property
    def endpoint_url(self) -> str:
        """HTTP endpoint for boto3 (``endpoint_url``)."""
        return f"http://{self.host}:{self.port}"

    def command(self) -> list[str]:
        exe = shutil.which("moto_server", path=str(Path(sys.executable).parent)) or "moto_server"
        return [exe, "-H", self.host, "-p", str(self.port)]

    def is_ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.endpoint_url}/moto-api/", timeout=1) as resp:
                return resp.status == 200
        except OSError:
            return False
