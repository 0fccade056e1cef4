"""The simulated exchange: Binance and Finnhub wire protocols on 127.0.0.1, fed by the seeded market.

Real connectors work against it unchanged. Websocket port: Binance combined streams
(``/stream?streams=btcusdt@trade/..``), raw streams (``/ws/btcusdt@trade``), the ``SUBSCRIBE`` method,
and Finnhub trades (``/finnhub?token=..``). REST port: ``/api/v3/historicalTrades``, ``/api/v3/trades``,
``/api/v3/ping``, ``/api/v3/time`` and the simulator's ``/sim/stats``, ``/sim/drop-connections``,
``/sim/faults``. An accelerated clock (``speed``), a trade bound (``max_trades``), CSV replay and
seeded faults (drops, duplicates, reordering, skips, garbage, pings) make it a test bench.

Use :class:`ExchangeSim` in-process (own event loop in a thread), :class:`ExchangeSimServer` inside an
event loop, or the CLI (:mod:`.cli`).
"""

from trading_assets.services.exchange_sim.config import DEFAULT_SYMBOLS, ExchangeSimConfig, FaultConfig
from trading_assets.services.exchange_sim.server import ExchangeSim, ExchangeSimServer

__all__ = ["DEFAULT_SYMBOLS", "ExchangeSim", "ExchangeSimConfig", "ExchangeSimServer", "FaultConfig"]
