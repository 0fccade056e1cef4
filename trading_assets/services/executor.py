"""``tradegraph execute``: the paper-trading executor as a long-running service.

It reads ticks from the bus in its own consumer group, turns each symbol's champion's signals into paper
orders through the risk engine and the paper broker (:class:`~trading_assets.execution.core.ExecutionCore`),
keeps the portfolio, and records everything in the ledger. Crash safety, in this order:

1. after each poll, the step's orders, fills, positions, equity marks and risk events go to the ledger
   at the next checkpoint (idempotent: ids come from the decisions);
2. the checkpoint stores the core's market state, the portfolio and the risk engine (checkpoint.py);
3. only then are the bus offsets committed.

While the broker is away (a restart, a network cut) polls and commits fail with :class:`BusError`: the
executor counts and logs them and keeps running, as the loader does. A failed poll waits ``bus_retry_s``
before the next; a failed commit leaves the ledger and checkpoint stored, and the next checkpoint's commit
carries its offsets too (should the executor die before that, the ticks since the last commit replay on
top of the checkpoint, as after a kill between checkpoint and commit). The fault test
tests/faults/test_executor_broker_outage.py kills and restarts the broker under a running executor.
Likewise, while the model registry is away the executor trades on with the champions it has loaded and
tries again at the next model poll (tests/faults/test_executor_registry_outage.py); while the table store
is, a checkpoint stores and commits nothing and the next one writes it all
(tests/faults/test_executor_store_outage.py).

A ``kill -9`` anywhere replays, after the restart, the ticks polled since the last commit on top of the
last checkpoint; the same decisions get the same ids, and nothing is ordered or filled twice. The fault
test (tests/faults/test_executor_kill.py) dies on purpose in both windows between a stored fill and the
offset commit through failpoints (failpoints.py): ``executor.after_ledger`` (fills stored, checkpoint
not) and ``executor.before_commit`` (checkpoint stored, offsets not committed).
"""

from __future__ import annotations

import logging
import pickle
import time
from collections.abc import Callable

from resources.bus.base import BusError, TickConsumer
from resources.model_registry.base import ModelRegistry, ModelRegistryError
from resources.table_store.base import TableStore, TableStoreUnavailableError
from trading_assets.execution.checkpoint import load_checkpoint, save_checkpoint
from trading_assets.execution.core import ExecutionCore
from trading_assets.execution.decisions import Step
from trading_assets.execution.ledger import Ledger, reset_event
from trading_assets.execution.ledger_tables import (
    EquityRow,
    FillRow,
    OrderRow,
    PositionRow,
    RiskEventRow,
    RiskStateRow,
    event_id,
)
from trading_assets.models.provenance import code_version
from trading_assets.services import failpoints
from trading_assets.services.executor_models import refresh_champions
from trading_assets.services.executor_state import ExecutorConfig, ExecutorStats, Unsaved
from trading_assets.services.metrics import ExecutorMetrics
from trading_assets.trading.portfolio import EquitySnapshot, Portfolio
from trading_assets.trading.risk import RiskEngine

__all__ = ["Executor", "ExecutorConfig", "ExecutorStats"]

log = logging.getLogger(__name__)


