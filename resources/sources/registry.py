"""The source kinds tradegraph knows: kind name -> :class:`SourceKind` (its typed config and its builder).

Adding a kind of source is one package under ``resources/sources/`` defining a ``KIND`` and one line in
``_BUILT_IN`` below. Sources themselves are instances of a kind, configured by name in a sources file
(:mod:`resources.sources.config`); tests and plug-ins may :func:`register_kind` more at run time. The
kind packages import :class:`SourceKind` from :mod:`resources.sources.kind`, not from here (no cycle).
"""

from __future__ import annotations

from collections.abc import Mapping

from resources.sources import entsoe, ftp, rest, sns, soap, websocket
from resources.sources.base import Source
from resources.sources.kind import SourceBuilder, SourceKind

__all__ = [
    "SourceBuilder",
    "SourceKind",
    "build_source",
    "kind_names",
    "register_kind",
    "source_kind",
    "unregister_kind",
]

_BUILT_IN: tuple[SourceKind, ...] = (entsoe.KIND, ftp.KIND, rest.KIND, sns.KIND, soap.KIND, websocket.KIND)

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
