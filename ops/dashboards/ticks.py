"""The tick time series per symbol: published, traded, and how late."""

from __future__ import annotations

from ops.dashboards.panels import Board, Query, board, series


def build() -> Board:
    """The ticks dashboard."""
    return board(
        file="ticks.json",
        uid="tradegraph-ticks",
        title="tradegraph ticks",
        description="Ticks per symbol as the streamer publishes them and the executor consumes them.",
        rows=[
            (
                "Ticks per symbol",
                [
                    series(
                        "Ticks published / s by symbol",
                        "ops",
                        Query(
                            expr="sum by (symbol) (rate(tradegraph_streamer_ticks_total[1m]))",
                            legend="{{symbol}}",
                        ),
                    ),
                    series(
                        "Ticks published / s by venue and symbol",
                        "ops",
                        Query(
                            expr="sum by (venue, symbol) (rate(tradegraph_streamer_ticks_total[1m]))",
                            legend="{{venue}} {{symbol}}",
                        ),
                    ),
                    series(
                        "Ticks published in the last hour by symbol",
                        "short",
                        Query(
                            expr="sum by (symbol) (increase(tradegraph_streamer_ticks_total[1h]))",
                            legend="{{symbol}}",
                        ),
                    ),
                    series(
                        "Last price by symbol (the executor's latest bar-close mark or fill)",
                        "currencyUSD",
                        Query(expr="tradegraph_executor_last_price", legend="{{symbol}}"),
                    ),
                    series(
                        "Executor ticks / s",
                        "ops",
                        Query(expr="rate(tradegraph_executor_ticks_total[1m])", legend="{{instance}}"),
                    ),
                ],
            ),
        ],
    )
