"""The one fill and cost model shared by the backtest (issue 8) and the paper executor (issue 9).

:mod:`.costs` prices a fill (fees, spread, slippage, latency); :mod:`.fills` says which price a decision
fills at and how many units it trades. Pure functions over scalars and numpy arrays: no I/O.
"""