class Executor:
    """The paper executor over a bus consumer, a model registry and a table store; see the module doc."""

    def __init__(
        self,
        consumer: TickConsumer,
        registry: ModelRegistry,
        store: TableStore,
        config: ExecutorConfig,
        *,
        wall_clock_us: Callable[[], int] = lambda: time.time_ns() // 1_000,
        metrics: ExecutorMetrics | None = None,
    ) -> None:
        self.consumer = consumer
        self.registry = registry
        self.store = store
        self.config = config
        self.ledger = Ledger(store)
        self.stats = ExecutorStats()
        self._clock = wall_clock_us
        self.metrics = metrics
        """Prometheus metrics it updates (None: none)."""
        self.portfolio = Portfolio(config.initial_cash)
        self.risk = RiskEngine(config.limits)
        self.core = ExecutionCore(
            lateness_us=config.lateness_ms * 1_000,
            risk=self.risk,
            portfolio=self.portfolio,
            on_bar=self._mark,
            clock=time.perf_counter,
        )
        self._unsaved = Unsaved()
        self._saved_risk: tuple[str, bool, float, int, float] | None = None
        self._last_checkpoint = 0.0
        self._last_model_poll = -1e18

    def start(self) -> None:
        """Resume from the last checkpoint (if any) and load the champions."""
        saved = load_checkpoint(self.store, self.config.instance)
        if saved is not None:
            time_us, version, payload = saved
            if version != code_version():
                log.warning(
                    "checkpoint of %s written by %s, resuming with %s",
                    self.config.instance,
                    version,
                    code_version(),
                )
            # Our own checkpoint, read back only by the instance that wrote it.
            state = pickle.loads(payload)
            self.core.resume(state["core"])
            self.portfolio = Portfolio.restore(state["portfolio"])
            self.risk = RiskEngine.restore(state["risk"], self.config.limits)
            self.core.risk = self.risk
            self.core.portfolio = self.portfolio
            log.info("resumed %s from the checkpoint of %d", self.config.instance, time_us)
        # Loads the done set too: an order stored as filled is never placed again.
        self.ledger.load(self._clock())
        self._apply_resets()
        if self.metrics is not None:
            self.metrics.start(self.config.limits, self.config.symbols)
        self.refresh_models(force=True)
        if self.metrics is not None:
            self.metrics.observe_state(self.portfolio, self.risk, self.config.symbols)

    def _apply_resets(self) -> None:
        """Apply every reset a person recorded (`tradegraph risk reset`) that this engine has not applied yet.

        Resets are read from the reset requests, which only a person's reset writes (each applied one is
        then recorded as a ``reset`` risk event); the stored risk state rows are not evidence of one (the executor's own earlier unlatched row is not a
        reset). An applied reset is kept in the engine's state (checkpointed), so it is applied once: it
        never releases a latch the kill switch trips after it.
        """
        applied = {reset.time_us for reset in self.risk.save().resets}
        for reset in self.ledger.resets(self._clock()):
            if reset.time_us not in applied:
                before = f"{self.risk.state} latched={self.risk.latched}"
                self.risk.reset(reset.who, reset.why, reset.time_us)
                applied.add(reset.time_us)
                # The executor writes the risk events itself (the request table is the person's).
                self._unsaved.events.append(
                    reset_event(
                        reset.who,
                        reset.why,
                        reset.time_us,
                        f"{before} -> {self.risk.state} latched={self.risk.latched}; asked: {reset.detail}",
                    )
                )

    def _save_risk_state(self) -> None:
        """Store the risk state when it changed, so `tradegraph risk status` and the UI see it, and apply
        a reset a person stored meanwhile first (the executor need not restart for it)."""
        self._apply_resets()
        risk = self.risk.save()
        summary = (
            str(risk.state),
            risk.latched,
            risk.high_water_mark or 0.0,
            risk.consecutive_breaches,
            risk.day_start_equity or 0.0,
        )
        if summary == self._saved_risk:
            return
        self.ledger.save_risk_state(
            RiskStateRow(
                time_us=self._clock(),
                state=summary[0],
                latched=summary[1],
                high_water_mark=summary[2],
                breaches=summary[3],
                day_start_equity=summary[4],
            )
        )
        self._saved_risk = summary

    def refresh_models(self, *, force: bool = False) -> None:
        """Poll the registry for new champions (every ``model_poll_s``, or now with ``force``)."""
        now = time.monotonic()
        if not force and now - self._last_model_poll < self.config.model_poll_s:
            return
        self._last_model_poll = now
        try:
            refresh_champions(self.registry, self.core, self.config.symbols, now_us=self._clock())
        except ModelRegistryError as exc:
            # The registry is away (e.g. MLflow restarting): trade on with the models loaded; the next
            # model poll tries again.
            self.stats.registry_failures += 1
            if self.metrics is not None:
                self.metrics.registry_failures.inc()
            log.warning("reading the champions failed (%s); trading on with the models loaded", exc)
            return
        if self.metrics is not None:
            self.metrics.observe_models(self.core, self.config.symbols)

    def run_once(self) -> Step | None:
        """One poll: process the ticks, keep what happened for the ledger, checkpoint when due."""
        self.refresh_models()
        try:
            delivery = self.consumer.poll(
                timeout_s=self.config.poll_timeout_s, max_records=self.config.max_records
            )
        except BusError as exc:
            # The broker is away: nothing was polled, so there is nothing to checkpoint either.
            self._bus_failed("poll", exc)
            time.sleep(self.config.bus_retry_s)
            return None
        step = None
        if delivery.ticks.num_rows:
            received = time.perf_counter()
            step = self.core.on_ticks(delivery.ticks)
            self.stats.ticks += delivery.ticks.num_rows
            self._keep(step)
            if self.metrics is not None:
                # Tick-to-decision, per bar: from the poll that brought the bar's closing tick returning to
                # that bar's decision (the poll's bars closing, the fills and decisions before it included).
                self.metrics.ticks.inc(delivery.ticks.num_rows)
                self.metrics.observe_decisions(step.decisions, [at - received for at in step.decided_s])
                self.metrics.observe_fills(step.fills)
                self.metrics.observe_state(self.portfolio, self.risk, self.config.symbols)
        if time.monotonic() - self._last_checkpoint >= self.config.checkpoint_s:
            self.checkpoint()
        return step

    def _keep(self, step: Step) -> None:
        self.stats.late_ticks += step.late_ticks
        for decision in step.decisions:
            self.stats.decisions += 1
            if decision.order is None:
                continue
            if decision.action == "denied":
                self.stats.denials += 1
                self._unsaved.events.append(
                    RiskEventRow(
                        event_id=event_id("denial", decision.order.order_id),
                        time_us=decision.decision_us,
                        kind="denial",
                        rule=decision.rule or "",
                        order_id=decision.order.order_id,
                        symbol=decision.symbol,
                        state=str(self.risk.state),
                        detail=f"signal {decision.signal} from v{decision.model_version}",
                        who="",
                        why="",
                    )
                )
            else:
                self.stats.orders += 1
                self._unsaved.orders.append(OrderRow.of(decision.order))
        for fill in step.fills:
            self.stats.fills += 1
            self._unsaved.fills.append(FillRow.of(fill))
            position = self.portfolio.positions.get(fill.symbol)
            mine = [a for (symbol, _), a in self.portfolio.attribution().items() if symbol == fill.symbol]
            self._unsaved.positions.append(
                PositionRow(
                    time_us=fill.time_us,
                    symbol=fill.symbol,
                    quantity=0.0 if position is None else position.quantity,
                    average_cost=0.0 if position is None else position.avg_cost,
                    realized_pnl=sum(a.realized_pnl for a in mine),
                    fees=sum(a.fees for a in mine),
                    fill_id=fill.fill_id,
                )
            )

    def _mark(self, symbol: str, close: float, time_us: int) -> None:
        """At each bar's close: mark the portfolio, record the equity, run the kill switch."""
        snapshot = self.portfolio.mark({symbol: close}, time_us)
        self._unsaved.equity.append(_equity_row(snapshot))
        intents = self.risk.on_mark(snapshot)
        if not intents:
            return
        orders = []
        for intent in intents:
            loaded = self.core.model(intent.symbol)
            name, version, run = (loaded.name, loaded.version, loaded.run_id) if loaded else ("", "0", "")
            orders.append(intent.order(model_name=name, model_version=version, run_id=run))
        models = {order.symbol: self.core.model(order.symbol) for order in orders}
        self.core.flatten(
            orders,
            {s: (m.spec.capital if m else self.config.initial_cash) for s, m in models.items()},
            {s: m.spec.costs for s, m in models.items() if m is not None},
        )
        self._unsaved.orders.extend(OrderRow.of(order) for order in orders)
        if self.metrics is not None:
            self.metrics.kill_switch_trips.inc()
            self.metrics.observe_orders(orders)
        self._unsaved.events.append(
            RiskEventRow(
                event_id=event_id("kill_switch", snapshot.time_us),
                time_us=snapshot.time_us,
                kind="kill_switch",
                rule="kill_switch",
                order_id="",
                symbol="",
                state=str(self.risk.state),
                detail=f"drawdown {snapshot.drawdown:.2%}: flattening {len(orders)} positions, latched HALTED",
                who="",
                why="",
            )
        )
        log.error(
            "kill switch tripped at drawdown %.2f%%: HALTED until `tradegraph risk reset`",
            snapshot.drawdown * 100,
        )

    def checkpoint(self) -> None:
        """Write what happened to the ledger, store the checkpoint, then commit the bus offsets.

        While the table store is unavailable nothing is committed: what happened stays in memory for the
        next checkpoint (``checkpoint_s`` later), whose ledger writes skip what did land (ids).
        """
        started = time.perf_counter()
        unsaved = self._unsaved
        try:
            # A reset asked for meanwhile is applied first, so its risk event is written with this checkpoint.
            self._apply_resets()
            self._unsaved = Unsaved()
            stored_fills = self._save(unsaved)
        except TableStoreUnavailableError as exc:
            if self._unsaved is not unsaved:  # keep what was added since (a reset's event), after the rest
                unsaved.extend(self._unsaved)
                self._unsaved = unsaved
            self._last_checkpoint = time.monotonic()
            self.stats.store_failures += 1
            if self.metrics is not None:
                self.metrics.store_failures.inc()
            log.warning("checkpoint failed (%s); nothing committed, the next checkpoint tries again", exc)
            return
        if stored_fills:
            failpoints.hit("executor.before_commit")
        try:
            self.consumer.commit()
        except BusError as exc:
            # Harmless (module doc): the ledger and the checkpoint are stored; a later commit covers this one.
            self._bus_failed("commit", exc)
        self.stats.checkpoints += 1
        self._last_checkpoint = time.monotonic()
        if self.metrics is not None:
            self.metrics.checkpoint_seconds.observe(time.perf_counter() - started)

    def _save(self, unsaved: Unsaved) -> int:
        """Write ``unsaved`` to the ledger, the risk state and the checkpoint; the fills newly stored."""
        self.ledger.record_orders(unsaved.orders)
        stored_fills = self.ledger.record_fills(unsaved.fills)
        self.ledger.record_positions(unsaved.positions)
        self.ledger.record_equity(unsaved.equity)
        self.ledger.record_risk_events(unsaved.events)
        self._save_risk_state()
        if stored_fills:
            failpoints.hit("executor.after_ledger")
        payload = pickle.dumps(
            {"core": self.core.snapshot(), "portfolio": self.portfolio.save(), "risk": self.risk.save()},
            protocol=pickle.HIGHEST_PROTOCOL,
        )
        save_checkpoint(
            self.store,
            self.config.instance,
            time_us=self._clock(),
            code_version=code_version(),
            payload=payload,
        )
        return stored_fills

    def _bus_failed(self, operation: str, exc: BusError) -> None:
        self.stats.bus_failures += 1
        if self.metrics is not None:
            self.metrics.bus_failures.labels(operation=operation).inc()
        log.warning("bus %s failed (%s); the executor keeps running and tries again", operation, exc)


def _equity_row(snapshot: EquitySnapshot) -> EquityRow:
    return EquityRow(
        time_us=snapshot.time_us,
        cash=snapshot.cash,
        equity=snapshot.equity,
        realized_pnl=snapshot.realized_pnl,
        unrealized_pnl=snapshot.unrealized_pnl,
        fees=snapshot.fees,
        gross_exposure=snapshot.gross_exposure,
        net_exposure=snapshot.net_exposure,
        high_water_mark=snapshot.high_water_mark,
        drawdown=snapshot.drawdown,
    )
