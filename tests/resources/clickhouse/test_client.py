"""The client options every ClickHouse store builds from its URL: whose timeouts hold, and what the URL
adds (settings, credentials, port)."""

from __future__ import annotations

from resources.clickhouse import parse_endpoint

URL = "clickhouse://reader:pw@ch.internal:9440/analytics"
TUNED = f"{URL}?connect_timeout=7&send_receive_timeout=600&insert_timeout=45&max_threads=2"


def test_the_url_names_server_credentials_and_settings_and_the_callers_timeouts_apply() -> None:
    endpoint = parse_endpoint(URL, connect_timeout_s=10.0, send_receive_timeout_s=300.0)

    assert endpoint.host == "ch.internal"
    assert endpoint.address == "ch.internal:9440"
    assert endpoint.settings == {}
    assert endpoint.options == {
        "port": 9440,
        "database": "analytics",
        "user": "reader",
        "password": "pw",
        "connect_timeout": 10.0,
        "send_receive_timeout": 300.0,
        "sync_request_timeout": 5.0,  # the pre-query ping waits at most 5 s
    }


def test_without_a_port_the_address_names_the_native_default() -> None:
    endpoint = parse_endpoint("clickhouse://localhost", connect_timeout_s=2.0, send_receive_timeout_s=5.0)

    assert endpoint.address == "localhost:9000"
    assert endpoint.options["sync_request_timeout"] == 2.0  # never longer than a connect


def test_timeouts_in_the_url_win_only_when_the_caller_lets_them() -> None:
    tuned = parse_endpoint(TUNED, connect_timeout_s=10.0, send_receive_timeout_s=300.0, url_timeouts_win=True)
    held = parse_endpoint(TUNED, connect_timeout_s=2.0, send_receive_timeout_s=5.0)

    assert (tuned.options["connect_timeout"], tuned.options["send_receive_timeout"]) == (7.0, 600.0)
    assert (held.options["connect_timeout"], held.options["send_receive_timeout"]) == (2.0, 5.0)
    assert tuned.options["sync_request_timeout"] == 5.0
    assert held.options["sync_request_timeout"] == 2.0
    # Parameters clickhouse-driver does not know stay settings, for the store to read (insert_timeout).
    assert tuned.settings == held.settings == {"insert_timeout": "45", "max_threads": "2"}


def test_a_client_gets_the_endpoints_options_with_the_given_ones_replacing_them() -> None:
    endpoint = parse_endpoint(TUNED, connect_timeout_s=2.0, send_receive_timeout_s=5.0)

    client = endpoint.client(settings={"use_numpy": True}, send_receive_timeout=1.5)
    default = endpoint.client()

    assert client.connection.send_receive_timeout == 1.5
    assert client.connection.connect_timeout == 2.0
    assert client.client_settings["use_numpy"] is True
    assert default.settings == {"insert_timeout": "45", "max_threads": "2"}
    assert default.connection.send_receive_timeout == 5.0
