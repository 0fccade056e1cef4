"""The executor's domain code: online bars and features, the decision path, parity with the backtest."""
