"""Trade executions and risk limits: decisions, orders and fills, the trading state, denials by rule and
the drawdown against the kill switch's threshold."""

from __future__ import annotations

from ops.dashboards.panels import Board, Query, board, series, single


def build() -> Board:
    """The executions and risk dashboard."""
    return board(
        file="trading.json",
        uid="tradegraph-trading",
        title="tradegraph executions and risk",
        description="What the paper executor decides, sends and fills, and what the risk engine allows.",
        rows=[
            (
                "Risk state",
                [
                    single(
                        "Trading state (0 ACTIVE, 1 REDUCING, 2 HALTED)",
                        "short",
                        Query(expr="tradegraph_executor_trading_state"),
                    ),
                    single("Kill-switch latch", "short", Query(expr="tradegraph_executor_halt_latched")),
                    single(
                        "Kill-switch threshold",
                        "percentunit",
                        Query(expr="tradegraph_executor_kill_switch_drawdown_threshold"),
                    ),
                    single(
                        "Orders denied in the last hour",
                        "short",
                        Query(expr="sum(increase(tradegraph_executor_denials_total[1h]))"),
                    ),
                    series(
                        "Executor trading state (0 ACTIVE, 1 REDUCING, 2 HALTED) and latch",
                        "short",
                        Query(expr="tradegraph_executor_trading_state", legend="state"),
                        Query(expr="tradegraph_executor_halt_latched", legend="latched"),
                        Query(
                            expr="increase(tradegraph_executor_kill_switch_trips_total[1h])",
                            legend="kill-switch trips (1h)",
                        ),
                    ),
                    series(
                        "Drawdown against the kill-switch threshold",
                        "percentunit",
                        Query(expr="tradegraph_executor_drawdown", legend="drawdown"),
                        Query(
                            expr="tradegraph_executor_kill_switch_drawdown_threshold", legend="kill switch"
                        ),
                    ),
                    series(
                        "Executor denials by rule (per min)",
                        "short",
                        Query(
                            expr="sum by (rule) (rate(tradegraph_executor_denials_total[5m]))*60",
                            legend="{{rule}}",
                        ),
                    ),
                ],
            ),
            (
                "Executions",
                [
                    series(
                        "Executor decisions / orders / fills per min",
                        "short",
                        Query(
                            expr="sum by (symbol) (rate(tradegraph_executor_decisions_total[5m]))*60",
                            legend="decisions {{symbol}}",
                        ),
                        Query(
                            expr="sum by (symbol, reason) (rate(tradegraph_executor_orders_total[5m]))*60",
                            legend="orders {{symbol}} {{reason}}",
                        ),
                        Query(
                            expr="sum by (symbol, model_version) (rate(tradegraph_executor_fills_total[5m]))*60",
                            legend="fills {{symbol}} v{{model_version}}",
                        ),
                    ),
                    series(
                        "Executor tick-to-decision latency p50 / p99",
                        "s",
                        Query(
                            expr="histogram_quantile(0.5, sum by (le) "
                            "(rate(tradegraph_executor_decision_latency_seconds_bucket[5m])))",
                            legend="p50",
                        ),
                        Query(
                            expr="histogram_quantile(0.99, sum by (le) "
                            "(rate(tradegraph_executor_decision_latency_seconds_bucket[5m])))",
                            legend="p99",
                        ),
                    ),
                    series(
                        "Executor checkpoint duration p99",
                        "s",
                        Query(
                            expr="histogram_quantile(0.99, sum by (le) "
                            "(rate(tradegraph_executor_checkpoint_seconds_bucket[5m])))",
                            legend="p99",
                        ),
                    ),
                    series(
                        "Executor ticks / s",
                        "ops",
                        Query(expr="rate(tradegraph_executor_ticks_total[1m])", legend="{{instance}}"),
                    ),
                    series(
                        "Executor failures per second (broker, registry or store unreachable; it keeps running)",
                        "short",
                        Query(
                            expr="sum by (operation) (rate(tradegraph_executor_bus_failures_total[1m]))",
                            legend="bus {{operation}}",
                        ),
                        Query(
                            expr="sum(rate(tradegraph_executor_registry_failures_total[1m]))",
                            legend="registry (champion reads)",
                        ),
                        Query(
                            expr="sum(rate(tradegraph_executor_store_failures_total[1m]))",
                            legend="store (checkpoints)",
                        ),
                    ),
                ],
            ),
        ],
    )
