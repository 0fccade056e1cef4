"""The energy-market simulator: ENTSO-E style prices, load and generation forecasts, and intraday trade
files over FTP, served offline.

:mod:`.shapes` (deterministic daily shapes), :mod:`.documents` (the platform's XML documents) and
:mod:`.entsoe_api` (its REST API on 127.0.0.1); :mod:`.intraday_trades` (continuous intraday trades),
:mod:`.ftp_drop` and :mod:`.ftp_server` (files dropped on a pyftpdlib server). Run alone with
``python -m trading_assets.services.energy_sim``.
"""

from trading_assets.services.energy_sim.entsoe_api import ApiStats, EntsoeApiServer, ManualClock, ReplayClock
from trading_assets.services.energy_sim.shapes import MarketShape

__all__ = ["ApiStats", "EntsoeApiServer", "ManualClock", "MarketShape", "ReplayClock"]
