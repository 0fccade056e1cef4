"""Where a model came from: the code version recorded with every model."""

from __future__ import annotations

import functools
import importlib.metadata
import subprocess
from pathlib import Path


@functools.cache
def code_version() -> str:
    """``tradegraph <version>``, plus the git commit (``+dirty`` with uncommitted changes) when the code
    runs from a git checkout; read once per process."""
    try:
        version = importlib.metadata.version("tradegraph")
    except importlib.metadata.PackageNotFoundError:
        version = "unknown"
    root = Path(__file__).resolve().parents[2]
    if not (root / ".git").exists():
        return f"tradegraph {version}"
    try:
        commit = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short=12", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return f"tradegraph {version}"
    return f"tradegraph {version} ({commit}{'+dirty' if dirty else ''})"
