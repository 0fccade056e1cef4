"""The sns source against moto's SNS and SQS (the ``s3_server`` session server serves them too)."""

from __future__ import annotations

import http.server
import json
import textwrap
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pyarrow as pa
import pytest

from resources.sources import sns as sns_package
from resources.sources.base import SourceBatch, SourceError, SourceUnavailableError
from resources.sources.config import parse_sources
from resources.sources.registry import build_source, source_kind
from resources.sources.sns import SnsSource
from testkit.servers.s3 import ACCESS_KEY, REGION, SECRET_KEY, S3Server
from trading_assets.sources.tables import source_table, unique_by_key

VISIBILITY_S = 1
HOUR_US = 3_600_000_000


@pytest.fixture(autouse=True)
def _aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    # The source takes credentials from boto3's chain only; moto accepts any.
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


def sns_client(server: S3Server) -> Any:
    return boto3.client(
        "sns",
        endpoint_url=server.endpoint_url,
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
    )


def new_topic(server: S3Server) -> str:
    return str(sns_client(server).create_topic(Name=f"prices-{uuid.uuid4().hex[:12]}")["TopicArn"])


def options(server: S3Server, topic_arn: str, **overrides: object) -> dict[str, object]:
    base: dict[str, object] = {
        "name": "power_prices",
        "topic_arn": topic_arn,
        "queue_name": f"q-{uuid.uuid4().hex[:12]}",
        "create_subscription": True,
        "endpoint_url": server.endpoint_url,
        "region": REGION,
        "columns": {"area": "string", "price": "float64", "volume": "int64", "firm": "bool"},
        "time_column": "delivery_start",
        "series": ["area"],
        "version_column": "published",
        "periods_per_day": 24,
        "wait_time_s": 1,
        "visibility_timeout_s": VISIBILITY_S,
    }
    return {**base, **overrides}


@pytest.fixture
def topic(s3_server: S3Server) -> str:
    return new_topic(s3_server)


@pytest.fixture
def source(s3_server: S3Server, topic: str) -> Iterator[SnsSource]:
    built = build_source("sns", options(s3_server, topic))
    assert isinstance(built, SnsSource)
    built.queue_url()  # creates queue and subscription: SNS delivers only what is published after that
    with built:
        yield built


def price(
    hour: int, *, area: str = "DE", price: float = 50.0, published: str = "2024-03-01T10:00:00Z"
) -> dict:
    return {
        "area": area,
        "price": price,
        "volume": 10 + hour,
        "firm": hour % 2 == 0,
        "delivery_start": f"2024-03-02T{hour:02d}:00:00Z",
        "published": published,
    }


def publish(server: S3Server, topic_arn: str, bodies: list[str]) -> list[str]:
    client = sns_client(server)
    return [str(client.publish(TopicArn=topic_arn, Message=body)["MessageId"]) for body in bodies]


def fetch_until(source: SnsSource, count: int, *, rounds: int = 20) -> list[SourceBatch]:
    """Batches fetched until ``count`` messages (records and rejected) arrived, at most ``rounds`` fetches."""
    batches: list[SourceBatch] = []
    for _ in range(rounds):
        batches.append(source.fetch(None, timeout_s=1))
        if sum(len(b.receipts) for b in batches) >= count:
            break
    return batches


def records_of(batches: list[SourceBatch]) -> pa.Table:
    return pa.concat_tables([b.records for b in batches])


def test_the_kind_is_registered_with_its_config() -> None:
    assert source_kind("sns").config_type.__name__ == "SnsConfig"


