"""The drift sensor: retrain a symbol whose latest day of features, or its champion's predictions on it,
drifted from the champion's training data (PSI above the threshold), and only that symbol.

Each (symbol, day, champion version) is evaluated once (the cursor remembers the last day per symbol),
and requests are deduplicated by run key, so a drifted day asks for one retrain.
"""

import json
from collections.abc import Sequence

import dagster as dg

from resources.model_registry.resource import ModelRegistryResource
from resources.table_store.resource import TableStoreResource
from trading_assets.jobs import retrain_job
from trading_assets.models.champion_flow import CHAMPION
from trading_assets.models.features import FEATURES_TABLE
from trading_assets.models.monitoring import drift_report, finite_max
from trading_assets.models.refs import model_name


def build_drift_sensor(symbols: Sequence[str], *, threshold: float) -> dg.SensorDefinition:
    """The drift sensor over ``symbols`` with a PSI ``threshold``."""

    @dg.sensor(
        name="model_drift_sensor",
        job=retrain_job,
        minimum_interval_seconds=600,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=f"Retrains a symbol whose latest features or champion predictions drifted from the "
        f"champion's training data (PSI > {threshold}).",
    )
    def model_drift_sensor(
        context: dg.SensorEvaluationContext,
        table_store: TableStoreResource,
        model_registry: ModelRegistryResource,
    ) -> dg.SensorResult | dg.SkipReason:
        seen: dict[str, str] = json.loads(context.cursor) if context.cursor else {}
        requests: list[dg.RunRequest] = []
        notes: list[str] = []
        with table_store.open() as store, model_registry.open() as registry:
            days = [partition.day for partition in store.days(FEATURES_TABLE)]
            if not days:
                return dg.SkipReason("no features are stored yet")
            latest = max(days)
            for symbol in symbols:
                champion = registry.get_alias(model_name(symbol), CHAMPION)
                key = f"{latest.isoformat()}/v{champion.version}" if champion is not None else None
                if champion is None or seen.get(symbol) == key:
                    continue
                report = drift_report(
                    store, registry, champion, symbol=symbol, day=latest, threshold=threshold
                )
                seen[symbol] = key or ""
                if report is None:
                    continue
                worst = max(finite_max(report.feature_psi), report.prediction_psi)
                notes.append(f"{symbol} v{champion.version} on {latest}: max PSI {worst:.3f}")
                if report.drifted:
                    requests.append(
                        dg.RunRequest(
                            run_key=f"drift-{symbol}-{latest.isoformat()}-v{champion.version}",
                            partition_key=symbol,
                            tags={
                                "tradegraph/retrain": "drift",
                                "tradegraph/drifted": ",".join(report.drifted)[:200],
                            },
                        )
                    )
        context.log.info("drift: %s", "; ".join(notes) or "nothing new to evaluate")
        return dg.SensorResult(run_requests=requests, cursor=json.dumps(seen, sort_keys=True))

    return model_drift_sensor
