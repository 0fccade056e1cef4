"""An MLflow tracking server on sqlite with a local artifact folder."""

from __future__ import annotations

import shutil
import sys
import urllib.request
from pathlib import Path

from testkit.servers.base import ManagedServer, free_port


class MlflowServer(ManagedServer):
    """``mlflow server`` on 127.0.0.1 (about 15 s to become ready here)."""

    name = "mlflow"
    ready_timeout_s = 90.0

    def __init__(
        self,
        workdir: Path,
        *,
        port: int | None = None,
        host: str = "127.0.0.1",
    ) -> None:
        """``host``: the loopback address it listens on."""
        super().__init__(workdir)
        self.host = host
        self.port = port or free_port()

    @property
    def tracking_uri(self) -> str:
        """URI for ``mlflow.set_tracking_uri``."""
        return f"http://{self.host}:{self.port}"

    def command(self) -> list[str]:
        exe = shutil.which("mlflow", path=str(Path(sys.executable).parent)) or "mlflow"
        return [
            exe,
            "server",
            "--host",
            self.host,
            "--port",
            str(self.port),
            "--backend-store-uri",
            f"sqlite:///{self.workdir / 'mlflow.db'}",
            "--artifacts-destination",
            str(self.workdir / "artifacts"),
            "--workers",
            "1",
        ]

    def is_ready(self) -> bool:
        try:
            url = f"{self.tracking_uri}/api/2.0/mlflow/registered-models/search"
            with urllib.request.urlopen(url, timeout=2) as resp:
                return resp.status == 200
        except OSError:
            return False
