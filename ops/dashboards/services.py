"""The services as processes: up, memory, CPU, open files, and the disk of their data folder.

``process_*`` come from prometheus_client's process collector, which every served registry carries
(trading_assets/services/metrics.py, ``serve_metrics``); ``tradegraph_data_disk_*`` is the file system of
the service's TRADEGRAPH_HOME.
"""

from __future__ import annotations

from ops.dashboards.panels import Board, Query, board, series

TRADEGRAPH_JOBS = 'job!="prometheus"'
"""Every scraped job but Prometheus itself (its own process metrics would dwarf the services')."""


def build() -> Board:
    """The services dashboard."""
    return board(
        file="services.json",
        uid="tradegraph-services",
        title="tradegraph services",
        description="Memory, CPU, open files and disk of each service process; whether Prometheus reaches it.",
        rows=[
            (
                "Processes",
                [
                    series(
                        "Targets up (1) or down (0)", "short", Query(expr="up", legend="{{job}} {{instance}}")
                    ),
                    series(
                        "Resident memory",
                        "bytes",
                        Query(expr=f"process_resident_memory_bytes{{{TRADEGRAPH_JOBS}}}", legend="{{job}}"),
                    ),
                    series(
                        "Resident memory growth per hour (over 15 minutes)",
                        "bytes",
                        Query(
                            expr=f"deriv(process_resident_memory_bytes{{{TRADEGRAPH_JOBS}}}[15m]) * 3600",
                            legend="{{job}}",
                        ),
                    ),
                    series(
                        "CPU (cores)",
                        "short",
                        Query(
                            expr=f"rate(process_cpu_seconds_total{{{TRADEGRAPH_JOBS}}}[1m])",
                            legend="{{job}}",
                        ),
                    ),
                    series(
                        "Open files",
                        "short",
                        Query(expr=f"process_open_fds{{{TRADEGRAPH_JOBS}}}", legend="{{job}}"),
                    ),
                    series(
                        "Free space of the data folder's disk",
                        "percentunit",
                        Query(
                            expr="tradegraph_data_disk_free_bytes / tradegraph_data_disk_size_bytes",
                            legend="{{job}}",
                        ),
                    ),
                ],
            ),
        ],
    )
