"""A web page as a person's browser shows it: headless Chromium (the Debian package) runs the page's
scripts and returns the DOM they built, so a single-page UI (Dagster's, MLflow's) counts as seen only when
its JavaScript rendered it, not when its server merely answered."""

from __future__ import annotations

import shutil
import subprocess
import tempfile


class BrowserError(RuntimeError):
    """Chromium is missing or could not render the page; the message says which and why."""


def chromium() -> str:
    """Path of the Chromium executable; :class:`BrowserError` naming the package when it is missing."""
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path is not None:
            return path
    raise BrowserError("chromium is missing: `bash scripts/setup.sh --test` installs it (Debian `chromium`)")


def rendered_dom(url: str, *, budget_ms: int = 20_000, timeout_s: float = 90.0) -> str:
    """The DOM of ``url`` after its scripts ran for up to ``budget_ms`` of virtual time."""
    with tempfile.TemporaryDirectory(prefix="tradegraph-chromium-") as profile:
        try:
            result = subprocess.run(
                [
                    chromium(),
                    "--headless",
                    # Root in a container has no user namespace for Chromium's sandbox.
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-dev-shm-usage",
                    f"--user-data-dir={profile}",
                    # Tall: lists that render only their visible rows show them all.
                    "--window-size=1600,4000",
                    f"--virtual-time-budget={budget_ms}",
                    "--dump-dom",
                    url,
                ],
                capture_output=True,
                text=True,
                timeout=timeout_s,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise BrowserError(f"chromium did not finish rendering {url} within {timeout_s:.0f} s") from exc
    if result.returncode != 0 or not result.stdout.strip():
        raise BrowserError(
            f"chromium could not render {url} (exit {result.returncode}): {result.stderr[-1500:]}"
        )
    return result.stdout
