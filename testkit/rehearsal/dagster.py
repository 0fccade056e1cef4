"""What the rehearsal asks the compose file's Dagster webserver and daemon, as a user and Docker would:
the webserver's health probe, its code location and asset graph over GraphQL, the daemons' health, and
the daemon's own compose health check (``dagster-daemon liveness-check``)."""

from __future__ import annotations

import json
import subprocess
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from testkit.servers.base import wait_until

_WORKSPACE = """
{ workspaceOrError { __typename ... on Workspace { locationEntries { name
    locationOrLoadError { __typename ... on PythonError { message } } } } } }
"""
_ASSETS = "{ assetNodes { assetKey { path } } }"
_DAEMONS = "{ instance { daemonHealth { allDaemonStatuses { daemonType required healthy } } } }"


def graphql(base_url: str, query: str) -> dict[str, Any]:
    """The ``data`` of a GraphQL answer of the webserver."""
    request = urllib.request.Request(
        f"{base_url}/graphql",
        data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        answer: dict[str, Any] = json.loads(response.read())
    if answer.get("errors"):
        raise RuntimeError(f"GraphQL errors from {base_url}: {answer['errors']}")
    data: dict[str, Any] = answer["data"]
    return data


def http_status(url: str) -> int | None:
    """The HTTP status of a GET of ``url``; None when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code
    except (urllib.error.URLError, OSError):
        return None


def daemon_statuses(base_url: str) -> dict[str, dict[str, bool]]:
    """Each Dagster daemon the instance knows: whether it is required and healthy (by its heartbeats)."""
    statuses = graphql(base_url, _DAEMONS)["instance"]["daemonHealth"]["allDaemonStatuses"]
    return {s["daemonType"]: {"required": s["required"], "healthy": bool(s["healthy"])} for s in statuses}


def webserver_report(base_url: str, ready_timeout_s: float, daemons_timeout_s: float) -> dict[str, Any]:
    """The webserver's health, code locations, asset keys and the daemons' health, once it answers."""
    report: dict[str, Any] = {"server_info": None}
    if not wait_until(lambda: http_status(f"{base_url}/server_info") == 200, ready_timeout_s, 1.0):
        return report
    report["server_info"] = 200
    entries = graphql(base_url, _WORKSPACE)["workspaceOrError"]["locationEntries"]
    report["locations"] = {
        entry["name"]: entry["locationOrLoadError"].get("message")
        or entry["locationOrLoadError"]["__typename"]
        for entry in entries
    }
    report["asset_keys"] = sorted(
        "/".join(n["assetKey"]["path"]) for n in graphql(base_url, _ASSETS)["assetNodes"]
    )

    def required_healthy() -> bool:
        report["daemons"] = daemon_statuses(base_url)
        return all(s["healthy"] for s in report["daemons"].values() if s["required"])

    wait_until(required_healthy, daemons_timeout_s, 2.0)
    return report


def liveness_check(argv: list[str], env: dict[str, str], cwd: Path) -> dict[str, Any]:
    """The daemon service's compose health check (``dagster-daemon liveness-check``) run as Docker would."""
    result = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False)
    return {"returncode": result.returncode, "output": (result.stdout + result.stderr)[-2000:]}