def test_publishing_n_messages_fetches_each_exactly_once_with_its_values(
    s3_server: S3Server, topic: str, source: SnsSource
) -> None:
    # Arrange
    sent = [price(hour, price=40.0 + hour) for hour in range(24)]
    ids = publish(s3_server, topic, [json.dumps(body) for body in sent])

    # Act
    batches = fetch_until(source, len(ids))

    # Assert
    records = records_of(batches)
    assert sorted(records["message_id"].to_pylist()) == sorted(ids)
    assert sum(len(b.receipts) for b in batches) == 24
    assert all(b.cursor is None and not b.rejected for b in batches)
    by_id = {row["message_id"]: row for row in records.to_pylist()}
    for message_id, body in zip(ids, sent, strict=True):
        row = by_id[message_id]
        hour = int(body["delivery_start"][11:13])
        assert (
            row["price"] == body["price"] and row["volume"] == body["volume"] and row["firm"] == body["firm"]
        )
        assert row["delivery_start"] == 1_709_337_600_000_000 + hour * HOUR_US  # 2024-03-02T00:00Z + hours
        assert row["published"] == 1_709_287_200_000_000  # 2024-03-01T10:00Z
        assert row["published_us"] > 0
    assert records.schema.equals(source.spec.records.schema)


def test_acked_messages_are_deleted_and_not_delivered_again(
    s3_server: S3Server, topic: str, source: SnsSource
) -> None:
    # Arrange
    ids = publish(s3_server, topic, [json.dumps(price(hour)) for hour in range(12)])
    batches = fetch_until(source, len(ids))
    assert sum(b.records.num_rows for b in batches) == 12

    # Act
    for batch in batches:
        source.ack(batch)
    time.sleep(VISIBILITY_S + 0.5)

    # Assert: after the visibility timeout nothing comes back.
    again = source.fetch(None, timeout_s=1)
    assert again.records.num_rows == 0 and again.receipts == ()


def test_unacked_messages_come_back_after_the_visibility_timeout_with_the_same_ids_and_are_stored_once(
    s3_server: S3Server, topic: str, source: SnsSource
) -> None:
    # Arrange
    ids = publish(s3_server, topic, [json.dumps(price(hour)) for hour in range(5)])
    first = records_of(fetch_until(source, len(ids)))

    # Act: no ack (a poller crashed before it), then wait for SQS to deliver again.
    time.sleep(VISIBILITY_S + 0.5)
    second = records_of(fetch_until(source, len(ids)))

    # Assert
    assert sorted(first["message_id"].to_pylist()) == sorted(ids)
    assert sorted(second["message_id"].to_pylist()) == sorted(ids)
    table = source_table(source.spec)
    assert "message_id" in table.key
    assert unique_by_key(table, pa.concat_tables([first, second])).num_rows == 5


def test_bad_messages_are_rejected_with_the_field_and_deleted_on_ack(
    s3_server: S3Server, topic: str, source: SnsSource
) -> None:
    # Arrange
    missing = price(1)
    del missing["price"]
    wrong_type = {**price(2), "volume": "12"}
    bad_time = {**price(3), "delivery_start": "tomorrow"}
    bodies = [
        "not json {",
        json.dumps(missing),
        json.dumps(wrong_type),
        json.dumps(bad_time),
        json.dumps(price(4)),
    ]
    publish(s3_server, topic, bodies)

    # Act
    batches = fetch_until(source, len(bodies))

    # Assert
    rejected = [r for b in batches for r in b.rejected]
    reasons = sorted(r.reason for r in rejected)
    assert records_of(batches).num_rows == 1
    assert len(rejected) == 4
    assert any("is not JSON" in r for r in reasons)
    assert any("field 'price' is missing" in r for r in reasons)
    assert any("field 'volume': '12' is not an int64" in r for r in reasons)
    assert any("field 'delivery_start': 'tomorrow' is not an ISO-8601 time" in r for r in reasons)
    assert all(json.loads(r.payload)["Type"] == "Notification" for r in rejected)  # the SQS body as received
    assert sum(len(b.receipts) for b in batches) == 5

    for batch in batches:
        source.ack(batch)
    time.sleep(VISIBILITY_S + 0.5)
    assert source.fetch(None, timeout_s=1).receipts == ()


