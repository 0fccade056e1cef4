"""``tradegraph up``: the services, the Dagster UI and the MLflow UI together, stopped by Ctrl-C or SIGTERM."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from trading_assets.core.settings import Settings


def _cmd_up(args: argparse.Namespace, settings: Settings) -> int:
    from contextlib import closing

    from resources.model_registry.factory import ModelRegistryConfig, open_model_registry
    from trading_assets.demo_graph import dagster_home, ensure_instance_yaml
    from trading_assets.services.runtime import stop_on_signals
    from trading_assets.services.up import Child, UpConfig, up

    if settings.bus != "embedded" or settings.store != "embedded":
        print(
            "tradegraph up runs the embedded defaults on this machine; for Kafka and ClickHouse run the "
            "services with `tradegraph stream`, `load` and `execute`, or use docker/ (docs/DEPLOYMENT.md)"
        )
        return 2
    config = UpConfig(
        dagster_port=args.dagster_port,
        mlflow_port=args.mlflow_port,
        metrics_port=args.metrics_port,
        # argparse keeps the `--` that separates them.
        run_args=tuple(args.run_args[1:] if args.run_args[:1] == ["--"] else args.run_args),
    )
    instance = dagster_home(settings.home)
    ensure_instance_yaml(instance)
    # Create the registry's schema once, under its lock, before the executor and `mlflow ui` open the
    # file at the same moment (two first opens of one sqlite file race in MLflow's migrations).
    with closing(open_model_registry(ModelRegistryConfig.from_settings(settings))) as registry:
        registry.get_alias("tradegraph-up", "champion")

    def ready(children: Sequence[Child]) -> None:
        print(f"tradegraph is up (home {settings.home}):", flush=True)
        for child in children:
            print(f"  {child.name:<9} {child.url or 'running':<24} log {child.log_path}", flush=True)
        if config.metrics_port is not None:
            print(f"  metrics   http://127.0.0.1:{config.metrics_port}/metrics (loader: +1)", flush=True)
        print("Ctrl-C or SIGTERM stops everything.", flush=True)

    code = up(settings, config, stop_on_signals(), dagster_home=instance, on_ready=ready)
    print("tradegraph stopped: every process of the session ended", flush=True)
    return code


def add_up_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``tradegraph up`` to the CLI's subcommands."""
    parser = sub.add_parser(
        "up",
        help="a live session: services, Dagster UI and MLflow UI on 127.0.0.1 (Ctrl-C stops all)",
        description="Starts `tradegraph run` (simulated exchange, streamer, loader, paper executor), "
        "`tradegraph sources run` when TRADEGRAPH_SOURCES_FILE is set, `dagster dev` and the MLflow UI, each "
        "in its own process with its log under <home>/logs, prints the URLs, and stops them all cleanly on "
        "Ctrl-C or SIGTERM (also when started in the background).",
    )
    parser.add_argument("--dagster-port", type=int, default=3000, help="port of the Dagster UI (3000)")
    parser.add_argument("--mlflow-port", type=int, default=5000, help="port of the MLflow UI (5000)")
    parser.add_argument(
        "--metrics-port", type=int, default=9108, help="services' metrics port (9108; loader +1)"
    )
    parser.add_argument(
        "run_args", nargs=argparse.REMAINDER, help="after --: options of `tradegraph run`, e.g. -- --rate 500"
    )
    parser.set_defaults(handler=_cmd_up)
