"""How the settings read the environment: ``os.environ`` or a mapping given to ``Settings.from_env``.

pydantic-settings reads ``os.environ`` when a model is built; ``Settings.from_env(mapping)`` (tests, tools)
must read the mapping instead without touching the process environment, so the mapping travels in a
context variable for the duration of one build. Blank values count as unset, as they always have.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar

from pydantic import ValidationError
from pydantic_settings import EnvSettingsSource

_ENVIRON: ContextVar[Mapping[str, str] | None] = ContextVar("tradegraph_environ", default=None)


@contextmanager
def reading(environ: Mapping[str, str] | None) -> Iterator[None]:
    """Within the block, settings built read ``environ`` (None: ``os.environ``)."""
    token = _ENVIRON.set(environ)
    try:
        yield
    finally:
        _ENVIRON.reset(token)


class Environment(EnvSettingsSource):
    """The variables of the settings class from the environment being read, stripped; blank ones dropped."""

    def _load_env_vars(self) -> Mapping[str, str | None]:
        environ = _ENVIRON.get()
        source = os.environ if environ is None else environ
        # Settings defines env_name (secrets keep their own names); BaseSettings, the declared type, does not.
        env_name: Callable[[str], str] = getattr(self.settings_cls, "env_name")  # noqa: B009
        names = {env_name(field).lower() for field in self.settings_cls.model_fields}
        return {
            name.lower(): value.strip()
            for name, value in source.items()
            if value.strip() and (name.lower() in names or name.lower().startswith(self.env_prefix.lower()))
        }


def explain(exc: ValidationError, fields: Collection[str], env_name: Callable[[str], str]) -> str:
    """One line per bad setting: the validators' messages as they are, others with the variable named."""
    lines = []
    for error in exc.errors():
        cause = (error.get("ctx") or {}).get("error")
        if isinstance(cause, ValueError):
            lines.append(str(cause))
            continue
        field = str(error["loc"][0]) if error["loc"] else ""
        name = env_name(field) if field in fields else field or "settings"
        lines.append(f"{name}={error.get('input')!r}: {error['msg']}")
    return "; ".join(lines)
