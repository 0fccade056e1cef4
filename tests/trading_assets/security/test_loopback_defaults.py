"""Every server tradegraph starts binds to 127.0.0.1 unless configured otherwise (issue 11, security).

The defaults are inspected where they are set: every ``--*host`` option of every ``tradegraph`` command
(walked from the parser, so a new command is covered without editing this test), the config dataclasses
and function defaults of the servers the services start, and the command lines ``tradegraph up`` runs
(``dagster dev``, ``mlflow ui``). The metrics servers are also started on their defaults and looked at.
"""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import socket
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from testkit.servers import free_port
from trading_assets.cli import build_parser
from trading_assets.core.settings import Settings
from trading_assets.services import metrics, runtime, sources_runtime
from trading_assets.services.energy_sim.entsoe_api import EntsoeApiServer
from trading_assets.services.energy_sim.ftp_server import FtpDropServer
from trading_assets.services.exchange_sim.config import ExchangeSimConfig
from trading_assets.services.pipeline import PipelineConfig
from trading_assets.services.up import UpConfig, children

LOOPBACK = "127.0.0.1"


def _commands(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    """Every (sub)command's parser, named by its words (``sources run``)."""
    yield " ".join(path) or "tradegraph", parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _commands(sub, (*path, name))


def _host_options(parser: argparse.ArgumentParser) -> dict[str, object]:
    return {
        option: action.default
        for action in parser._actions
        for option in action.option_strings
        if option.startswith("--") and option.endswith("host")
    }


def test_every_host_option_of_every_command_defaults_to_loopback() -> None:
    found = {
        f"{command} {option}": default
        for command, parser in _commands(build_parser())
        for option, default in _host_options(parser).items()
    }

    # The long-running commands and the simulators each have one (a new one is found, not listed).
    for expected in (
        "stream --metrics-host",
        "load --metrics-host",
        "execute --metrics-host",
        "run --metrics-host",
        "sources run --metrics-host",
        "exchange-sim --host",
        "energy-sim --host",
    ):
        assert expected in found, f"{expected} is missing; found {sorted(found)}"
    assert {name: default for name, default in found.items() if default != LOOPBACK} == {}


def _default(function: Callable[..., Any], parameter: str) -> object:
    return inspect.signature(function).parameters[parameter].default


def _field_default(config: type, name: str) -> object:
    return next(f.default for f in dataclasses.fields(config) if f.name == name)


def test_the_servers_bind_loopback_by_default() -> None:
    defaults = {
        "serve_metrics host": _default(metrics.serve_metrics, "host"),
        "run_streamer metrics_host": _default(runtime.run_streamer, "metrics_host"),
        "run_loader metrics_host": _default(runtime.run_loader, "metrics_host"),
        "run_sources metrics_host": _default(sources_runtime.run_sources, "metrics_host"),
        "PipelineConfig.metrics_host": _field_default(PipelineConfig, "metrics_host"),
        "ExchangeSimConfig.host": _field_default(ExchangeSimConfig, "host"),
        "EntsoeApiServer host": _default(EntsoeApiServer.__init__, "host"),
        "FtpDropServer host": _default(FtpDropServer.__init__, "host"),
    }

    assert {name: value for name, value in defaults.items() if value != LOOPBACK} == {}


def _option_value(args: list[str], option: str) -> str:
    assert option in args, f"{option} missing from {args}"
    return args[args.index(option) + 1]


def test_up_starts_the_dagster_and_mlflow_uis_on_loopback(tmp_path: Path) -> None:
    settings = Settings.from_env({"TRADEGRAPH_HOME": str(tmp_path)})

    started = {child.name: child for child in children(settings, UpConfig())}

    assert _option_value(started["dagster"].args, "-h") == LOOPBACK
    assert _option_value(started["mlflow"].args, "--host") == LOOPBACK
    assert "--metrics-host" not in started["services"].args  # `tradegraph run`'s own default: loopback
    assert all(child.url is None or child.url.startswith(f"http://{LOOPBACK}:") for child in started.values())


def test_settings_point_at_loopback_by_default(tmp_path: Path) -> None:
    # What the services dial with nothing configured is this machine, never a public address.
    settings = Settings.from_env({"TRADEGRAPH_HOME": str(tmp_path)})

    assert LOOPBACK in settings.clickhouse_url
    assert settings.kafka_bootstrap.startswith(f"{LOOPBACK}:")
    assert settings.sim_ws_url.startswith(f"ws://{LOOPBACK}:")
    assert settings.sim_rest_url.startswith(f"http://{LOOPBACK}:")


def _listening_addresses(port: int) -> set[str]:
    """The local IPv4 and IPv6 addresses listening on TCP ``port`` (Linux /proc/net/tcp*)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, port_hex = local.rsplit(":", 1)
            if state == "0A" and int(port_hex, 16) == port:  # 0A: LISTEN
                found.add(
                    socket.inet_ntop(
                        socket.AF_INET if len(address) == 8 else socket.AF_INET6,
                        b"".join(
                            int(address[i : i + 8], 16).to_bytes(4, "little")
                            for i in range(0, len(address), 8)
                        ),
                    )
                )
    return found


def test_metrics_server_on_its_defaults_listens_on_loopback_only() -> None:
    port = free_port()

    metrics.serve_metrics(metrics.StreamerMetrics().registry, port)

    with urllib.request.urlopen(f"http://{LOOPBACK}:{port}/metrics", timeout=5) as response:
        assert response.status == 200
    assert _listening_addresses(port) == {LOOPBACK}
