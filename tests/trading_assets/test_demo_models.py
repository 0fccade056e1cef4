"""The demo's models table: each symbol's walk-forward backtest beside the numbers the champion gate
decided on, so a promotion reads from the figures printed next to it."""

from trading_assets.demo_models import ModelResult, models_table

WALK_FORWARD = {
    "total_return": -0.0000014,
    "sharpe": 0.14,
    "max_drawdown": 0.026,
    "trades": 84.0,
    "baseline_buy_and_hold_total_return": -0.27,
}
GATE = {
    "challenger_total_return": 0.0144,
    "challenger_sharpe": 19.93,
    "baseline_buy_and_hold_total_return": -0.095,
    "baseline_buy_and_hold_sharpe": -55.76,
}


def _result(symbol: str, *, gate: dict[str, float], decision: str) -> ModelResult:
    return ModelResult(
        symbol=symbol,
        run_id="run",
        succeeded=True,
        version=1,
        metrics=WALK_FORWARD,
        walk_forward="2026-12-01T00:00:00+00:00 .. 2026-12-01T23:59:00+00:00",
        gate_metrics=gate,
        scoring_window="2026-12-02T00:00:00+00:00 .. 2026-12-02T23:18:00+00:00 (1399 bars)" if gate else "",
        decision=decision,
    )


def test_a_promotion_is_shown_with_the_gates_numbers_beside_the_walk_forward_ones() -> None:
    # Arrange: a recipe that broke even walking forward, and whose version won its scoring window
    results = [_result("ETHUSDT", gate=GATE, decision="promoted: champion is v1")]

    # Act
    lines = models_table(results)

    # Assert: both windows named, and the row carries both sets of figures and the verdict
    assert "2026-12-01T00:00:00+00:00 .. 2026-12-01T23:59:00+00:00" in lines[1]
    assert "(1399 bars)" in lines[2]
    assert "walk-forward backtest" in lines[3] and "champion gate" in lines[3]
    row = lines[-1].split()
    assert row[:7] == ["ETHUSDT", "1", "-0.00%", "0.14", "2.60%", "84", "-27.00%"]
    assert row[7:11] == ["1.44%", "19.93", "-9.50%", "-55.76"]
    assert lines[-1].endswith("promoted: champion is v1")


def test_a_model_stopped_before_the_gate_shows_no_gate_figures() -> None:
    results = [
        _result("BTCUSDT", gate=GATE, decision="promoted: champion is v1"),
        _result("ADAUSDT", gate={}, decision="not promoted: the sanity check failed"),
    ]

    lines = models_table(results)

    row = lines[-1].split()
    assert row[0] == "ADAUSDT"
    assert row[7:11] == ["-", "-", "-", "-"]
    assert lines[-1].endswith("not promoted: the sanity check failed")
