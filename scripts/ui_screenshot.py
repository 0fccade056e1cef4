"""Screenshots of a running Dagster UI in headless chromium: the asset graph, a partition, the checks, the
sensors and schedule, and the bars chart of a day. A developer tool for looking at the UI without a
desktop; not part of the tests or CI.

Start the UI first (README), e.g. after ``bash scripts/demo.sh``:
``DAGSTER_HOME=$PWD/.tradegraph/dagster .venv/bin/dg dev -h 127.0.0.1 -p 3000``, then::

    .venv/bin/python scripts/ui_screenshot.py --url http://127.0.0.1:3000 --out /tmp/tradegraph-ui

It first sends the GraphQL mutation ``setNuxSeen``: until then a "Join the Dagster community" pop-up
covers every page. Pages are shot with ``chromium --headless --screenshot``; the full bars chart lives
in a dialog behind the "[Show Markdown]" link of the ``chart_png`` metadata (``chart`` itself is an
inline table of sparklines), so that one page is driven over the
DevTools protocol (navigate, click, wait for the image to decode, capture). Chromium comes from Debian
(``apt-get install -y chromium``). Exits non-zero when a page cannot be shot or the chart does not render.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests
import websocket

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from testkit.servers.base import stop_process_group

WIDTH, HEIGHT = 1600, 1000
# The flags docs/MEASUREMENTS.md measured: no sandbox or GPU in a container, and nothing that phones home.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    f"--window-size={WIDTH},{HEIGHT}",
]


def find_chromium(explicit: str | None) -> str:
    """Path of the chromium binary, or exit with how to install it."""
    for candidate in [explicit] if explicit else ["chromium", "chromium-browser", "google-chrome"]:
        path = shutil.which(candidate)
        if path:
            return path
    raise SystemExit(
        "chromium not found: install it with `apt-get install -y chromium` (Debian), or pass --chromium"
    )


def graphql(url: str, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    """``data`` of one GraphQL request to the UI at ``url``; exits with the server's errors."""
    response = requests.post(
        f"{url}/graphql", json={"query": query, "variables": variables or {}}, timeout=30
    )
    response.raise_for_status()
    body = response.json()
    if body.get("errors"):
        raise SystemExit(f"GraphQL errors from {url}: {body['errors']}")
    return body["data"]


def latest_partition(url: str, asset: str) -> str | None:
    """The partition of ``asset``'s latest materialization, or None when it has none."""
    data = graphql(
        url,
        "query($key: AssetKeyInput!) { assetNodeOrError(assetKey: $key) {"
        " ... on AssetNode { assetMaterializations(limit: 1) { partition } } } }",
        {"key": {"path": [asset]}},
    )
    materializations = (data.get("assetNodeOrError") or {}).get("assetMaterializations") or []
    return materializations[0]["partition"] if materializations else None


def _run_bounded(command: list[str], timeout_s: float) -> subprocess.CompletedProcess[bytes]:
    """Run ``command`` in its own process group; kill the whole group if it outlives ``timeout_s``."""
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True
    )
    try:
        out, err = process.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired as exc:
        os.killpg(process.pid, signal.SIGKILL)
        out, err = process.communicate()
        raise SystemExit(
            f"chromium took over {timeout_s:.0f} s: {' '.join(command)}\n{err.decode()[-2000:]}"
        ) from exc
    return subprocess.CompletedProcess(command, process.returncode, out, err)


def screenshot(chromium: str, url: str, png: Path, *, budget_ms: int, timeout_s: float) -> None:
    """One page to ``png`` with ``chromium --headless --screenshot``; a fresh profile each time.

    ``--virtual-time-budget`` lets the single-page app fetch its GraphQL data and render before the shot.
    """
    with tempfile.TemporaryDirectory(prefix="tradegraph-chromium-") as profile:
        result = _run_bounded(
            [
                chromium,
                *CHROMIUM_FLAGS,
                f"--user-data-dir={profile}",
                f"--virtual-time-budget={budget_ms}",
                f"--screenshot={png}",
                url,
            ],
            timeout_s,
        )
    if result.returncode != 0 or not png.exists() or png.stat().st_size == 0:
        raise SystemExit(
            f"no screenshot of {url} (exit {result.returncode}):\n{result.stderr.decode()[-2000:]}"
        )


