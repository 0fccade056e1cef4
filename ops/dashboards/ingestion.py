"""Ingestion: streamer throughput and latency, loader throughput, lag and failures, reconnects, gaps and
dead letters, and the services' heartbeats."""

from __future__ import annotations

from ops.dashboards.panels import Board, Query, board, series


def build() -> Board:
    """The ingestion dashboard."""
    return board(
        file="ingestion.json",
        uid="tradegraph-ingest",
        title="tradegraph ingestion",
        description="Exchange -> streamer -> bus -> loader -> store: throughput, lag, faults.",
        rows=[
            (
                "Throughput and lag",
                [
                    series(
                        "Ticks published / s",
                        "ops",
                        Query(expr="sum(rate(tradegraph_streamer_ticks_total[1m]))", legend="published"),
                    ),
                    series(
                        "Loader rows inserted / s",
                        "ops",
                        Query(expr="rate(tradegraph_loader_rows_total[1m])", legend="{{instance}}"),
                    ),
                    series(
                        "Loader consumer lag (records)",
                        "short",
                        Query(expr="tradegraph_loader_consumer_lag_records", legend="{{instance}}"),
                    ),
                    series(
                        "Loader pending rows",
                        "short",
                        Query(expr="tradegraph_loader_pending_rows", legend="{{instance}}"),
                    ),
                    series(
                        "Publish latency p99",
                        "s",
                        Query(
                            expr="histogram_quantile(0.99, sum by (le) "
                            "(rate(tradegraph_streamer_publish_latency_seconds_bucket[5m])))",
                            legend="p99",
                        ),
                    ),
                    series(
                        "Loader batch latency p99",
                        "s",
                        Query(
                            expr="histogram_quantile(0.99, sum by (le) "
                            "(rate(tradegraph_loader_batch_seconds_bucket[5m])))",
                            legend="p99",
                        ),
                    ),
                ],
            ),
            (
                "Faults",
                [
                    series(
                        "Reconnects / gaps found / gaps filled (per min)",
                        "short",
                        Query(
                            expr="sum(rate(tradegraph_streamer_reconnects_total[5m]))*60", legend="reconnects"
                        ),
                        Query(
                            expr="sum(rate(tradegraph_streamer_gap_trades_found_total[5m]))*60",
                            legend="gap trades found",
                        ),
                        Query(
                            expr="sum(rate(tradegraph_streamer_gap_trades_filled_total[5m]))*60",
                            legend="gap trades filled",
                        ),
                        Query(
                            expr="sum(rate(tradegraph_streamer_gap_fill_failures_total[5m]))*60",
                            legend="gap fills given up",
                        ),
                    ),
                    series(
                        "Dead letters (per min)",
                        "short",
                        Query(
                            expr="sum by (kind) (rate(tradegraph_streamer_dead_letters_total[5m]))*60",
                            legend="streamer {{kind}}",
                        ),
                        Query(expr="sum(rate(tradegraph_loader_dead_letters_total[5m]))*60", legend="loader"),
                    ),
                    series(
                        "Loader failures per second (insert, bus)",
                        "short",
                        Query(expr="rate(tradegraph_loader_insert_failures_total[1m])", legend="insert"),
                        Query(
                            expr="sum by (operation) (rate(tradegraph_loader_bus_failures_total[1m]))",
                            legend="bus {{operation}}",
                        ),
                    ),
                    series(
                        "Heartbeat age",
                        "s",
                        Query(
                            expr="time() - tradegraph_streamer_heartbeat_timestamp_seconds",
                            legend="streamer {{instance}}",
                        ),
                        Query(
                            expr="time() - tradegraph_loader_heartbeat_timestamp_seconds",
                            legend="loader {{instance}}",
                        ),
                    ),
                ],
            ),
        ],
    )
