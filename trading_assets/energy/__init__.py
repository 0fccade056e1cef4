"""The energy-market example: spread features from ENTSO-E and intraday-trade sources, one model and its
walk-forward backtest, as assets in the same graph as the crypto models.

:mod:`.inputs` (the source tables' columns: the one place that names them), :mod:`.config`
(:class:`~trading_assets.energy.config.EnergyConfig`), :mod:`.features` and :mod:`.day` (a delivery day's
rows as known at the day-ahead gate closure), :mod:`.dataset` (windows and purged walk-forward refits),
:mod:`.backtest` (the spread strategy's PnL and metrics), :mod:`.model_flow` and :mod:`.assets`.
"""
