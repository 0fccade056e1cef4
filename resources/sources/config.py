"""The sources file: which sources to run, each a named instance of a registered kind with its options.

TOML, one ``[[source]]`` table per source::

    [[source]]
    name = "entsoe_da_prices_de"      # bus topic sources.<name>, table src_<name>
    kind = "entsoe"                   # a registered kind (tradegraph sources kinds)
    url = "http://127.0.0.1:8780/api" # every other key is an option of the kind's config
    document_type = "A44"

Secrets never go in the file: an option whose value is ``"env:NAME"`` is read from the environment
variable ``NAME`` when the file is loaded (at run time, by the service that loads it).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from resources.sources.base import Source, SourceSpec, check_source_name
from resources.sources.registry import build_source, source_kind

ENV_PREFIX = "env:"


class SourcesFileError(ValueError):
    """The sources file is missing, not TOML, or a source in it is misconfigured; the message says where."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SourceEntry:
    """One ``[[source]]`` of the sources file."""

    name: str
    """The source's name."""
    kind: str
    """The registered kind that builds it."""
    options: Mapping[str, object]
    """The kind's options, ``env:`` references not yet resolved (so they can be shown)."""

    def resolved_options(
        self, environ: Mapping[str, str] | None = None, *, placeholder_secrets: bool = False
    ) -> dict[str, object]:
        """The options with ``env:NAME`` values read from ``environ`` (default: the process environment).

        ``placeholder_secrets``: an unset variable becomes ``"<unset NAME>"`` instead of an error, for
        what needs the source's shape but never contacts it (the asset graph reads only the spec).
        """
        env = os.environ if environ is None else environ
        result: dict[str, object] = {"name": self.name}
        for key, value in self.options.items():
            if isinstance(value, str) and value.startswith(ENV_PREFIX):
                variable = value[len(ENV_PREFIX) :]
                if variable not in env and placeholder_secrets:
                    result[key] = f"<unset {variable}>"
                    continue
                if variable not in env:
                    raise SourcesFileError(
                        f"source {self.name!r}: option {key!r} reads environment variable {variable!r}, "
                        f"which is not set; export {variable}=... before starting"
                    )
                result[key] = env[variable]
            else:
                result[key] = value
        return result

    def build(self, environ: Mapping[str, str] | None = None) -> Source:
        """The configured source."""
        try:
            return build_source(self.kind, self.resolved_options(environ))
        except SourcesFileError:
            raise
        except ValueError as exc:
            raise SourcesFileError(f"source {self.name!r}: {exc}") from exc

    def spec(self) -> SourceSpec:
        """What the source delivers, without its secrets (sources connect on the first fetch, not when built)."""
        try:
            source = build_source(self.kind, self.resolved_options(placeholder_secrets=True))
        except ValueError as exc:
            raise SourcesFileError(f"source {self.name!r}: {exc}") from exc
        try:
            return source.spec
        finally:
            source.close()


def parse_sources(text: str, *, origin: str = "<sources>") -> list[SourceEntry]:
    """The entries of a sources file's ``text``; :class:`SourcesFileError` naming ``origin`` and the entry."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SourcesFileError(f"{origin}: not valid TOML: {exc}") from exc
    tables = document.get("source", [])
    if not isinstance(tables, list):
        raise SourcesFileError(f"{origin}: 'source' must be an array of tables ([[source]])")
    entries: list[SourceEntry] = []
    seen: set[str] = set()
    for index, table in enumerate(tables):
        where = f"{origin}: source #{index + 1}"
        name, kind = table.get("name"), table.get("kind")
        if not isinstance(name, str) or not isinstance(kind, str):
            raise SourcesFileError(
                f"{where}: needs string 'name' and 'kind', e.g. name = 'prices', kind = 'rest'"
            )
        try:
            check_source_name(name)
            source_kind(kind)
        except ValueError as exc:
            raise SourcesFileError(f"{where}: {exc}") from exc
        if name in seen:
            raise SourcesFileError(f"{where}: source name {name!r} appears twice")
        seen.add(name)
        options = {key: value for key, value in table.items() if key not in ("name", "kind")}
        entries.append(SourceEntry(name=name, kind=kind, options=options))
    return entries


def load_sources(path: Path) -> list[SourceEntry]:
    """The entries of the sources file at ``path``."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SourcesFileError(f"cannot read sources file {path}: {exc}") from exc
    return parse_sources(text, origin=str(path))
