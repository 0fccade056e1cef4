"""The one fill and cost model shared by the backtest (issue 8) and the paper executor (issue 9).

:mod:`.costs` prices a fill (fees, spread, slippage, latency); :mod:`.fills` says which price a decision
fills at and how many units it trades. Pure functions over scalars and numpy arrays: no I/O.

For the executor (issue 9), still pure and without I/O: :mod:`.orders` (orders and fills with ids derived
from the decision), :mod:`.portfolio` (cash, positions at average cost, PnL, equity marks, attribution by
model version), :mod:`.risk_state` (limits, trading states, rule names, the persistent risk state) and
:mod:`.risk` (the risk engine: limits on every order, daily loss, the latched drawdown kill switch).
"""
