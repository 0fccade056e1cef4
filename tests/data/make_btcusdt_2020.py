"""Writes BTCUSDT-trades-2020-03-12-sample.csv: 3,000 BTCUSDT spot trades in the data.binance.vision
format (``id, price, qty, quoteQty, time, isBuyerMaker, isBestMatch``, no header, millisecond times as
the spot files had before 2025), shaped like the real file of that day: consecutive ids from
263,412,881, irregular arrivals with quiet stretches and bursts, market orders that sweep several
makers in one millisecond, and identical prints (same millisecond, price and quantity, distinct ids).

Seeded, so running it again writes the same bytes: ``python tests/data/make_btcusdt_2020.py``.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np

OUT = Path(__file__).with_name("BTCUSDT-trades-2020-03-12-sample.csv")
FIRST_ID = 263_412_881
TRADES = 3_000
START_MS = int(dt.datetime(2020, 3, 12, 14, 0, tzinfo=dt.UTC).timestamp() * 1000)


def main() -> None:
    rng = np.random.default_rng(20200312)
    rows: list[str] = []
    time_ms = START_MS
    price = 7_912.45
    trade_id = FIRST_ID
    while len(rows) < TRADES:
        # Arrivals: mostly tens of milliseconds apart, sometimes seconds of quiet.
        time_ms += int(rng.exponential(2_500 if rng.random() < 0.05 else 60))
        maker_sells = rng.random() < 0.5  # isBuyerMaker: the taker sold
        sweep = 1 if rng.random() < 0.88 else int(rng.integers(2, 7))
        qty = round(float(rng.lognormal(-5.5, 1.6)), 6) or 0.000001
        for leg in range(sweep):
            if len(rows) == TRADES:
                break
            if leg and rng.random() < 0.08:
                pass  # an identical print: the same maker size filled again at the same price
            else:
                qty = round(float(rng.lognormal(-5.5, 1.6)), 6) or 0.000001
                if leg:
                    price = round(price + (-0.01 if maker_sells else 0.01) * int(rng.integers(0, 3)), 2)
            quote = round(price * qty, 8)
            rows.append(f"{trade_id},{price:.8f},{qty:.8f},{quote:.8f},{time_ms},{maker_sells},True")
            trade_id += 1
        price = round(max(1.0, price + float(rng.normal(0, 0.9))), 2)
    OUT.write_text("\n".join(rows) + "\n")


if __name__ == "__main__":
    main()
