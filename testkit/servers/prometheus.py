"""A Prometheus server (the Debian package's ``/usr/bin/prometheus``) scraping given targets on 127.0.0.1.

The configuration is written into the work directory: one scrape job per name in ``targets``, a short
scrape and evaluation interval so tests see rates within seconds, and optional rule files (absolute
paths, e.g. docker/prometheus/alerts.yml). Storage is a folder under the work directory.
"""

from __future__ import annotations

import json
import shutil
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from testkit.servers.base import ManagedServer, free_port


class PrometheusServer(ManagedServer):
    """``prometheus`` on a free 127.0.0.1 port with its own configuration and storage."""

    name = "prometheus"
    ready_timeout_s = 60.0

    def __init__(
        self,
        workdir: Path,
        *,
        targets: Mapping[str, Sequence[str]],
        rule_files: Sequence[Path] = (),
        interval_s: float = 1.0,
        port: int | None = None,
        host: str = "127.0.0.1",
        config_file: Path | None = None,
    ) -> None:
        """``targets``: job name -> ``host:port`` addresses serving ``/metrics``. ``config_file``: a
        configuration used as it is instead (``targets``, ``rule_files`` and ``interval_s`` then unused);
        ``host``: the loopback address it listens on."""
        super().__init__(workdir)
        self.host = host
        self.config_file = None if config_file is None else Path(config_file).resolve()
        self.port = port or free_port()
        self.targets = {job: list(addresses) for job, addresses in targets.items()}
        self.rule_files = [Path(path).resolve() for path in rule_files]
        self.interval_s = interval_s
        self.config_path = self.workdir / "prometheus.yml"

    @property
    def url(self) -> str:
        """Base URL of the HTTP API and UI."""
        return f"http://{self.host}:{self.port}"

    def _config(self) -> dict[str, Any]:
        interval = f"{int(self.interval_s * 1000)}ms"
        return {
            "global": {"scrape_interval": interval, "evaluation_interval": interval},
            "rule_files": [str(path) for path in self.rule_files],
            "scrape_configs": [
                {"job_name": job, "static_configs": [{"targets": addresses}]}
                for job, addresses in self.targets.items()
            ],
        }

    def command(self) -> list[str]:
        exe = shutil.which("prometheus") or "/usr/bin/prometheus"
        if self.config_file is None:
            self.config_path.write_text(yaml.safe_dump(self._config(), sort_keys=False))
        return [
            exe,
            f"--config.file={self.config_file or self.config_path}",
            f"--storage.tsdb.path={self.workdir / 'data'}",
            f"--web.listen-address={self.host}:{self.port}",
            "--log.level=warn",
        ]

    def is_ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/-/ready", timeout=2) as resp:
                return resp.status == 200
        except OSError:
            return False

    def api(self, path: str, **params: str) -> Any:
        """GET ``/api/v1/<path>`` with ``params``; the ``data`` of a successful answer.

        Raises RuntimeError with Prometheus's error (e.g. a query that does not parse).
        """
        query = urllib.parse.urlencode(params)
        url = f"{self.url}/api/v1/{path}" + (f"?{query}" if query else "")
        try:
            with urllib.request.urlopen(url, timeout=10) as resp:
                answer = json.loads(resp.read())
        except urllib.error.HTTPError as exc:  # 400/422 carry the error as JSON
            answer = json.loads(exc.read() or b"{}")
        if answer.get("status") != "success":
            raise RuntimeError(f"{path} {params}: {answer.get('errorType')}: {answer.get('error')}")
        return answer["data"]

    def query(self, expr: str) -> list[dict[str, Any]]:
        """The result of the instant query ``expr`` now (a list of series; [] when it returns nothing)."""
        data = self.api("query", query=expr)
        result = data["result"]
        # A scalar or string answer is [time, value]: it always has a value.
        return result if data["resultType"] in ("vector", "matrix") else [{"value": result}]

    def target_health(self) -> dict[str, str]:
        """``job instance`` -> health (``up``, ``down``, ``unknown``) of every active target."""
        targets = self.api("targets")["activeTargets"]
        return {f"{t['labels']['job']} {t['labels']['instance']}": t["health"] for t in targets}
