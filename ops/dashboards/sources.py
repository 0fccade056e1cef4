"""The other real-time sources (`tradegraph sources run`): records, failures, rejects, freshness, storage."""

from __future__ import annotations

from ops.dashboards.panels import Board, Query, board, series


def build() -> Board:
    """The sources dashboard."""
    return board(
        file="sources.json",
        uid="tradegraph-sources",
        title="tradegraph sources",
        description="Each configured source: what its poller publishes and the source loader stores.",
        rows=[
            (
                "Sources",
                [
                    series(
                        "Source records published / s by source",
                        "ops",
                        Query(
                            expr="sum by (source) (rate(tradegraph_source_records_total[1m]))",
                            legend="{{source}}",
                        ),
                    ),
                    series(
                        "Source failures per min by source and failure (unavailable, error, bus)",
                        "short",
                        Query(
                            expr="sum by (source, failure) (rate(tradegraph_source_failures_total[5m]))*60",
                            legend="{{source}} {{failure}}",
                        ),
                    ),
                    series(
                        "Source datapoints rejected per min (dead letters)",
                        "short",
                        Query(
                            expr="sum by (source) (rate(tradegraph_source_rejected_total[5m]))*60",
                            legend="{{source}}",
                        ),
                        Query(
                            expr="rate(tradegraph_source_loader_dead_letters_total[5m])*60", legend="loader"
                        ),
                    ),
                    series(
                        "Seconds since each source's last successful fetch",
                        "s",
                        Query(
                            expr="time() - tradegraph_source_last_success_timestamp_seconds",
                            legend="{{source}}",
                        ),
                    ),
                    series(
                        "Source rows stored / s and repeats dropped / s",
                        "ops",
                        Query(
                            expr="sum by (source) (rate(tradegraph_source_loader_rows_total[1m]))",
                            legend="{{source}} stored",
                        ),
                        Query(
                            expr="sum by (source) (rate(tradegraph_source_loader_repeats_total[1m]))",
                            legend="{{source}} repeats",
                        ),
                    ),
                    series(
                        "Source fetch time p99",
                        "s",
                        Query(
                            expr="histogram_quantile(0.99, sum by (source, le) "
                            "(rate(tradegraph_source_fetch_seconds_bucket[5m])))",
                            legend="{{source}}",
                        ),
                    ),
                    series(
                        "Source publish-to-stored latency p50 / p99",
                        "s",
                        Query(
                            expr="histogram_quantile(0.5, sum by (le) "
                            "(rate(tradegraph_source_loader_latency_seconds_bucket[5m])))",
                            legend="p50",
                        ),
                        Query(
                            expr="histogram_quantile(0.99, sum by (le) "
                            "(rate(tradegraph_source_loader_latency_seconds_bucket[5m])))",
                            legend="p99",
                        ),
                    ),
                ],
            ),
        ],
    )
