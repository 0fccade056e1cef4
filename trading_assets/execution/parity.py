"""Executor-backtest parity on recorded ticks: the same ticks through the live decision path (in arrival
order, chunk by chunk, as the service reads the bus) and through the batch path (bars of the stored
ticks, features on the whole history, the model's signals, ``run_backtest``), and the fills compared.

The tests check parity on simulated and shuffled days with this module; ``bench/replay_parity.py`` runs it
on any recorded trades file (data.binance.vision or Tardis CSV), which is how real exchange trades are
checked.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from trading_assets.backtest.engine import Fills, run_backtest
from trading_assets.core.time import US_PER_MINUTE
from trading_assets.execution.core import ExecutionCore
from trading_assets.execution.decisions import LoadedModel
from trading_assets.market.bars import compute_bars_1m
from trading_assets.models.features import FEATURE_COLUMNS, compute_features
from trading_assets.models.training import predict
from trading_assets.trading.orders import Fill


@dataclass(frozen=True, slots=True, kw_only=True)
class Replay:
    """What the executor's decision path made of a replay."""

    fills: list[Fill]
    """Every fill, in the order the core made them."""
    bars: list[pa.Table]
    """The bars each step closed (concatenate for the day's bars)."""
    core: ExecutionCore
    """The core after the replay (its late and duplicate tick counts)."""


def chunks(table: pa.Table, size: int) -> list[pa.Table]:
    """``table`` cut into consecutive tables of ``size`` rows (the bus's polls)."""
    return [table.slice(start, size) for start in range(0, table.num_rows, size)]


def arrival_order(ticks: pa.Table, *, jitter_us: int, repeats: int, seed: int) -> pa.Table:
    """``ticks`` in an arrival order: each delayed by up to ``jitter_us`` (so out of order by less than
    that), and ``repeats`` of them delivered a second time, also within ``jitter_us`` of the trade."""
    rng = np.random.default_rng(seed)
    n = ticks.num_rows
    again = rng.choice(n, size=repeats, replace=False)
    rows = np.concatenate((np.arange(n), again))
    times = ticks["trade_time_us"].to_numpy()[rows]
    arrival = times + rng.integers(0, max(jitter_us, 1), size=len(rows))
    return ticks.take(pa.array(rows[np.argsort(arrival, kind="stable")]))


def first_copies(arrivals: pa.Table) -> pa.Table:
    """Each (symbol, trade_id) once, first arrival kept: the tick set the store holds after dedup."""
    frame = arrivals.select(["symbol", "trade_id"]).to_pandas()
    return arrivals.take(pa.array(np.flatnonzero(~frame.duplicated().to_numpy())))


def replay(
    arrivals: pa.Table,
    models: dict[str, LoadedModel],
    warm_up: pa.Table | None,
    *,
    lateness_us: int,
    chunk_rows: int = 300,
) -> Replay:
    """``arrivals`` through a fresh :class:`ExecutionCore` in ``chunk_rows`` polls, then its end of day."""
    core = ExecutionCore(lateness_us=lateness_us)
    if warm_up is not None:
        core.warm_up(warm_up)
    for symbol, model in models.items():
        core.set_model(symbol, model)
    fills: list[Fill] = []
    bars: list[pa.Table] = []
    for chunk in [*chunks(arrivals, chunk_rows), None]:
        step = core.finish() if chunk is None else core.on_ticks(chunk)
        fills.extend(step.fills)
        bars.append(step.bars)
    return Replay(fills=fills, bars=bars, core=core)


def backtest(ticks: pa.Table, models: dict[str, LoadedModel], warm_up: pa.Table | None) -> dict[str, Fills]:
    """The batch path per symbol: bars of ``ticks``, features on the history (``warm_up`` bars first),
    the model's signals from the first bar of ``ticks`` on, and ``run_backtest``'s fills."""
    bars = compute_bars_1m(ticks)
    history = bars if warm_up is None else pa.concat_tables([warm_up, bars])
    features = compute_features(history)
    out = {}
    for symbol, loaded in models.items():
        rows = features.filter(
            pc.and_(
                pc.equal(features["symbol"], symbol),
                pc.greater_equal(features["minute_us"], bars["minute_us"][0]),
            )
        )
        signal = loaded.spec.policy.signals(
            predict(loaded.model, rows.select(list(FEATURE_COLUMNS)).to_pandas())
        )
        out[symbol] = run_backtest(
            rows["minute_us"].to_numpy(),
            rows["open"].to_numpy(),
            rows["close"].to_numpy(),
            signal,
            costs=loaded.spec.costs,
            capital=loaded.spec.capital,
            allow_short=loaded.spec.policy.allow_short,
        ).fills
    return out


def fill_differences(executor: list[Fill], expected: Fills, version: str) -> list[str]:
    """Where the executor's fills differ from the backtest's, bit for bit, one line per difference; empty
    when they are the same. The backtest's fill time is its bar's start, the executor's the trade that
    opened the bar, so times are compared at the minute."""
    if len(executor) != len(expected):
        return [f"{len(executor)} executor fills against {len(expected)} in the backtest"]
    fields: dict[str, tuple[list[Any], list[Any]]] = {
        "minute": ([f.time_us - f.time_us % US_PER_MINUTE for f in executor], expected.time_us.tolist()),
        "side": ([f.side for f in executor], expected.side.tolist()),
        "quantity": ([f.quantity for f in executor], expected.quantity.tolist()),
        "reference price": ([f.reference_price for f in executor], expected.reference_price.tolist()),
        "price": ([f.price for f in executor], expected.price.tolist()),
        "fee": ([f.fee for f in executor], expected.fee.tolist()),
    }
    out = [
        f"fill {i}: {name} {mine!r} (executor) != {theirs!r} (backtest)"
        for name, (ours, backtests) in fields.items()
        for i, (mine, theirs) in enumerate(zip(ours, backtests, strict=True))
        if mine != theirs
    ]
    out.extend(
        f"fill {i}: model version {f.model_version!r}, not {version!r}"
        for i, f in enumerate(executor)
        if f.model_version != version
    )
    return out