class DevTools:
    """A minimal DevTools-protocol client for one page of a headless chromium."""

    def __init__(self, ws_url: str, timeout_s: float) -> None:
        self._ws = websocket.create_connection(ws_url, timeout=timeout_s, suppress_origin=True)
        self._next_id = 0

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        """Send one command and return its result (events that arrive meanwhile are dropped)."""
        self._next_id += 1
        self._ws.send(json.dumps({"id": self._next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self._ws.recv())
            if message.get("id") == self._next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})

    def evaluate(self, expression: str) -> Any:
        """Value of a JavaScript expression in the page."""
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        return result.get("result", {}).get("value")

    def wait_for(self, expression: str, timeout_s: float, what: str) -> Any:
        """Poll ``expression`` until it is truthy; exit naming ``what`` after ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            value = self.evaluate(expression)
            if value:
                return value
            time.sleep(0.25)
        raise SystemExit(f"timed out after {timeout_s:.0f} s waiting for {what}")

    def close(self) -> None:
        self._ws.close()


@contextmanager
def devtools_page(chromium: str, timeout_s: float) -> Iterator[DevTools]:
    """A headless chromium with remote debugging on 127.0.0.1 and a client for its page; always stopped."""
    with tempfile.TemporaryDirectory(prefix="tradegraph-chromium-") as profile:
        process = subprocess.Popen(
            [
                chromium,
                *CHROMIUM_FLAGS,
                f"--user-data-dir={profile}",
                "--remote-debugging-address=127.0.0.1",
                "--remote-debugging-port=0",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        client: DevTools | None = None
        try:
            # Port 0: chromium picks a free port and writes it to DevToolsActivePort in the profile.
            port_file = Path(profile) / "DevToolsActivePort"
            deadline = time.monotonic() + timeout_s
            while not (port_file.exists() and port_file.read_text().strip()):
                if time.monotonic() > deadline or process.poll() is not None:
                    raise SystemExit("chromium did not open its DevTools port")
                time.sleep(0.1)
            port = int(port_file.read_text().split()[0])
            targets = requests.get(f"http://127.0.0.1:{port}/json/list", timeout=10).json()
            page = next(t for t in targets if t["type"] == "page")
            client = DevTools(page["webSocketDebuggerUrl"], timeout_s)
            client.call(
                "Emulation.setDeviceMetricsOverride",
                width=WIDTH,
                height=HEIGHT,
                deviceScaleFactor=1,
                mobile=False,
            )
            yield client
        finally:
            if client is not None:
                client.close()
            stop_process_group(process, 10, name="chromium")


_CLICK_CHART = """(() => {
  const rows = [...document.querySelectorAll('tr')].filter(r => r.textContent.trim().startsWith('chart_png'));
  for (const row of rows) {
    const link = [...row.querySelectorAll('*')].find(e => e.children.length === 0 && e.textContent.trim() === '[Show Markdown]');
    if (link) { link.click(); return true; }
  }
  return false;
})()"""

# The dialog's image counts once it decoded to real pixels (a broken data URI stays at width 0).
_CHART_DECODED = """(() => {
  const img = [...document.querySelectorAll('img')].find(i => (i.getAttribute('src') || '').startsWith('data:image/png'));
  return img && img.complete && img.naturalWidth > 0 ? img.naturalWidth + 'x' + img.naturalHeight : '';
})()"""


def chart_screenshot(chromium: str, page_url: str, png: Path, timeout_s: float) -> str:
    """Open ``page_url`` (a bars_1m page with the chart metadata), open the chart dialog, shoot it.

    Returns the chart's pixel size as the browser decoded it.
    """
    with devtools_page(chromium, timeout_s) as page:
        page.call("Page.enable")
        page.call("Page.navigate", url=page_url)
        page.wait_for(_CLICK_CHART, timeout_s, f"the chart's [Show Markdown] link on {page_url}")
        size = page.wait_for(_CHART_DECODED, timeout_s, "the chart image to decode in its dialog")
        time.sleep(0.5)  # the dialog fades in
        data = page.call("Page.captureScreenshot", format="png")["data"]
    png.write_bytes(base64.b64decode(data))
    return str(size)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:3000", help="base URL of the running Dagster UI")
    parser.add_argument("--out", type=Path, default=Path("/tmp/tradegraph-ui"), help="folder for the PNGs")
    parser.add_argument("--partition", help="day to show (default: bars_1m's latest materialized partition)")
    parser.add_argument("--chromium", help="chromium binary (default: chromium on PATH)")
    parser.add_argument("--budget-ms", type=int, default=15_000, help="virtual time each page gets to render")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds allowed per page")
    args = parser.parse_args()

    url = args.url.rstrip("/")
    chromium = find_chromium(args.chromium)
    args.out.mkdir(parents=True, exist_ok=True)
    # Without this the "Join the Dagster community" pop-up covers every page.
    graphql(url, "mutation { setNuxSeen }")
    partition = args.partition or latest_partition(url, "bars_1m")

    pages = {
        "lineage": "/assets/tick_partition?view=lineage&lineageScope=neighbors&lineageDepth=1",
        "asset_groups": "/asset-groups",
        "market_group": "/locations/tradegraph/asset-groups/market/lineage",
        "bars_overview": "/assets/bars_1m",
        "tick_partition_checks": "/assets/tick_partition?view=checks",
        "automation": "/automation",
    }
    if partition:
        pages["bars_partition"] = f"/assets/bars_1m?view=partitions&partition={partition}"
        pages["tick_partition_partition"] = f"/assets/tick_partition?view=partitions&partition={partition}"
    for name, path in pages.items():
        png = args.out / f"{name}.png"
        screenshot(chromium, url + path, png, budget_ms=args.budget_ms, timeout_s=args.timeout)
        print(f"{png}  <- {path}")
    if partition:
        png = args.out / "bars_chart.png"
        size = chart_screenshot(
            chromium, f"{url}/assets/bars_1m?view=partitions&partition={partition}", png, args.timeout
        )
        print(f"{png}  <- bars_1m {partition} chart dialog ({size} px)")
    else:
        print("no materialized bars_1m partition yet: no partition pages and no chart", file=sys.stderr)


if __name__ == "__main__":
    main()
