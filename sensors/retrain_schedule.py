"""The retraining schedule: every symbol's model retrained on a cron (default every 6 hours)."""

from collections.abc import Sequence

import dagster as dg

from trading_assets.jobs import retrain_job


def build_retrain_schedule(cron: str, symbols: Sequence[str]) -> dg.ScheduleDefinition:
    """A schedule that requests one ``retrain_models`` run per symbol at each tick of ``cron`` (UTC)."""

    @dg.schedule(
        name="retrain_schedule",
        job=retrain_job,
        cron_schedule=cron,
        execution_timezone="UTC",
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description=f"Retrain every symbol's model ({cron} UTC): train on the trailing window, backtest "
        "walk-forward, and promote only a version that wins the champion gate.",
    )
    def retrain_schedule(context: dg.ScheduleEvaluationContext) -> list[dg.RunRequest]:
        tick = context.scheduled_execution_time.isoformat()
        return [
            dg.RunRequest(
                run_key=f"retrain-{symbol}-{tick}",
                partition_key=symbol,
                tags={"tradegraph/retrain": "schedule"},
            )
            for symbol in symbols
        ]

    return retrain_schedule
