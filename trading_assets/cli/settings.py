"""``tradegraph settings``: the settings resolved from the environment, secrets masked."""

from __future__ import annotations

import argparse

from trading_assets.core.settings import Settings


def _cmd_settings(args: argparse.Namespace, settings: Settings) -> int:
    from trading_assets.core.urls import url_without_password

    # Secrets print masked (SecretStr), and so does a password inside a URL (TRADEGRAPH_CLICKHOUSE_URL,
    # TRADEGRAPH_MLFLOW_URI); the reference of every variable is docs/CONFIGURATION.md.
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        shown = "(unset)" if value is None else ",".join(value) if isinstance(value, tuple) else value
        if isinstance(shown, str) and "://" in shown:
            shown = url_without_password(shown)
        print(f"{Settings.env_name(name):<32} {shown}")
    return 0


def add_settings_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``tradegraph settings`` to the CLI's subcommands."""
    show = sub.add_parser("settings", help="print the settings resolved from the environment")
    show.set_defaults(handler=_cmd_settings)
