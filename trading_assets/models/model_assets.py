"""The model assets, one partition per symbol: ``trained_models`` -> ``backtest`` -> ``champion_model``.

Built by :func:`build_model_assets` for the symbols of the settings when the code location loads (a
partitions definition is part of the definitions). Bodies stay thin: read the window, call the pure code
beside them (dataset, training, evaluation, champion), log to the model registry, return metadata.

No ``from __future__ import annotations``: Dagster reads the annotations of decorated functions.
"""

from collections.abc import Sequence
from dataclasses import replace

import dagster as dg

from resources.model_registry.resource import ModelRegistryResource
from resources.table_store.resource import TableStoreResource
from trading_assets.core.time import parse_day
from trading_assets.market.partitions import check_spec
from trading_assets.models import champion_flow
from trading_assets.models.backtest_flow import backtest_symbol
from trading_assets.models.dataset import build_dataset, data_digest, read_window
from trading_assets.models.evaluation import training_split
from trading_assets.models.features import FEATURES_TABLE, WARMUP_BARS, feature_code_digest
from trading_assets.models.features_asset import features
from trading_assets.models.plots import importance_png
from trading_assets.models.provenance import code_version
from trading_assets.models.refs import BacktestReport, TrainedModelRef, model_name
from trading_assets.models.report import float_metadata, png_md, time_text
from trading_assets.models.run_config import GateRunConfig, TrainingRunConfig
from trading_assets.models.spec import SPEC_TAG
from trading_assets.models.training import fit
from trading_assets.models.window import choose_window

SANITY_CHECK = "sanity_gates"


def symbol_partitions(symbols: Sequence[str]) -> dg.StaticPartitionsDefinition:
    """One partition per traded symbol."""
    return dg.StaticPartitionsDefinition(list(symbols))


