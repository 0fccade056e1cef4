import subprocess
import sys
from pathlib import Path

import dagster as dg

ROOT = Path(__file__).resolve().parents[2]


def test_definitions_load_as_the_workspace_names_them() -> None:
    from trading_assets.definitions import defs

    assert isinstance(defs, dg.Definitions)
    defs.get_repository_def()  # resolves every asset, check, job, sensor and resource


def test_importing_definitions_has_no_side_effects(tmp_path: Path) -> None:
    # Importing the code location must not create folders. (It reads the settings: resources such as the
    # service state carry their real configuration, set from the settings, so the UI shows it.)
    result = subprocess.run(
        [sys.executable, "-c", "import trading_assets.definitions"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)},
    )

    assert result.returncode == 0, result.stderr
    assert list(tmp_path.iterdir()) == []
