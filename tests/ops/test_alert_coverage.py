"""Every alert rule has a promtool unit test in which it fires (docker/prometheus/alerts_test.yml; the tests
themselves run in tests/docker/test_compose.py)."""

from __future__ import annotations

from pathlib import Path

import yaml

PROMETHEUS = Path(__file__).resolve().parents[2] / "docker" / "prometheus"


def test_every_alert_rule_fires_in_some_promtool_case() -> None:
    rules = yaml.safe_load((PROMETHEUS / "alerts.yml").read_text())
    cases = yaml.safe_load((PROMETHEUS / "alerts_test.yml").read_text())
    alerts = {rule["alert"] for group in rules["groups"] for rule in group["rules"]}

    firing = {
        check["alertname"]
        for case in cases["tests"]
        for check in case.get("alert_rule_test", [])
        if check.get("exp_alerts")
    }

    assert sorted(alerts - firing) == []
