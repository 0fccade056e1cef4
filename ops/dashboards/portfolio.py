"""Portfolio performance of the paper executor: equity, PnL, drawdown, positions and fills."""

from __future__ import annotations

from ops.dashboards.panels import Board, Query, board, series, single


def build() -> Board:
    """The portfolio dashboard."""
    return board(
        file="portfolio.json",
        uid="tradegraph-portfolio",
        title="tradegraph portfolio",
        description="The paper executor's account: equity at the latest prices, PnL, drawdown, positions.",
        rows=[
            (
                "Now",
                [
                    single("Equity", "currencyUSD", Query(expr="tradegraph_executor_equity")),
                    single(
                        "PnL over the last hour",
                        "currencyUSD",
                        Query(expr="delta(tradegraph_executor_equity[1h])"),
                    ),
                    single("Drawdown", "percentunit", Query(expr="tradegraph_executor_drawdown")),
                    single(
                        "Fills in the last hour",
                        "short",
                        Query(expr="sum(increase(tradegraph_executor_fills_total[1h]))"),
                    ),
                ],
            ),
            (
                "Performance",
                [
                    series(
                        "Equity", "currencyUSD", Query(expr="tradegraph_executor_equity", legend="equity")
                    ),
                    series(
                        "PnL per 15 minutes",
                        "currencyUSD",
                        Query(expr="delta(tradegraph_executor_equity[15m])", legend="PnL 15m"),
                    ),
                    series(
                        "Drawdown from the high-water mark",
                        "percentunit",
                        Query(expr="tradegraph_executor_drawdown", legend="drawdown"),
                    ),
                    series(
                        "Positions by symbol",
                        "short",
                        Query(expr="tradegraph_executor_position", legend="{{symbol}}"),
                    ),
                    series(
                        "Fills per min by symbol and model version",
                        "short",
                        Query(
                            expr="sum by (symbol, model_version) (rate(tradegraph_executor_fills_total[5m]))*60",
                            legend="{{symbol}} v{{model_version}}",
                        ),
                    ),
                ],
            ),
        ],
    )