def test_a_fetch_returns_at_most_max_messages_and_says_more_are_ready(
    s3_server: S3Server, topic: str
) -> None:
    # Arrange
    with build_source("sns", options(s3_server, topic, max_messages=15)) as source:
        source.queue_url()  # type: ignore[attr-defined]  # creates the queue and the subscription
        publish(s3_server, topic, [json.dumps(price(hour % 24)) for hour in range(40)])

        # Act
        first = source.fetch(None, timeout_s=1)

        # Assert
        assert first.records.num_rows == 15
        assert first.more is True


def test_raw_message_delivery_uses_the_sqs_message_id_and_sent_time(s3_server: S3Server, topic: str) -> None:
    # Arrange
    with build_source("sns", options(s3_server, topic, raw_message_delivery=True, epoch_unit="ms")) as source:
        source.queue_url()  # type: ignore[attr-defined]
        body = {**price(5), "delivery_start": 1_709_355_600_000, "published": 1_709_287_200_000}
        publish(s3_server, topic, [json.dumps(body)])

        # Act
        batches = fetch_until(source, 1)

        # Assert
        records = records_of(batches)
        assert records.num_rows == 1
        assert records["delivery_start"][0].as_py() == 1_709_337_600_000_000 + 5 * HOUR_US
        assert records["published"][0].as_py() == 1_709_287_200_000_000
        assert records["published_us"][0].as_py() > 1_700_000_000_000_000
        assert records["message_id"][0].as_py()


def test_an_existing_queue_is_read_by_its_url(s3_server: S3Server, topic: str) -> None:
    # Arrange: a queue subscribed by someone else (here: a first source that created the subscription).
    creating = options(s3_server, topic)
    with build_source("sns", creating) as setup:
        url = setup.queue_url()  # type: ignore[attr-defined]
    reading = {
        k: v for k, v in creating.items() if k not in ("topic_arn", "queue_name", "create_subscription")
    }
    publish(s3_server, topic, [json.dumps(price(7))])

    # Act
    with build_source("sns", {**reading, "queue_url": url}) as source:
        batches = fetch_until(source, 1)

    # Assert
    assert records_of(batches)["volume"].to_pylist() == [17]


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        ({"wait_time_s": 21}, "wait_time_s"),
        ({"queue_name": None, "create_subscription": False}, "queue_url"),
        ({"columns": {"area": "decimal"}}, "columns"),
        ({"series": ["region"]}, "region"),
        ({"time_column": "message_id"}, "envelope"),
    ],
)
def test_bad_options_are_refused_naming_the_option(change: dict[str, object], complaint: str) -> None:
    kind = source_kind("sns")
    with pytest.raises(ValueError, match=complaint):
        kind.config({**options_without_server(), **change})


def options_without_server() -> dict[str, object]:
    return {
        "name": "power_prices",
        "queue_name": "q",
        "columns": {"area": "string", "price": "float64"},
        "time_column": "delivery_start",
        "series": ["area"],
    }


@pytest.mark.slow
def test_a_server_that_went_down_makes_fetch_and_ack_raise_source_unavailable(tmp_path: Path) -> None:
    # Arrange: a server of this test's own, so stopping it disturbs no other test.
    with S3Server(tmp_path / "moto") as server:
        topic_arn = new_topic(server)
        source = build_source("sns", options(server, topic_arn, connect_timeout_s=1.0, read_timeout_s=2.0))
        source.queue_url()  # type: ignore[attr-defined]
        publish(server, topic_arn, [json.dumps(price(1))])
        batch = fetch_until(source, 1)[-1]
        assert batch.records.num_rows == 1

    # Act / Assert: the server is stopped now.
    with pytest.raises(SourceUnavailableError, match="cannot reach"):
        source.fetch(None, timeout_s=1)
    with pytest.raises(SourceUnavailableError, match="DeleteMessageBatch"):
        source.ack(batch)
    source.close()


