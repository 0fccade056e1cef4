"""The simulated exchange as a real child process (tests, benchmarks, other services' fault tests).

It runs ``python -m trading_assets.services.exchange_sim`` with the given CLI arguments; readiness is
the JSON line with the URLs that the CLI prints, read back from the process log.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Self

from testkit.servers.base import ManagedServer


class ExchangeSimProcess(ManagedServer):
    """``python -m trading_assets.services.exchange_sim ARGS`` in its own process group."""

    name = "exchange-sim"
    ready_timeout_s = 30.0

    def __init__(self, workdir: Path, args: Sequence[str] = ()) -> None:
        super().__init__(workdir)
        self.args = list(args)
        self.urls: dict[str, str] = {}
        self._log_offset = 0

    def command(self) -> list[str]:
        return [sys.executable, "-m", "trading_assets.services.exchange_sim", *self.args]

    def environment(self) -> dict[str, str]:
        env = super().environment()
        # The package must import from the child's working directory (the work dir) too.
        root = str(Path(__file__).resolve().parents[1])
        env["PYTHONPATH"] = root + (":" + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        return env

    def start(self) -> ExchangeSimProcess:
        if self.pid is not None:
            raise RuntimeError(f"{self.name} is already running (pid {self.pid}); stop it first")
        self.urls = {}
        # The log is appended to across restarts: only lines written by this run count.
        self._log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        super().start()
        return self

    def __enter__(self) -> Self:
        self.start()
        return self

    def is_ready(self) -> bool:
        try:
            with open(self.log_path, "rb") as handle:
                handle.seek(self._log_offset)
                text = handle.read().decode(errors="replace")
        except FileNotFoundError:
            return False
        for line in text.splitlines():
            if line.startswith('{"ws_url"'):
                self.urls = json.loads(line)
                return True
        return False

    @property
    def ws_url(self) -> str:
        """``ws://127.0.0.1:P`` of the running process."""
        return self.urls["ws_url"]

    @property
    def rest_url(self) -> str:
        """``http://127.0.0.1:Q`` of the running process."""
        return self.urls["rest_url"]

    @property
    def finnhub_url(self) -> str:
        """``ws://127.0.0.1:P/finnhub`` of the running process."""
        return self.urls["finnhub_url"]