def build_model_assets(symbols: Sequence[str]) -> list[dg.AssetsDefinition]:
    """``trained_models``, ``backtest`` and ``champion_model`` partitioned by ``symbols``."""
    partitions = symbol_partitions(symbols)

    @dg.asset(
        partitions_def=partitions,
        group_name="models",
        kinds={"xgboost", "mlflow"},
        # Every daily partition of features (the window is chosen at run time): the default identity
        # mapping would point a symbol partition at a daily partition of the same key, which never exists.
        deps=[dg.AssetDep(features, partition_mapping=dg.AllPartitionMapping())],
    )
    def trained_models(
        context: dg.AssetExecutionContext,
        config: TrainingRunConfig,
        table_store: TableStoreResource,
        model_registry: ModelRegistryResource,
    ) -> dg.Output[TrainedModelRef]:
        """A symbol's XGBoost model fitted on a trailing window of daily features (its last days held
        out for scoring), logged to MLflow with parameters, metrics, a feature-importance plot, signature,
        input example and provenance tags, and registered as a new version of ``tradegraph-<symbol>``."""
        symbol = context.partition_key
        spec = config.spec(symbol)
        with table_store.open() as store:
            window = choose_window(
                [partition.day for partition in store.days(FEATURES_TABLE)],
                train_days=config.train_days,
                holdout_days=config.holdout_days,
                end_day=None if config.end_day is None else parse_day(config.end_day),
            )
            table = read_window(store, symbol, window.first_day, window.last_day)
        if table.num_rows == 0:
            raise dg.Failure(f"no features of {symbol} in {window.first_day}..{window.last_day}")
        dataset = build_dataset(table, spec)
        split = training_split(dataset, window.holdout_first_day, spec)
        train, validation = dataset.rows(split.train), dataset.rows(split.test)
        fitted = fit(
            spec.training,
            train_x=train.features,
            train_y=train.label,
            validation_x=validation.features,
            validation_y=validation.label,
        )
        # The spec records the parameters the search chose: refits and the executor use exactly those.
        spec = replace(spec, training=replace(spec.training, params=fitted.params, search=False))
        train_end_us = int(dataset.minute_us[max(split.train[-1], split.test[-1])])
        name = model_name(symbol)
        digest = data_digest(dataset.rows(split.train))
        tags = {
            "tradegraph.symbol": symbol,
            "tradegraph.partitions": ",".join(day.isoformat() for day in window.training_days),
            "tradegraph.holdout": ",".join(
                day.isoformat() for day in window.days if day >= window.holdout_first_day
            ),
            "tradegraph.training_data_digest": digest,
            "tradegraph.feature_code_digest": feature_code_digest(),
            "tradegraph.code_version": code_version(),
            "tradegraph.train_end_us": str(train_end_us),
            "tradegraph.warmup_bars": str(WARMUP_BARS),
            SPEC_TAG: spec.to_json(),
        }
        png = importance_png(fitted.importance, title=f"{name}: feature importance (gain)")
        params = {
            **fitted.params.as_dict(),
            "kind": spec.training.kind,
            "horizon_bars": spec.horizon_bars,
            "search": config.search,
            "seed": spec.training.seed,
            "fee_bps": spec.costs.fee_bps,
            "half_spread_bps": spec.costs.half_spread_bps,
            "slippage_bps": spec.costs.slippage_bps,
            "latency_us": spec.costs.latency_us,
        }
        with model_registry.open() as registry:
            version = registry.register(
                name=name,
                model=fitted.model,
                input_example=train.features.head(5),
                params=params,
                metrics=fitted.metrics,
                tags=tags,
                artifacts={"feature_importance.png": png},
            )
            ui = registry.ui_hint
        ref = TrainedModelRef(
            symbol=symbol,
            name=name,
            version=version.version,
            run_id=version.run_id,
            spec_json=spec.to_json(),
            first_day=window.first_day,
            holdout_first_day=window.holdout_first_day,
            last_day=window.last_day,
            train_end_us=train_end_us,
        )
        return dg.Output(
            ref,
            metadata={
                "model": dg.MetadataValue.text(f"{name} v{version.version}"),
                "mlflow_run_id": dg.MetadataValue.text(version.run_id),
                "mlflow_ui": dg.MetadataValue.text(ui),
                "window": dg.MetadataValue.text(f"{window.first_day}..{window.last_day}"),
                "holdout_from": dg.MetadataValue.text(window.holdout_first_day.isoformat()),
                "train_rows": dg.MetadataValue.int(len(split.train)),
                "validation_rows": dg.MetadataValue.int(len(split.test)),
                "train_end": dg.MetadataValue.text(time_text(train_end_us)),
                "params": dg.MetadataValue.json(fitted.params.as_dict()),
                "training_data_digest": dg.MetadataValue.text(digest),
                "feature_code_digest": dg.MetadataValue.text(feature_code_digest()),
                **float_metadata(fitted.metrics),
                "feature_importance": png_md(png, alt="feature importance"),
            },
        )

    @dg.asset(
        partitions_def=partitions,
        group_name="models",
        kinds={"xgboost", "mlflow"},
        check_specs=[
            check_spec(
                SANITY_CHECK,
                asset="backtest",
                partitions_def=partitions,
                blocking=True,
                description="The walk-forward backtest made enough trades and stayed within the drawdown "
                "limit; a failing version is never promoted.",
            )
        ],
    )
    def backtest(
        context: dg.AssetExecutionContext,
        config: GateRunConfig,
        trained_models: TrainedModelRef,
        table_store: TableStoreResource,
        model_registry: ModelRegistryResource,
    ):  # -> Output and check result (a generator: annotated, Dagster would type the output as Nothing)
        """Walk-forward backtest of the new version's recipe: each of the last days refitted on all
        earlier days (purged, embargoed) and traded out of sample at the next bar's open through the
        shared fill and cost model; metrics and the equity curve beside the flat and buy-and-hold
        baselines, logged to the version's MLflow run; signals stored in ``backtested_signals_<symbol>``."""
        with table_store.open() as store, model_registry.open() as registry:
            outcome = backtest_symbol(store, registry, trained_models, config)
        yield dg.Output(
            BacktestReport(model=trained_models, metrics=outcome.metrics, sane=outcome.sane),
            metadata=outcome.metadata,
        )
        yield dg.AssetCheckResult(
            check_name=SANITY_CHECK,
            passed=outcome.sane,
            description="; ".join(outcome.sanity_reasons),
            metadata={"trades": outcome.metrics.get("trades", 0.0)},
        )

    @dg.asset(partitions_def=partitions, group_name="models", kinds={"mlflow"})
    def champion_model(
        context: dg.AssetExecutionContext,
        config: GateRunConfig,
        backtest: BacktestReport,
        table_store: TableStoreResource,
        model_registry: ModelRegistryResource,
    ) -> dg.MaterializeResult:
        """The symbol's champion: the MLflow alias ``champion`` moves to the new version only when, on one
        window after both models' training ended and net of costs, it beats the champion by the margin,
        beats the flat and buy-and-hold baselines and passes the sanity gates; otherwise it stays. With no
        champion the symbol does not trade. The decision and every reason are recorded here and in MLflow."""
        with table_store.open() as store, model_registry.open() as registry:
            decision = champion_flow.challenge(store, registry, backtest.model, config.gate())
        return dg.MaterializeResult(metadata=decision.metadata)

    return [trained_models, backtest, champion_model]
