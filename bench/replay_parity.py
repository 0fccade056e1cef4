"""Executor-backtest parity on a recorded trades file: the check the parity tests make, on real trades.

The file's trades are replayed through the executor's decision path (``ExecutionCore``: online bars,
features, the model, the paper broker) in the order they arrived, ``--chunk-rows`` at a time as the bus
delivers them, and run through the backtest (bars of the deduplicated ticks, features, signals,
``run_backtest``) with the same model and costs; the fills are compared field by field (time at the
minute, side, quantity, reference price, price, fee, model version).

Files:
- ``binance``: a data.binance.vision trades CSV (``id, price, qty, quoteQty, time, isBuyerMaker,
  isBestMatch``, with or without a header; for example
  https://data.binance.vision/data/spot/daily/trades/BTCUSDT/BTCUSDT-trades-2020-03-12.zip, unzipped).
  They hold no receive times: arrival is the file's order.
- ``tardis``: a Tardis.dev ``trades`` CSV (``exchange, symbol, timestamp, local_timestamp, id, side,
  price, amount``, microseconds): arrival is the recorded ``local_timestamp`` order.

The first ``--warm-up-minutes`` of the file are the stored history both paths start from (the
executor's warm-up bars); the rest is traded. The model is a small XGBoost classifier that trades often
(thresholds 0.52/0.48, shorts allowed), fitted on a simulated day, since parity does not depend on what
the model learnt; and a rule on the bar's order flow with the same policy, which trades far more often on
real trades. ``--jitter-ms`` and ``--repeats`` add out-of-order and re-sent ticks to the arrival
order (within the lateness, so nothing is late).

Prints the figures, then one JSON object as the last line (``identical`` true when every fill matches);
exits 1 when the two paths differ.

    .venv/bin/python bench/replay_parity.py FILE [--format tardis|binance] [--jitter-ms 1500 --repeats 100]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from testkit.parity_models import flow_model, train_on_bars
from testkit.recorded_trades import detect_format, read_binance, read_tardis
from trading_assets.core.time import US_PER_MINUTE, US_PER_SECOND, day_start_us
from trading_assets.execution import parity
from trading_assets.execution.decisions import LoadedModel
from trading_assets.market.bars import compute_bars_1m
from trading_assets.market.simulation import MarketConfig, MarketSimulator

log = logging.getLogger("replay_parity")


def simulated_bars(symbol: str, seed: int) -> pa.Table:
    """A day of a simulated trending market's 1-minute bars under ``symbol`` (the model's training set)."""
    config = MarketConfig(symbols=(symbol,), trades_per_second=0.7, trend=((symbol, 0.1),), seed=seed)
    start = day_start_us(dt.date(2026, 1, 1))
    return compute_bars_1m(MarketSimulator(config=config, start_us=start).generate(60_000))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("file", type=Path, help="the recorded trades CSV")
    parser.add_argument(
        "--format", choices=("binance", "tardis"), default=None, help="default: from the header"
    )
    parser.add_argument("--symbol", default="BTCUSDT", help="symbol of a data.binance.vision file (BTCUSDT)")
    parser.add_argument("--warm-up-minutes", type=int, default=61, help="history before the traded part (61)")
    parser.add_argument("--chunk-rows", type=int, default=64, help="ticks per bus poll (64)")
    parser.add_argument("--lateness-s", type=float, default=2.0, help="the executor's bar lateness (2 s)")
    parser.add_argument(
        "--jitter-ms", type=float, default=0.0, help="extra arrival jitter, below the lateness"
    )
    parser.add_argument("--repeats", type=int, default=0, help="ticks delivered a second time (0)")
    parser.add_argument("--seed", type=int, default=7, help="model and jitter seed (7)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    # The executor logs every bar's re-sent ticks and every model load: the summary says it once.
    logging.getLogger("trading_assets").setLevel(logging.WARNING)
    args = parse_args(argv)
    if not args.file.is_file():
        log.error("no such file: %s (give a data.binance.vision or Tardis trades CSV)", args.file)
        return 2
    fmt = args.format or detect_format(args.file)
    arrivals = read_tardis(args.file) if fmt == "tardis" else read_binance(args.file, args.symbol)
    symbols = sorted(set(arrivals["symbol"].to_pylist()))
    lateness_us = int(args.lateness_s * US_PER_SECOND)
    if args.jitter_ms or args.repeats:
        if args.jitter_ms * 1000 >= lateness_us:
            log.error(
                "--jitter-ms must stay below the lateness (%s s), or ticks are late by design",
                args.lateness_s,
            )
            return 2
        arrivals = parity.arrival_order(
            arrivals, jitter_us=int(args.jitter_ms * 1000), repeats=args.repeats, seed=args.seed
        )

    # The first minutes are stored history (bars of those ticks), the rest is traded.
    times = arrivals["trade_time_us"].to_numpy()
    first_minute = int(times.min()) - int(times.min()) % US_PER_MINUTE
    split_us = first_minute + args.warm_up_minutes * US_PER_MINUTE
    in_history = pc.less(arrivals["trade_time_us"], split_us)
    history = parity.first_copies(arrivals.filter(in_history))
    traded = arrivals.filter(pc.invert(in_history))
    if traded.num_rows == 0:
        log.error("no trades after the first %d minutes (--warm-up-minutes)", args.warm_up_minutes)
        return 2
    warm_up = compute_bars_1m(history) if history.num_rows else None
    model_sets: dict[str, dict[str, LoadedModel]] = {
        "xgboost": {s: train_on_bars(simulated_bars(s, args.seed), s, seed=args.seed) for s in symbols},
        "flow": {s: flow_model(s) for s in symbols},
    }
    summary: dict[str, Any] = {
        "file": str(args.file),
        "format": fmt,
        "symbols": symbols,
        "trades": arrivals.num_rows,
        "traded_trades": traded.num_rows,
        "warm_up_bars": 0 if warm_up is None else warm_up.num_rows,
        "out_of_order": int((np.diff(traded["trade_time_us"].to_numpy()) < 0).sum()),
    }
    log.info(
        "%s (%s): %d trades, %d traded after %d warm-up bars; %d ticks arrive out of order",
        args.file.name,
        fmt,
        summary["trades"],
        summary["traded_trades"],
        summary["warm_up_bars"],
        summary["out_of_order"],
    )
    results = {}
    for kind, models in model_sets.items():
        started = time.perf_counter()
        run = parity.replay(traded, models, warm_up, lateness_us=lateness_us, chunk_rows=args.chunk_rows)
        replay_s = time.perf_counter() - started
        expected = parity.backtest(parity.first_copies(traded), models, warm_up)
        differences = [
            f"{s}: {line}"
            for s in symbols
            for line in parity.fill_differences(
                [f for f in run.fills if f.symbol == s], expected[s], models[s].version
            )
        ]
        results[kind] = {
            "bars": pa.concat_tables(run.bars).num_rows,
            "late_ticks": run.core.bars.late_ticks,
            "duplicate_ticks": run.core.bars.duplicate_ticks,
            "fills": len(run.fills),
            "backtest_fills": sum(len(f) for f in expected.values()),
            "differences": len(differences),
            "identical": not differences,
            "replay_ticks_per_s": round(traded.num_rows / replay_s),
        }
        log.info(
            "%s model: %d bars, %d late and %d repeated ticks; executor %d fills, backtest %d: %s",
            kind,
            results[kind]["bars"],
            results[kind]["late_ticks"],
            results[kind]["duplicate_ticks"],
            results[kind]["fills"],
            results[kind]["backtest_fills"],
            "identical" if not differences else f"{len(differences)} differences",
        )
        for line in differences[:20]:
            log.info("  %s", line)
    summary["models"] = results
    summary["identical"] = all(r["identical"] for r in results.values())
    sys.stdout.write(json.dumps(summary) + "\n")
    return 0 if summary["identical"] else 1


if __name__ == "__main__":
    sys.exit(main())
