"""What several ``tradegraph`` commands share: the metrics address option, the shared-bus check, the
services' CPU priority."""

from __future__ import annotations

import argparse
import sys

from trading_assets.core.settings import Settings


def needs_shared_bus(command: str, settings: Settings) -> bool:
    """Whether the bus is one other processes share; if not, say why the command is pointless."""
    if settings.bus == "embedded":
        print(
            f"tradegraph {command}: the embedded bus lives inside one process, so a separate {command} "
            "process would talk to nobody. Run `tradegraph run` (streamer and loader in one process), or "
            "set TRADEGRAPH_BUS=kafka and TRADEGRAPH_KAFKA_BOOTSTRAP=host:port.",
            file=sys.stderr,
        )
        return False
    return True


def add_metrics_host(parser: argparse.ArgumentParser) -> None:
    """Add ``--metrics-host`` to a command that serves Prometheus metrics."""
    # Loopback by default (nothing is exposed unless asked); a container passes 0.0.0.0 so Prometheus,
    # in another container, can scrape it.
    parser.add_argument(
        "--metrics-host",
        default="127.0.0.1",
        help="address to serve the metrics on (default 127.0.0.1; 0.0.0.0 in a container)",
    )


def apply_service_priority(command: str, settings: Settings) -> bool:
    """Give a long-running command's process the nice value of ``TRADEGRAPH_SERVICE_NICE``; if the
    system refuses, say why and how to fix it."""
    from trading_assets.services.cpu_priority import ServiceNiceError, apply_service_nice

    try:
        apply_service_nice(settings.service_nice)
    except ServiceNiceError as exc:
        print(f"tradegraph {command}: {exc}", file=sys.stderr)
        return False
    return True
