"""The champion gate: margin over the champion, the baselines, and the sanity gates."""

from __future__ import annotations

import math

import pytest

from trading_assets.models.champion import GateConfig, Scorecard, decide

GATE = GateConfig(metric="sharpe", margin=0.1, min_trades=10, max_drawdown=0.2)
FLAT = Scorecard(name="flat", metrics={"sharpe": math.nan, "trades": 0, "max_drawdown": 0.0})


def card(name: str, sharpe: float, *, trades: int = 50, drawdown: float = 0.05) -> Scorecard:
    return Scorecard(name=name, metrics={"sharpe": sharpe, "trades": trades, "max_drawdown": drawdown})


def baselines(hold: float) -> dict[str, Scorecard]:
    return {"flat": FLAT, "buy_and_hold": card("buy_and_hold", hold, trades=1)}


def test_a_challenger_that_beats_champion_by_the_margin_and_the_baselines_is_promoted() -> None:
    decision = decide(
        challenger=card("v2", 1.5), champion=card("v1", 1.3), baselines=baselines(0.5), gate=GATE
    )
    assert decision.promote and decision.sane
    assert all(reason.startswith("pass") for reason in decision.reasons)


def test_a_win_smaller_than_the_margin_keeps_the_champion() -> None:
    decision = decide(
        challenger=card("v2", 1.35), champion=card("v1", 1.3), baselines=baselines(0.5), gate=GATE
    )
    assert not decision.promote
    assert any(reason.startswith("FAIL") and "champion v1" in reason for reason in decision.reasons)


def test_losing_to_buy_and_hold_is_never_promoted_even_without_a_champion() -> None:
    decision = decide(challenger=card("v1", 0.4), champion=None, baselines=baselines(0.5), gate=GATE)
    assert not decision.promote
    assert any("buy_and_hold" in reason and reason.startswith("FAIL") for reason in decision.reasons)


def test_a_negative_sharpe_loses_to_flat() -> None:
    decision = decide(challenger=card("v1", -0.2), champion=None, baselines=baselines(-1.0), gate=GATE)
    assert not decision.promote
    assert any("baseline flat" in reason and reason.startswith("FAIL") for reason in decision.reasons)


@pytest.mark.parametrize(("trades", "drawdown"), [(3, 0.05), (50, 0.35)])
def test_sanity_gates_block_promotion_however_good_the_metric(trades: int, drawdown: float) -> None:
    decision = decide(
        challenger=card("v2", 9.0, trades=trades, drawdown=drawdown),
        champion=card("v1", 1.0),
        baselines=baselines(0.5),
        gate=GATE,
    )
    assert not decision.promote
    assert not decision.sane


def test_a_nan_metric_never_wins() -> None:
    decision = decide(challenger=card("v1", math.nan), champion=None, baselines=baselines(-1.0), gate=GATE)
    assert not decision.promote
