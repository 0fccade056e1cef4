"""The models in use: each symbol's champion version, its age, and what each version decides and fills."""

from __future__ import annotations

from ops.dashboards.panels import Board, Query, board, series


def build() -> Board:
    """The models dashboard."""
    return board(
        file="models.json",
        uid="tradegraph-models",
        title="tradegraph models",
        description="The champions the executor trades (version, registration age) and their activity.",
        rows=[
            (
                "Champions",
                [
                    series(
                        "Champion model version by symbol (0: none)",
                        "short",
                        Query(expr="tradegraph_executor_model_version", legend="{{symbol}}"),
                    ),
                    series(
                        "Champion age since registration",
                        "s",
                        Query(
                            expr="time() - tradegraph_executor_model_registered_timestamp_seconds",
                            legend="{{symbol}}",
                        ),
                        description="The asset graph retrains daily; alert TradegraphModelStale fires after 2 days.",
                    ),
                    series(
                        "Decisions per min by symbol and model version",
                        "short",
                        Query(
                            expr="sum by (symbol, model_version) "
                            "(rate(tradegraph_executor_decisions_total[5m]))*60",
                            legend="{{symbol}} v{{model_version}}",
                        ),
                    ),
                    series(
                        "Orders per min by model version and reason",
                        "short",
                        Query(
                            expr="sum by (model_version, reason) (rate(tradegraph_executor_orders_total[5m]))*60",
                            legend="v{{model_version}} {{reason}}",
                        ),
                    ),
                ],
            ),
        ],
    )
