"""The configuration reference, generated from the settings model so it cannot drift from the code.

``python -m trading_assets.core.settings_doc > docs/CONFIGURATION.md`` writes it; a test checks that the
committed file equals :func:`render`.
"""

from __future__ import annotations

import sys
import typing
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from pydantic.fields import FieldInfo

from trading_assets.core.settings import Settings

_HEADER = """\
# Configuration

<!-- Generated from trading_assets/core/settings.py by
     `python -m trading_assets.core.settings_doc > docs/CONFIGURATION.md`; do not edit by hand. -->

tradegraph reads one settings object from the environment when a command starts, or when the Dagster
code location loads (`tradegraph settings` prints what it resolved, secrets masked). Every variable is
optional: with none set, everything runs on the embedded defaults (Parquet + DuckDB store, in-process
bus, local archive folder). An empty variable counts as unset. A bad value stops the command at once
with the variable's name and an example of a good value.

Secrets are never printed, logged or shown in the Dagster UI: the UI shows the name of the variable
a secret comes from, and Dagster reads it when a run starts.

| variable | meaning | default |
|---|---|---|
"""


def _type_hint(name: str) -> Any:
    return typing.get_type_hints(Settings, include_extras=False)[name]


def _default(name: str, field: FieldInfo) -> str:
    extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
    if "doc_default" in extra:
        return str(extra["doc_default"])
    default = field.default
    if default is None:
        return "(unset)"
    if isinstance(default, tuple):
        return f"`{','.join(str(item) for item in default)}`"
    if isinstance(default, Path):
        return f"`./{default}`"
    return f"`{default}`"


def _meaning(name: str, field: FieldInfo) -> str:
    # Docstrings use reST literals; Markdown takes single backquotes.
    text = " ".join((field.description or "").split()).replace("``", "`").replace("|", "\\|")
    extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
    if extra.get("secret") or _is_secret(name):
        text += " Secret: never shown."
    return text


def _is_secret(name: str) -> bool:
    hint = _type_hint(name)
    return hint is SecretStr or SecretStr in typing.get_args(hint)


def render() -> str:
    """docs/CONFIGURATION.md: one row per setting, in the model's order."""
    rows = [
        f"| `{Settings.env_name(name)}` | {_meaning(name, field)} | {_default(name, field)} |"
        for name, field in Settings.model_fields.items()
    ]
    return _HEADER + "\n".join(rows) + "\n"


def main() -> int:
    """Write the reference to standard output."""
    sys.stdout.write(render())
    return 0


if __name__ == "__main__":
    sys.exit(main())
