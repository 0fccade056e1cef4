"""The source kinds tradegraph knows: kind name -> :class:`SourceKind` (its typed config and its builder).

Adding a kind of source is one package under ``resources/sources/`` defining a ``KIND`` and one line in
``_BUILT_IN`` below. Sources themselves are instances of a kind, configured by name in a sources file
(:mod:`resources.sources.config`); tests and plug-ins may :func:`register_kind` more at run time.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pydantic

from resources.sources.base import Source

SourceBuilder = Callable[[Any], Source]


@dataclass(frozen=True, slots=True, kw_only=True)
class SourceKind:
    """One kind of source: its name, its typed config and how to build a source from that config."""

    name: str
    """Registry name, lower case (``rest``, ``soap``, ``ftp``, ``sns``, ``entsoe``)."""
    config_type: type
    """Frozen, keyword-only dataclass of the kind's options; it has a ``name: str`` field (the source name)."""
    build: SourceBuilder
    """Builds the source from a config of :attr:`config_type`."""
    summary: str = ""
    """One line for ``tradegraph sources kinds``."""

    def config(self, options: Mapping[str, object]) -> Any:
        """``options`` validated into :attr:`config_type`; ``ValueError`` naming each wrong or missing option."""
        try:
            return pydantic.TypeAdapter(self.config_type).validate_python(dict(options))
        except pydantic.ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in error['loc']) or '(options)'}: {error['msg']}"
                for error in exc.errors()
            )
            raise ValueError(f"source kind {self.name!r}: bad options: {problems}") from None


_BUILT_IN: tuple[SourceKind, ...] = ()

_kinds: dict[str, SourceKind] = {kind.name: kind for kind in _BUILT_IN}


def register_kind(kind: SourceKind) -> None:
    """Add ``kind`` under its name; ``ValueError`` when another kind has that name."""
    known = _kinds.get(kind.name)
    if known is not None and known is not kind:
        raise ValueError(f"source kind {kind.name!r} is already registered")
    _kinds[kind.name] = kind


def unregister_kind(name: str) -> None:
    """Remove the kind ``name`` (a no-op when it is not registered)."""
    _kinds.pop(name, None)


def kind_names() -> tuple[str, ...]:
    """Names of the registered kinds, sorted."""
    return tuple(sorted(_kinds))


def source_kind(name: str) -> SourceKind:
    """The kind ``name``; ``ValueError`` naming the known kinds otherwise."""
    try:
        return _kinds[name]
    except KeyError:
        raise ValueError(f"unknown source kind {name!r}; known kinds: {', '.join(kind_names())}") from None


def build_source(kind: str, options: Mapping[str, object]) -> Source:
    """A source of ``kind`` built from its ``options`` (validated against the kind's config type)."""
    chosen = source_kind(kind)
    return chosen.build(chosen.config(options))
