"""The executor's decision path as pure code: ticks in, decisions, orders and fills out; no IO.

On each tick table, :class:`ExecutionCore`:

1. builds bars online (:class:`~trading_assets.execution.online.OnlineBars`) and hands the accepted
   trades to the :class:`~trading_assets.trading.paper_broker.PaperBroker`;
2. appends each bar that closed to its symbol's :class:`~trading_assets.execution.online.FeatureWindow`
   and computes its feature row, then the model's predictions of the rows (one call per model for all
   the bars of the call: they depend only on the bars and the model) and the signals of the model's
   :class:`~trading_assets.models.signals.SignalPolicy`;
3. for each bar that closed, per symbol in minute order: fills the pending orders whose trade lies before
   the bar's end (so the position is current) and, when the bar's signal differs from the target already
   decided, makes an order to move there, with the id :func:`~trading_assets.trading.orders.order_id`
   derives from the decision;
4. asks the risk check about each order (a permissive stub unless one is given); an allowed order goes to
   the broker, a denied one is reported with the rule that fired;
5. fills the orders whose trades are final once the watermark has moved.

Everything it did comes back as a :class:`~trading_assets.execution.decisions.Step`. The decision is
made at the bar's close in exchange time (``minute_us + 60 s``) and fills at the first trade at or after
it plus the model's latency: the rule the backtest applies to the same bars, so a replay makes the
backtest's fills (tests/.../test_parity).
The bar is known to the executor only once the watermark passes its end, ``lateness_us`` later: live,
an order decided at the close reaches the market about that much later, which a model's
``CostModel.latency_us`` should cover. The backtest fills at a bar's open and the executor at a trade, so
the two agree for a latency of a whole number of minutes (0 or 60 s: the parity test runs both); any
other latency fills the executor at the first trade after it and the backtest at the next bar's open.

Models, positions and orders are per symbol: each symbol is traded on one venue.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import pyarrow as pa

from trading_assets.execution.decisions import Decision, LoadedModel, Step
from trading_assets.execution.feature_window import BAR_NUMERIC_COLUMNS, FeatureWindow
from trading_assets.execution.online import ClosedBars, OnlineBars
from trading_assets.execution.predict import RowPredictor, row_predictor
from trading_assets.execution.risk_check import PermissiveRisk, PortfolioLike, RiskCheck
from trading_assets.models.features import WARMUP_BARS, last_bars
from trading_assets.trading.costs import CostModel
from trading_assets.trading.fills import decision_time_us, target_quantity
from trading_assets.trading.orders import SIGNAL, Fill, Order, order_id
from trading_assets.trading.paper_broker import BrokerEvents, PaperBroker, PendingOrder

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class CoreSnapshot:
    """The market state of an :class:`ExecutionCore` (see :meth:`ExecutionCore.snapshot`)."""

    bars: OnlineBars
    """Open bars and watermarks."""
    window: FeatureWindow
    """The bars kept for features."""
    broker: PaperBroker
    """Positions, pending orders and the trades they wait on."""
    targets: dict[str, int]
    """The target signal decided per symbol."""
    last_tick_us: dict[str, int]
    """Latest trade time seen per symbol."""


@dataclass(slots=True)
class _Collected:
    decisions: list[Decision] = field(default_factory=list)
    decided_s: list[float] = field(default_factory=list)
    fills: list[Fill] = field(default_factory=list)
    netted: list[Order] = field(default_factory=list)


class ExecutionCore:
    """Ticks to decisions, orders and fills for the symbols with a model; see the module doc."""

    def __init__(
        self,
        *,
        lateness_us: int,
        risk: RiskCheck | None = None,
        portfolio: PortfolioLike | None = None,
        window_rows: int = WARMUP_BARS,
        on_bar: Callable[[str, float, int], None] | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.bars = OnlineBars(lateness_us=lateness_us)
        """The online bars (their late and duplicate counters)."""
        self.window = FeatureWindow(window_rows)
        """The bars kept for features."""
        self.broker = PaperBroker()
        """The paper broker (positions and pending orders)."""
        self.risk: RiskCheck = risk if risk is not None else PermissiveRisk()
        """The check every order passes."""
        self.portfolio = portfolio
        """Accounting that receives each fill as it happens (optional)."""
        self.on_bar = on_bar
        """Called with (symbol, close, decision time) at each bar's close, after the fills before it and
        before the decision: the executor marks its portfolio and runs the kill switch there, so marks
        never depend on how ticks were batched."""
        self.clock = clock
        """Read as each decision is made (``time.perf_counter`` in the service), for its latency; None:
        not read (a replay stays a pure function of its ticks)."""
        self._models: dict[str, LoadedModel] = {}
        self._predictors: dict[str, RowPredictor] = {}
        self._targets: dict[str, int] = {}
        self._last_tick_us: dict[str, int] = {}

    def set_model(self, symbol: str, model: LoadedModel) -> None:
        """Trade ``symbol`` with ``model`` from the next bar on (a new champion; pending orders keep theirs)."""
        if model.spec.symbol != symbol:
            raise ValueError(f"model {model.name} v{model.version} is for {model.spec.symbol}, not {symbol}")
        previous = self._models.get(symbol)
        self._models[symbol] = model
        self._predictors[symbol] = row_predictor(model.model)
        log.info(
            "%s: trading model %s v%s (was %s)",
            symbol,
            model.name,
            model.version,
            "none" if previous is None else f"v{previous.version}",
        )

    def confirm_model(self, symbol: str, confirmed_us: int) -> None:
        """Record that ``symbol``'s model is still the registry's champion at ``confirmed_us`` (the
        stale-model guard reads it as ``model_loaded_us``)."""
        loaded = self._models.get(symbol)
        if loaded is None:
            raise KeyError(f"no model trades {symbol}")
        self._models[symbol] = dataclasses.replace(loaded, loaded_us=confirmed_us)

    def model(self, symbol: str) -> LoadedModel | None:
        """The model trading ``symbol``, if any."""
        return self._models.get(symbol)

    def restore(self, symbol: str, *, signal: int, position: float) -> None:
        """Resume ``symbol`` holding ``position`` units, filled to ``signal`` (state from a ledger)."""
        self.broker.restore(symbol, signal=signal, position=position)
        self._targets[symbol] = signal

    def snapshot(self) -> CoreSnapshot:
        """The core's market state (open bars, feature windows, broker, targets), without its models,
        risk check and portfolio: what a checkpoint stores beside them."""
        return CoreSnapshot(
            bars=self.bars,
            window=self.window,
            broker=self.broker,
            targets=dict(self._targets),
            last_tick_us=dict(self._last_tick_us),
        )

    def resume(self, snapshot: CoreSnapshot) -> None:
        """Continue from ``snapshot`` (models are set again from the registry)."""
        self.bars = snapshot.bars
        self.window = snapshot.window
        self.broker = snapshot.broker
        self._targets = dict(snapshot.targets)
        self._last_tick_us = dict(snapshot.last_tick_us)

    def flatten(self, orders: list[Order], capital: dict[str, float], costs: dict[str, CostModel]) -> None:
        """Send the kill switch's flatten ``orders`` to the broker: each moves its symbol's target to flat."""
        for order in orders:
            self.broker.submit(
                PendingOrder(
                    order=order, target_signal=0, capital=capital[order.symbol], costs=costs[order.symbol]
                )
            )
            self._targets[order.symbol] = 0

    def warm_up(self, bars: pa.Table) -> None:
        """Seed the feature windows with history (e.g. stored bars before the replay's first tick)."""
        self.window.add(last_bars(bars, self.window.rows))

    def on_ticks(self, ticks: pa.Table, *, now_us: int | None = None) -> Step:
        """Process a tick table in arrival order. ``now_us`` is the clock the risk check sees (the
        wall clock in a live service); by default each decision's own time (a replay)."""
        update = self.bars.push(ticks)
        for batch in update.trades:
            self.broker.on_trades(batch.symbol, batch.trade_time_us, batch.trade_id, batch.price)
            if len(batch.trade_time_us):
                latest = int(batch.trade_time_us.max())
                self._last_tick_us[batch.symbol] = max(latest, self._last_tick_us.get(batch.symbol, latest))
        out = _Collected()
        self._decide(update.closed, out, now_us)
        for (_venue, symbol), watermark in update.watermarks.items():
            self._take(self.broker.resolve(symbol, watermark), out)
        return Step(
            # Built after the decisions: nothing decided reads the table.
            bars=update.bars,
            decisions=tuple(out.decisions),
            fills=tuple(out.fills),
            netted=tuple(out.netted),
            late_ticks=update.late,
            decided_s=tuple(out.decided_s),
        )

    def finish(self) -> Step:
        """The end of a replay: close every open bar, decide on it, fill what has a trade."""
        closed = self.bars.flush_closed()
        out = _Collected()
        self._decide(closed, out, None)
        for symbol in sorted({symbol for _, symbol in closed.keys} | set(self._last_tick_us)):
            self._take(self.broker.resolve(symbol, None), out)
        return Step(
            bars=closed.table(),
            decisions=tuple(out.decisions),
            fills=tuple(out.fills),
            netted=tuple(out.netted),
            decided_s=tuple(out.decided_s),
        )

    def _take(self, events: BrokerEvents, out: _Collected) -> None:
        for fill in events.fills:
            if self.portfolio is not None:
                self.portfolio.apply(fill)
            out.fills.append(fill)
        out.netted.extend(events.netted)

    def _decide(self, closed: ClosedBars, out: _Collected, now_us: int | None) -> None:
        if closed.num_rows == 0:
            return
        keys = closed.row_keys()
        minutes = closed.columns["minute_us"].tolist()
        closes = closed.columns["close"].tolist()
        signals = self._signals(closed, keys)
        for row, (venue, symbol) in enumerate(keys):
            minute_us = int(minutes[row])
            decision_us = int(decision_time_us(minute_us))
            # Fills before this bar's end first: the position the decision sees is current.
            self._take(self.broker.resolve(symbol, decision_us), out)
            if self.on_bar is not None:
                self.on_bar(symbol, float(closes[row]), decision_us)
            loaded = self._models.get(symbol)
            if loaded is None:
                continue
            prediction, signal = signals[row]
            out.decisions.append(
                self._act(
                    loaded,
                    venue,
                    symbol,
                    minute_us,
                    decision_us,
                    float(closes[row]),
                    prediction,
                    signal,
                    now_us,
                )
            )
            if self.clock is not None:
                out.decided_s.append(self.clock())

    def _signals(self, closed: ClosedBars, keys: list[tuple[str, str]]) -> dict[int, tuple[float, int]]:
        """Add the ``closed`` bars (``keys`` the (venue, symbol) of each) to the feature windows; the
        (prediction, signal) of each bar of a symbol with a model.

        A bar's features depend only on its symbol's bars and its prediction only on them and the model
        (never on fills, marks or risk, and models change only between calls), so the bars of one call are
        predicted together, one call per model: per-call overhead dominates predicting a few rows.
        """
        numeric = {name: closed.columns[name] for name in BAR_NUMERIC_COLUMNS}
        # The feature rows of all the bars at once (the bars come ordered by (venue, symbol, minute)).
        featured, features = self.window.add_bars(keys, numeric, self._models)
        rows_of: dict[str, list[int]] = {}
        for position, row in enumerate(featured):
            rows_of.setdefault(keys[row][1], []).append(position)
        out: dict[int, tuple[float, int]] = {}
        for symbol, positions in rows_of.items():
            loaded = self._models[symbol]
            predictions = self._predictors[symbol](features[positions])
            signals = loaded.spec.policy.signals(predictions)
            for position, prediction, signal in zip(
                positions, predictions.tolist(), signals.tolist(), strict=True
            ):
                out[featured[position]] = (float(prediction), int(signal))
        return out

    def _act(
        self,
        loaded: LoadedModel,
        venue: str,
        symbol: str,
        minute_us: int,
        decision_us: int,
        close: float,
        prediction: float,
        signal: int,
        now_us: int | None,
    ) -> Decision:
        held = Decision(
            venue=venue,
            symbol=symbol,
            bar_minute_us=minute_us,
            decision_us=decision_us,
            model_version=loaded.version,
            prediction=prediction,
            signal=signal,
            action="hold",
        )
        target = self._targets.get(symbol, self.broker.signal(symbol))
        if signal == target:
            return held
        # The quantity at the bar's close, for the risk check; the fill sizes at its own reference price.
        estimate = abs(float(target_quantity(signal - target, loaded.spec.capital, close)))
        order = Order(
            order_id=order_id(symbol, minute_us, loaded.version, SIGNAL),
            symbol=symbol,
            side=1 if signal > target else -1,
            quantity=estimate,
            decision_us=decision_us,
            bar_minute_us=minute_us,
            model_name=loaded.name,
            model_version=loaded.version,
            run_id=loaded.run_id,
            reason=SIGNAL,
        )
        verdict = self.risk.check(
            order,
            self.portfolio,
            now_us=decision_us if now_us is None else now_us,
            last_tick_us=self._last_tick_us.get(symbol),
            model_loaded_us=loaded.loaded_us,
        )
        if not verdict.allowed:
            log.info("%s: order %s denied by %s", symbol, order.order_id, verdict.rule)
            return dataclasses.replace(held, action="denied", order=order, rule=verdict.rule)
        self.broker.submit(
            PendingOrder(
                order=order, target_signal=signal, capital=loaded.spec.capital, costs=loaded.spec.costs
            )
        )
        self._targets[symbol] = signal
        return dataclasses.replace(held, action="order", order=order)
