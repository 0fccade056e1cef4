"""A person's risk reset releases the executor's latch once: a later latch survives a restart.

The reset (``tradegraph risk reset``) is a risk event of kind ``reset`` in the ledger; the executor applies
it when it starts or at its next checkpoint, once. It must not apply the same row again after the latch tripped anew: the kill switch stays HALTED
across restarts until a person resets it again.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from resources.bus.embedded import EmbeddedTickBus
from resources.model_registry.base import ModelRegistry
from resources.model_registry.factory import ModelRegistryConfig, open_model_registry
from resources.table_store.embedded import EmbeddedTableStore
from trading_assets.execution.ledger import Ledger, risk_reset
from trading_assets.execution.ledger_tables import RISK_EVENTS
from trading_assets.services.executor import Executor, ExecutorConfig
from trading_assets.trading.risk import RiskEngine
from trading_assets.trading.risk_state import RiskState, TradingState

SYMBOL = "BTCUSDT"


@pytest.fixture
def registry(tmp_path: Path) -> ModelRegistry:
    """An empty registry: no champion, so nothing trades; only the risk state matters here."""
    return open_model_registry(ModelRegistryConfig(tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}"))


def _started(store: EmbeddedTableStore, registry: ModelRegistry, clock: list[int]) -> Executor:
    bus = EmbeddedTickBus()
    config = ExecutorConfig(symbols=(SYMBOL,), checkpoint_s=1e9)
    executor = Executor(
        bus.consumer(group="executor", venues=["sim"]),
        registry,
        store,
        config,
        wall_clock_us=lambda: clock[0],
    )
    executor.start()
    return executor


def _latch(executor: Executor, time_us: int) -> None:
    """Trip the kill switch's latch (as on_mark does after N breaching marks) and checkpoint it."""
    tripped = RiskState(
        state=TradingState.HALTED,
        latched=True,
        reason="kill_switch",
        halted_us=time_us,
        high_water_mark=100_000.0,
        last_equity=80_000.0,
        resets=executor.risk.save().resets,
    )
    executor.risk = RiskEngine.restore(tripped, executor.config.limits)
    executor.core.risk = executor.risk
    executor.checkpoint()


def test_a_reset_applied_once_does_not_release_a_later_latch_after_a_restart(
    tmp_path: Path, registry: ModelRegistry
) -> None:
    # Arrange: latched; a person resets it while the executor is down; the restart releases it
    store = EmbeddedTableStore(tmp_path / "tables")
    clock = [1_000_000_000_000_000]
    first = _started(store, registry, clock)
    _latch(first, clock[0])
    clock[0] += 1_000_000
    risk_reset(Ledger(store), "ops", "drawdown understood", clock[0])
    clock[0] += 1_000_000
    second = _started(store, registry, clock)
    assert not second.risk.latched and second.risk.state is TradingState.ACTIVE
    # Act: the kill switch trips again, the executor checkpoints it and restarts (no new reset)
    clock[0] += 1_000_000
    _latch(second, clock[0])
    clock[0] += 1_000_000
    third = _started(store, registry, clock)
    # Assert
    assert third.risk.latched and third.risk.state is TradingState.HALTED
    assert [(r.who, r.why) for r in third.risk.save().resets] == [("ops", "drawdown understood")]


def test_a_running_executor_stores_its_latch_and_applies_a_reset_at_its_next_checkpoint(
    tmp_path: Path, registry: ModelRegistry
) -> None:
    # Arrange: a running executor whose kill switch latched (stored at its checkpoint)
    store = EmbeddedTableStore(tmp_path / "tables")
    clock = [1_000_000_000_000_000]
    executor = _started(store, registry, clock)
    _latch(executor, clock[0])
    latched = Ledger(store).latest_risk_state(clock[0])
    assert latched is not None and latched.latched and latched.state == "HALTED"
    # Act: a person resets it while it runs; the executor checkpoints again
    clock[0] += 1_000_000
    risk_reset(Ledger(store), "ops", "limits checked", clock[0])
    clock[0] += 1_000_000
    executor.checkpoint()
    # Assert: released without a restart, and the stored state says so
    assert not executor.risk.latched and executor.risk.state is TradingState.ACTIVE
    latest = Ledger(store).latest_risk_state(clock[0])
    assert latest is not None and not latest.latched and latest.state == "ACTIVE"
    # The executor recorded the reset it applied, with who and why, in its own risk events.
    events = RISK_EVENTS.from_table(store.read(RISK_EVENTS.spec, start_us=0, end_us=2**62))
    assert [(e.kind, e.who, e.why) for e in events if e.kind == "reset"] == [
        ("reset", "ops", "limits checked")
    ]


def test_a_kill_switch_tripped_after_an_unlatched_checkpoint_stays_latched_at_the_next_checkpoint(
    tmp_path: Path, registry: ModelRegistry
) -> None:
    # Arrange: the executor stored an ACTIVE, unlatched state at a checkpoint; then its kill switch trips
    store = EmbeddedTableStore(tmp_path / "tables")
    clock = [1_000_000_000_000_000]
    executor = _started(store, registry, clock)
    executor.checkpoint()
    assert not executor.risk.latched
    clock[0] += 1_000_000

    # Act: the latch is checkpointed, and the executor checkpoints again later; nobody reset anything
    _latch(executor, clock[0])
    clock[0] += 1_000_000
    executor.checkpoint()

    # Assert: its own earlier unlatched row is not a person's reset: still HALTED, no reset recorded
    assert executor.risk.latched and executor.risk.state is TradingState.HALTED
    assert executor.risk.save().resets == ()
