"""docker/compose.yaml read as compose reads it: anchors merged, variables substituted from an env file."""

from __future__ import annotations

import re
import secrets
import shlex
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "docker"
COMPOSE = DOCKER / "compose.yaml"
TRADEGRAPH_IMAGE = "tradegraph:latest"
MLFLOW_IMAGE = "tradegraph-mlflow:latest"
# Images whose programs are this virtualenv's (the rehearsal runs those services' commands as they are).
RUN_AS_IS = {
    TRADEGRAPH_IMAGE: {"tradegraph", "dagster-webserver", "dagster-daemon"},
    MLFLOW_IMAGE: {"mlflow"},
}
# Prometheus scrapes itself as localhost:9090 (its own container), so it gets 127.0.0.1.
SELF_ADDRESSED = "prometheus"

_VAR = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?([?-])([^}]*))?\}")


class RehearsalError(RuntimeError):
    """The rehearsal could not set itself up (not in a private namespace, a stand-in did not start)."""


def env_file_values() -> dict[str, str]:
    """A value for every variable of docker/env.example: what a filled docker/.env holds."""
    names = [
        line.partition("=")[0].strip()
        for line in (DOCKER / "env.example").read_text().splitlines()
        if "=" in line and not line.lstrip().startswith("#")
    ]
    return {name: f"rehearsal-{name.lower().replace('_', '-')}-{secrets.token_hex(4)}" for name in names}


def interpolate(value: Any, env: dict[str, str]) -> Any:
    """Compose's variable substitution (``${VAR}``, ``${VAR:-default}``, ``${VAR:?error}``, ``$$``)."""
    if isinstance(value, dict):
        return {key: interpolate(item, env) for key, item in value.items()}
    if isinstance(value, list):
        return [interpolate(item, env) for item in value]
    if not isinstance(value, str):
        return value

    def one(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name, kind, arg = match.groups()
        if env.get(name):
            return env[name]
        if kind == "?":
            raise RehearsalError(f"required variable {name} is missing a value: {arg}")
        return arg if kind == "-" else ""

    return _VAR.sub(one, value)


def load_compose(env: dict[str, str], path: Path = COMPOSE) -> dict[str, Any]:
    """docker/compose.yaml with its anchors merged and its variables resolved from ``env``."""
    config: dict[str, Any] = interpolate(yaml.safe_load(path.read_text()), env)
    return config


def environment_of(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.partition("=")[::2] for item in env)
    return {str(k): "" if v is None else str(v) for k, v in env.items()}


def command_of(service: dict[str, Any]) -> list[str]:
    command = service.get("command") or []
    return shlex.split(command) if isinstance(command, str) else [str(part) for part in command]


def addresses(services: dict[str, Any]) -> dict[str, str]:
    """Compose service name -> its loopback address (prometheus 127.0.0.1, the others 127.0.0.2...)."""
    names = sorted(name for name in services if name != SELF_ADDRESSED)
    return {SELF_ADDRESSED: "127.0.0.1", **{name: f"127.0.0.{i}" for i, name in enumerate(names, start=2)}}