class _Failing(http.server.BaseHTTPRequestHandler):
    """Answers every request with the status and JSON error of ``server.answer`` (an SQS-like endpoint)."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.server.answer is None:  # type: ignore[attr-defined]
            time.sleep(3)  # never answers in time
            return
        status, error_type = self.server.answer  # type: ignore[attr-defined]
        scripted = getattr(self.server, "scripted", None)
        if scripted:  # answers to give first, one per request, before ``answer``
            status, payload = scripted.pop(0)
            body = json.dumps(payload).encode()
        else:
            body = json.dumps(
                {"__type": f"com.amazonaws.sqs#{error_type}", "message": "from the test"}
            ).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/x-amz-json-1.0")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def failing_endpoint() -> Iterator[http.server.ThreadingHTTPServer]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Failing)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.mark.parametrize(
    ("status", "error_type", "retryable"),
    [
        (503, "ServiceUnavailable", True),
        (500, "InternalError", True),
        (400, "RequestThrottled", True),
        (400, "QueueDoesNotExist", False),
        (403, "AccessDenied", False),
    ],
)
def test_server_errors_are_unavailable_when_retrying_helps_and_source_errors_otherwise(
    failing_endpoint: http.server.ThreadingHTTPServer, status: int, error_type: str, retryable: bool
) -> None:
    # Arrange: an endpoint that answers every call with this error.
    failing_endpoint.answer = (status, error_type)  # type: ignore[attr-defined]
    url = f"http://127.0.0.1:{failing_endpoint.server_address[1]}"
    chosen = {**options_without_server(), "queue_url": f"{url}/123456789012/q", "endpoint_url": url}

    # Act
    with build_source("sns", chosen) as source, pytest.raises(SourceError) as raised:
        source.fetch(None, timeout_s=1)

    # Assert: one attempt, classified by whether a later fetch may succeed.
    assert isinstance(raised.value, SourceUnavailableError) is retryable
    assert error_type in str(raised.value) and "ReceiveMessage" in str(raised.value)


def test_an_endpoint_that_does_not_answer_in_time_is_unavailable(
    failing_endpoint: http.server.ThreadingHTTPServer,
) -> None:
    failing_endpoint.answer = None  # type: ignore[attr-defined]
    url = f"http://127.0.0.1:{failing_endpoint.server_address[1]}"
    chosen = {
        **options_without_server(),
        "queue_url": f"{url}/123456789012/q",
        "endpoint_url": url,
        "wait_time_s": 0,
        "read_timeout_s": 0.5,
    }

    with build_source("sns", chosen) as source, pytest.raises(SourceUnavailableError, match="ReceiveMessage"):
        source.fetch(None, timeout_s=0)


def test_messages_received_before_a_later_receive_fails_are_returned_not_dropped(
    failing_endpoint: http.server.ThreadingHTTPServer,
) -> None:
    # Arrange: the first ReceiveMessage returns 10 messages, every later call fails with a 503.
    envelope = {
        "Type": "Notification",
        "MessageId": "",
        "Timestamp": "2024-03-01T10:00:00.000Z",
        "Message": json.dumps({"area": "DE", "price": 1.5, "delivery_start": "2024-03-02T01:00:00Z"}),
    }
    messages = [
        {
            "MessageId": f"sqs-{i}",
            "ReceiptHandle": f"r-{i}",
            "Body": json.dumps({**envelope, "MessageId": f"m-{i}"}),
        }
        for i in range(10)
    ]
    failing_endpoint.scripted = [(200, {"Messages": messages})]  # type: ignore[attr-defined]
    failing_endpoint.answer = (503, "ServiceUnavailable")  # type: ignore[attr-defined]
    url = f"http://127.0.0.1:{failing_endpoint.server_address[1]}"
    chosen = {**options_without_server(), "queue_url": f"{url}/123456789012/q", "endpoint_url": url}

    # Act
    with build_source("sns", {**chosen, "max_messages": 30}) as source:
        batch = source.fetch(None, timeout_s=1)

    # Assert
    assert batch.records["message_id"].to_pylist() == [f"m-{i}" for i in range(10)]
    assert batch.receipts == tuple(f"r-{i}" for i in range(10))


def test_missing_credentials_are_a_source_error_saying_what_to_set(
    s3_server: S3Server, topic: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")

    with build_source("sns", options(s3_server, topic)) as source, pytest.raises(SourceError) as raised:
        source.fetch(None, timeout_s=1)

    assert not isinstance(raised.value, SourceUnavailableError)
    assert "AWS_ACCESS_KEY_ID" in str(raised.value)


def test_a_restart_gets_back_exactly_the_unacked_messages_and_nothing_is_lost_or_doubled(
    s3_server: S3Server, topic: str
) -> None:
    # Arrange: 20 messages; the first source acks its first batch of 8 and "crashes" before acking the second.
    chosen = options(s3_server, topic, max_messages=8)
    first = build_source("sns", chosen)
    url = first.queue_url()  # type: ignore[attr-defined]
    ids = publish(s3_server, topic, [json.dumps(price(hour % 24, price=float(hour))) for hour in range(20)])
    acked = first.fetch(None, timeout_s=1)
    first.ack(acked)
    lost_in_crash = first.fetch(acked.cursor, timeout_s=1)
    first.close()
    assert (acked.records.num_rows, lost_in_crash.records.num_rows) == (8, 8)

    # Act: a new source on the same queue (a restarted poller) resumes from the cursor it saved.
    time.sleep(VISIBILITY_S + 0.5)
    restarted_options = {**chosen, "queue_url": url, "create_subscription": False}
    with build_source("sns", restarted_options) as restarted:
        after: list[SourceBatch] = []
        for _ in range(10):
            batch = restarted.fetch(lost_in_crash.cursor, timeout_s=1)
            if not batch.receipts:
                break
            after.append(batch)
            restarted.ack(batch)

    # Assert: the 12 never acked came back (the 8 the crash lost among them), the 8 acked did not.
    delivered_after = records_of(after)["message_id"].to_pylist()
    assert sorted(delivered_after) == sorted(set(ids) - set(acked.records["message_id"].to_pylist()))
    assert set(lost_in_crash.records["message_id"].to_pylist()) <= set(delivered_after)
    everything = pa.concat_tables([acked.records, lost_in_crash.records, records_of(after)])
    stored = unique_by_key(source_table(restarted.spec), everything)
    assert sorted(stored["message_id"].to_pylist()) == sorted(ids)


def test_the_documented_sources_file_example_is_a_valid_sns_source() -> None:
    # The example in the kind's docstring, parsed as a sources file and validated as the kind's options.
    doc = sns_package.__doc__ or ""
    example = textwrap.dedent(doc.split("::", 1)[1].split("Credentials", 1)[0])
    (entry,) = parse_sources(example)

    config = source_kind(entry.kind).config(entry.resolved_options({}))

    assert config.spec().records.key == ("area", "delivery_start", "issued_at", "message_id")
    assert config.spec().periods_per_day == 96


def test_a_batched_message_lands_as_one_record_per_element_with_the_message_id(
    s3_server: S3Server, topic: str, source: SnsSource
) -> None:
    # Arrange: one message carrying 24 records (a publisher's batch), and one plain message.
    batch = [price(hour, price=40.0 + hour) for hour in range(24)]
    batch_id, single_id = publish(s3_server, topic, [json.dumps(batch), json.dumps(price(5, area="FR"))])

    # Act
    batches = fetch_until(source, 2)

    # Assert
    records = records_of(batches)
    assert sum(len(b.receipts) for b in batches) == 2
    assert all(not b.rejected for b in batches)
    rows = records.to_pylist()
    batched = sorted((r for r in rows if r["message_id"] == batch_id), key=lambda r: r["delivery_start"])
    assert [r["price"] for r in batched] == [40.0 + hour for hour in range(24)]
    assert [r["delivery_start"] for r in batched] == [1_709_337_600_000_000 + h * HOUR_US for h in range(24)]
    assert len({r["published_us"] for r in batched}) == 1
    assert [r["area"] for r in rows if r["message_id"] == single_id] == ["FR"]
    assert unique_by_key(source_table(source.spec), records).num_rows == 25


def test_a_redelivered_batch_has_the_same_keys_and_is_stored_once(
    s3_server: S3Server, topic: str, source: SnsSource
) -> None:
    # Arrange
    (message_id,) = publish(s3_server, topic, [json.dumps([price(hour) for hour in range(10)])])
    first = records_of(fetch_until(source, 1))

    # Act: no ack (a poller crashed before it), then SQS delivers the message again.
    time.sleep(VISIBILITY_S + 0.5)
    second = records_of(fetch_until(source, 1))

    # Assert
    assert first.num_rows == second.num_rows == 10
    assert set(first["message_id"].to_pylist()) == set(second["message_id"].to_pylist()) == {message_id}
    stored = unique_by_key(source_table(source.spec), pa.concat_tables([first, second]))
    assert stored.num_rows == 10
    assert sorted(stored["delivery_start"].to_pylist()) == sorted(first["delivery_start"].to_pylist())


def test_an_element_repeated_within_a_batch_is_one_record(
    s3_server: S3Server, topic: str, source: SnsSource
) -> None:
    publish(s3_server, topic, [json.dumps([price(1), price(2), price(1)])])

    batches = fetch_until(source, 1)

    assert sorted(records_of(batches)["volume"].to_pylist()) == [11, 12]
    assert all(not b.rejected for b in batches)


def test_a_batch_with_two_values_for_one_key_is_dead_lettered_naming_both_elements(
    s3_server: S3Server, topic: str, source: SnsSource
) -> None:
    publish(s3_server, topic, [json.dumps([price(1, price=10.0), price(2), price(1, price=11.0)])])

    batches = fetch_until(source, 1)

    (rejected,) = [r for b in batches for r in b.rejected]
    assert records_of(batches).num_rows == 0
    assert "elements 0 and 2 have the same key" in rejected.reason
    assert "area='DE'" in rejected.reason


def test_a_batch_with_one_bad_element_is_dead_lettered_whole_naming_the_index_and_field(
    s3_server: S3Server, topic: str, source: SnsSource
) -> None:
    # Arrange: elements 0-2 and 4 are good, element 3 has a string volume; a good message beside it.
    bad = [price(hour) for hour in range(5)]
    bad[3]["volume"] = "13"
    bad_id, good_id = publish(s3_server, topic, [json.dumps(bad), json.dumps([price(6), price(7)])])

    # Act
    batches = fetch_until(source, 2)

    # Assert: nothing of the bad message is a record; its reason names the message, element and field.
    (rejected,) = [r for b in batches for r in b.rejected]
    assert rejected.reason == f"message {bad_id}: element 3: field 'volume': '13' is not an int64"
    assert json.loads(json.loads(rejected.payload)["Message"]) == bad
    records = records_of(batches)
    assert set(records["message_id"].to_pylist()) == {good_id}
    assert records.num_rows == 2

    for batch in batches:
        source.ack(batch)
    time.sleep(VISIBILITY_S + 0.5)
    assert source.fetch(None, timeout_s=1).receipts == ()


def test_a_batch_whose_element_is_not_an_object_is_dead_lettered_naming_the_index(
    s3_server: S3Server, topic: str, source: SnsSource
) -> None:
    publish(s3_server, topic, [json.dumps([price(1), 42])])

    batches = fetch_until(source, 1)

    (rejected,) = [r for b in batches for r in b.rejected]
    assert "element 1: 42 is not a JSON object" in rejected.reason
    assert records_of(batches).num_rows == 0
