"""Backtest of one symbol's signals on its 1-minute bars, through the shared fill and cost model.

:mod:`.engine` simulates fills, cash, position and equity (vectorised numpy, no loop per bar);
:mod:`.metrics` scores the equity curve; :mod:`.baselines` gives the flat and buy-and-hold signals a
model must beat; :mod:`.plots` draws the equity curve beside them; :mod:`.walk_forward` chains
out-of-sample windows.
"""
