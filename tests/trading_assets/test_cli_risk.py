"""``tradegraph risk``: the latch of a tripped kill switch is shown, and only a reset with who and why
clears it, recorded in the ledger as a request the executor applies (and records as its `reset` event)."""

from pathlib import Path

import pytest

from resources.table_store.embedded import EmbeddedTableStore
from trading_assets.cli import main
from trading_assets.execution.ledger import Ledger
from trading_assets.execution.ledger_tables import RISK_EVENTS, RISK_RESETS, RiskStateRow
from trading_assets.services.heartbeat import now_us


def test_a_latched_halt_is_shown_and_cleared_only_by_a_reset_with_who_and_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Arrange: the executor left a latched HALT behind
    monkeypatch.setenv("TRADEGRAPH_HOME", str(tmp_path))
    store = EmbeddedTableStore(tmp_path / "tables")
    ledger = Ledger(store)
    ledger.save_risk_state(
        RiskStateRow(
            time_us=now_us() - 60_000_000,
            state="HALTED",
            latched=True,
            high_water_mark=105_000.0,
            breaches=3,
            day_start_equity=100_000.0,
        )
    )
    # Act and assert: status shows the latch; a reset without a reason is refused and changes nothing
    assert main(["risk"]) == 0
    assert "HALTED, LATCHED" in capsys.readouterr().out
    assert main(["risk", "reset", "--who", "alice"]) == 2
    assert main(["risk", "status"]) == 0
    assert "LATCHED" in capsys.readouterr().out
    # A reset with who and why clears it and is recorded
    assert main(["risk", "reset", "--who", "alice", "--why", "feed checked, limits lowered"]) == 0
    assert main(["risk", "status"]) == 0
    assert "ACTIVE, not latched" in capsys.readouterr().out
    requests = store.read(RISK_RESETS.spec, start_us=0, end_us=2**62)
    assert requests.column("kind").to_pylist() == ["reset"]
    assert requests.column("who").to_pylist() == ["alice"]
    assert requests.column("why").to_pylist() == ["feed checked, limits lowered"]
    # The risk events are the executor's own: it records the reset when it applies the request.
    assert store.read(RISK_EVENTS.spec, start_us=0, end_us=2**62).num_rows == 0
