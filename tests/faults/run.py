"""The environment of ``tradegraph run`` in the fault tests of the embedded path."""

from __future__ import annotations

from pathlib import Path

from testkit.harness import SYMBOLS


def embedded_run_env(home: Path, **extra: str) -> dict[str, str]:
    """``tradegraph run`` under ``home`` on the embedded bus and store, trading SYMBOLS; ``extra`` adds to it."""
    # Embedded bus and store are the defaults; spelled out so the tests do not depend on them.
    return {
        "TRADEGRAPH_HOME": str(home),
        "TRADEGRAPH_BUS": "embedded",
        "TRADEGRAPH_STORE": "embedded",
        "TRADEGRAPH_SYMBOLS": ",".join(SYMBOLS),
        **extra,
    }
