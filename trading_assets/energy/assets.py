"""The energy example's assets, in group ``energy``: ``energy_features`` -> ``energy_model`` ->
``energy_backtest``, beside the crypto models in the same graph.

Built by :func:`build_energy_assets` from an :class:`EnergyConfig` and the configured sources' specs;
each asset depends on the ``source_<name>`` assets of its inputs (lineage into the sources group).
Bodies stay thin: read, call the pure code of this package, log to the model registry, return metadata.

No ``from __future__ import annotations``: Dagster reads the annotations of decorated functions.
"""

from collections.abc import Mapping, Sequence

import dagster as dg

from resources.model_registry.resource import ModelRegistryResource
from resources.sources.base import SourceSpec
from resources.table_store.resource import TableStoreResource
from trading_assets.core.time import day_bounds_us
from trading_assets.energy.config import EnergyConfig
from trading_assets.energy.day import build_day, lookahead_rows
from trading_assets.energy.features import features_table
from trading_assets.energy.inputs import HOURS
from trading_assets.energy.model_flow import backtest_model, train_and_register
from trading_assets.energy.run_config import EnergyBacktestRunConfig, EnergyModelRef, EnergyTrainingRunConfig
from trading_assets.market.partitions import DAILY, check_spec, partition_day
from trading_assets.sources.assets import source_asset_key

GROUP = "energy"
"""Asset group of the energy example."""
NO_LOOKAHEAD_CHECK = "no_lookahead"
"""The blocking check of ``energy_features``: no stored hour used a version published after its decision."""


def energy_specs(config: EnergyConfig, specs: Sequence[SourceSpec]) -> dict[str, SourceSpec]:
    """The specs of ``config``'s four sources by name; ValueError naming the missing ones."""
    known = {spec.name: spec for spec in specs}
    missing = [name for name in config.sources if name not in known]
    if missing:
        raise ValueError(
            f"energy example {config.area}: sources {missing} are not configured (configured: {sorted(known)}); "
            "add them to the sources file"
        )
    return {name: known[name] for name in config.sources}


def _input_deps(config: EnergyConfig, specs: Mapping[str, SourceSpec]) -> list[dg.AssetDep]:
    """The day's partition of each ENTSO-E source; the day and the day before of the trades (trading for a
    delivery day opens the afternoon before)."""
    deps = [
        dg.AssetDep(source_asset_key(specs[name]))
        for name in (config.da_prices_source, config.load_forecast_source, config.generation_forecast_source)
    ]
    trades = source_asset_key(specs[config.intraday_trades_source])
    deps.append(dg.AssetDep(trades, partition_mapping=dg.TimeWindowPartitionMapping(start_offset=-1)))
    return deps


def build_energy_assets(
    config: EnergyConfig, specs: Sequence[SourceSpec], *, partitions_def: dg.PartitionsDefinition = DAILY
) -> list[dg.AssetsDefinition]:
    """``energy_features`` (daily), ``energy_model`` and ``energy_backtest`` for ``config``'s area.

    ``specs`` are the configured sources (the four of ``config`` among them). The assets need the
    ``table_store`` and ``model_registry`` resources.
    """
    inputs = energy_specs(config, specs)
    table = features_table(config.area)
    # The model assets' own ``config`` parameter is their run configuration (Dagster's name for it).
    area_config = config

    @dg.asset(
        partitions_def=partitions_def,
        group_name=GROUP,
        kinds={"parquet", "clickhouse"},
        deps=_input_deps(config, inputs),
        check_specs=[
            check_spec(
                NO_LOOKAHEAD_CHECK,
                asset="energy_features",
                partitions_def=partitions_def,
                blocking=True,
                description="Every stored hour used only forecast and price versions published at or "
                "before its decision time (the day-ahead gate closure).",
            )
        ],
        metadata={"table": table.name, "area": config.area, "sources": ", ".join(config.sources)},
    )
    def energy_features(
        context: dg.AssetExecutionContext, table_store: TableStoreResource
    ) -> dg.MaterializeResult:
        """One delivery day's 24 hours: day-ahead price, the latest load and wind/solar forecasts published
        by the day-ahead gate closure (D-1 12:00 UTC; never a later version), residual load, hour and
        weekday, with the label (intraday VWAP of the hour's hourly trades minus the day-ahead price)."""
        day = partition_day(context.partition_key)
        with table_store.open() as store:
            built = build_day(store, area_config, inputs, day)
            if all(count == HOURS for count in built.missing.values()):
                raise dg.Failure(
                    f"{day}: none of the sources {', '.join(area_config.sources)} has a value for this "
                    "delivery day (as of its decision time): the source loader has not written it yet; "
                    "nothing was stored"
                )
            store.write_partition(table, day, built.rows)
            # The check reads the day back: it vouches for what is stored, not for what was meant.
            start_us, end_us = day_bounds_us(day)
            stored = store.read(table, start_us=start_us, end_us=end_us)
        for name, count in built.missing.items():
            if count:
                context.log.warning(f"{day}: {count} of {HOURS} hours have no {name}")
        late = lookahead_rows(stored)
        check = dg.AssetCheckResult(
            check_name=NO_LOOKAHEAD_CHECK,
            passed=late == 0 and stored.num_rows == built.rows.num_rows,
            description=f"{late} of {stored.num_rows} stored hours used a version published after the decision",
            metadata={"late_rows": late, "stored_rows": stored.num_rows},
        )
        return dg.MaterializeResult(metadata=built.metadata(), check_results=[check])

    @dg.asset(
        group_name=GROUP,
        kinds={"xgboost", "mlflow"},
        # Every daily partition of the features (the window is chosen at run time).
        deps=[dg.AssetDep(energy_features, partition_mapping=dg.AllPartitionMapping())],
    )
    def energy_model(
        context: dg.AssetExecutionContext,
        config: EnergyTrainingRunConfig,
        table_store: TableStoreResource,
        model_registry: ModelRegistryResource,
    ) -> dg.Output[EnergyModelRef]:
        """The area's spread model: XGBoost regression of the intraday-minus-day-ahead spread per delivery
        hour on a trailing window of energy features, logged to MLflow (parameters, metrics, feature
        importance, tags) and registered as a new version of ``tradegraph-energy-<area>``."""
        with table_store.open() as store, model_registry.open() as registry:
            ref, outcome = train_and_register(store, registry, area_config, config)
        return dg.Output(ref, metadata=outcome.metadata)

    @dg.asset(
        group_name=GROUP,
        kinds={"xgboost", "mlflow"},
        # It reads the window's features again to refit day by day.
        deps=[dg.AssetDep(energy_features, partition_mapping=dg.AllPartitionMapping())],
    )
    def energy_backtest(
        context: dg.AssetExecutionContext,
        config: EnergyBacktestRunConfig,
        energy_model: EnergyModelRef,
        table_store: TableStoreResource,
        model_registry: ModelRegistryResource,
    ) -> dg.MaterializeResult:
        """Walk-forward backtest of the new version's recipe: each of the window's last days refitted on the
        hours whose spread was known before its decision (purged), traded 1 MW on the sign of the predicted
        spread net of fees, beside the flat and always-long baselines; equity curve and metrics logged
        to the version's MLflow run."""
        with table_store.open() as store, model_registry.open() as registry:
            outcome = backtest_model(store, registry, area_config, energy_model, config)
        return dg.MaterializeResult(metadata=outcome.metadata)

    return [energy_features, energy_model, energy_backtest]
