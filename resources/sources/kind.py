"""What a kind of source is: :class:`SourceKind` (its name, typed config and builder).

Its own module so that the kind packages (``resources/sources/<kind>/``), which define a ``KIND``, and the
registry, which imports every built-in kind package, do not import each other in a cycle.
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
