"""``python -m ops.dashboards``: regenerate docker/grafana/dashboards/*.json."""

from __future__ import annotations

import sys

from ops.dashboards import write

if __name__ == "__main__":
    for path in write():
        sys.stdout.write(f"wrote {path}\n")
