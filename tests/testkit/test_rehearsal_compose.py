"""testkit.rehearsal.compose: docker/compose.yaml read as compose reads it."""

from __future__ import annotations

import pytest

from testkit.rehearsal.compose import (
    RehearsalError,
    addresses,
    env_file_values,
    environment_of,
    interpolate,
    load_compose,
)


def test_interpolate_substitutes_required_defaulted_and_escaped_variables() -> None:
    env = {"A": "x", "EMPTY": ""}

    assert interpolate("${A:?set A} ${B:-dflt} ${EMPTY:-e} $${A}", env) == "x dflt e ${A}"
    assert interpolate({"k": ["${A}", 3]}, env) == {"k": ["x", 3]}


def test_interpolate_refuses_a_missing_required_variable_with_its_message() -> None:
    with pytest.raises(RehearsalError, match=r"set B in docker/\.env"):
        interpolate("${B:?set B in docker/.env}", {})


def test_compose_file_resolves_with_the_env_file_values_and_merges_its_anchors() -> None:
    env = env_file_values()
    services = load_compose(env)["services"]
    loader = environment_of(services["loader"])

    assert loader["TRADEGRAPH_CLICKHOUSE_PASSWORD"] == env["CLICKHOUSE_TRADEGRAPH_PASSWORD"]
    assert loader["TRADEGRAPH_KAFKA_BOOTSTRAP"] == "kafka:9092"
    ips = addresses(services)
    assert ips["prometheus"] == "127.0.0.1"
    assert len(set(ips.values())) == len(services)
    assert all(ip.startswith("127.0.0.") for ip in ips.values())
