"""The embedded (sqlite) registry under concurrent use by several processes, as five retrains at once."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

from resources.model_registry.embedded import EmbeddedModelRegistry
from tests.resources.model_registry.concurrent_worker import train_and_register

WORKERS = 5


@pytest.mark.slow
def test_five_processes_registering_at_once_on_a_fresh_database_all_register(tmp_path: Path) -> None:
    # Arrange: a database that does not exist yet; five processes released together
    database, artifacts = tmp_path / "home" / "mlflow.db", tmp_path / "home" / "mlflow-artifacts"
    context = multiprocessing.get_context("spawn")
    barrier = context.Manager().Barrier(WORKERS)

    # Act
    with ProcessPoolExecutor(max_workers=WORKERS, mp_context=context) as pool:
        futures = [
            pool.submit(train_and_register, str(database), str(artifacts), "tradegraph-RACE", seed, barrier)
            for seed in range(WORKERS)
        ]
        results = [future.result(timeout=300) for future in futures]

    # Assert: every process got its own version; the registry lists five, one per seed
    assert sorted(results) == [1, 2, 3, 4, 5]
    listed = EmbeddedModelRegistry(database, artifacts).versions("tradegraph-RACE")
    assert [v.version for v in listed] == [1, 2, 3, 4, 5]
    assert sorted(v.tags["seed"] for v in listed) == [str(seed) for seed in range(WORKERS)]
