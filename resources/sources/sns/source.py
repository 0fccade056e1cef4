"""The ``sns`` source: an SNS topic read through an SQS queue subscribed to it, with boto3.

SQS is the cursor: a received message stays in the queue, hidden for the visibility timeout, until
:meth:`SnsSource.ack` deletes it, which the poller does only after the records are on the bus and the
(unchanged) cursor is saved. A crash before that makes SQS deliver the message again; its SNS message id
is part of the record key, so the loader stores it once. A message may carry a batch of records (a JSON
array): all of them share its id, and the key (series, time, version and message id) still names each. Rejected messages are deleted on ack too: they
are in the dead letters by then.

Clients make one attempt per call (``retries={"max_attempts": 1}``): the poller owns retries and backoff
(:class:`SourceUnavailableError`), and a long poll retried inside botocore could run past the fetch's
timeout. A failed DeleteMessageBatch is harmless for data (the messages come back and are deduplicated
by key) but raised, so it is counted and seen.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import boto3
import pyarrow as pa
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, HTTPClientError, NoCredentialsError
from botocore.exceptions import ConnectionError as BotoConnectionError

from resources.sources.base import (
    Rejected,
    Source,
    SourceBatch,
    SourceError,
    SourceUnavailableError,
)
from resources.sources.sns.config import SQS_MAX_PER_RECEIVE, SnsConfig
from resources.sources.sns.messages import BadMessage, parse_message, rejected

log = logging.getLogger(__name__)

_RETRYABLE_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottled",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ServiceUnavailable",
        "InternalError",
        "InternalFailure",
        "KMS.ThrottlingException",
    }
)


def _client_config(config: SnsConfig) -> Config:
    return Config(
        region_name=config.region,
        connect_timeout=config.connect_timeout_s,
        # A long poll holds the response for up to wait_time_s before the first byte.
        read_timeout=config.wait_time_s + config.read_timeout_s,
        retries={"mode": "standard", "max_attempts": 1},
    )


def _queue_policy(queue_arn: str, topic_arn: str) -> str:
    """The queue policy that lets the topic (and only it) send messages to the queue."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "tradegraph-sns-to-sqs",
                    "Effect": "Allow",
                    "Principal": {"Service": "sns.amazonaws.com"},
                    "Action": "sqs:SendMessage",
                    "Resource": queue_arn,
                    "Condition": {"ArnEquals": {"aws:SourceArn": topic_arn}},
                }
            ],
        }
    )


class SnsSource(Source):
    """Records of an SNS topic, received from its SQS subscription (see the module docstring)."""

    def __init__(self, config: SnsConfig, *, session: boto3.session.Session | None = None) -> None:
        self.config = config
        self.spec = config.spec()
        # Credentials come from boto3's chain (environment, profile, instance role), never from the config.
        chosen = session or boto3.session.Session()
        client_config = _client_config(config)
        self._sqs: Any = chosen.client("sqs", endpoint_url=config.endpoint_url, config=client_config)
        self._sns: Any = chosen.client("sns", endpoint_url=config.endpoint_url, config=client_config)
        self._queue_url: str | None = config.queue_url

    def _call(self, what: str, call: Any, **kwargs: Any) -> Any:
        """``call(**kwargs)`` with boto3's errors raised as source errors naming the source and ``what``."""
        where = f"source {self.spec.name}: {what}"
        try:
            return call(**kwargs)
        except NoCredentialsError as exc:
            raise SourceError(f"{where}: no AWS credentials (set AWS_ACCESS_KEY_ID or a profile)") from exc
        except (BotoConnectionError, HTTPClientError) as exc:
            # Connection refused or timed out, read timed out, connection closed mid-answer.
            raise SourceUnavailableError(
                f"{where}: cannot reach {self.config.endpoint_url or 'AWS'}: {exc}"
            ) from exc
        except ClientError as exc:
            error = exc.response.get("Error", {})
            code = str(error.get("Code", ""))
            status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
            if code in _RETRYABLE_CODES or status == 429 or status >= 500:
                raise SourceUnavailableError(
                    f"{where}: {code} (HTTP {status}): {error.get('Message')}"
                ) from exc
            raise SourceError(f"{where}: {code} (HTTP {status}): {error.get('Message')}") from exc
        except BotoCoreError as exc:
            raise SourceError(f"{where}: {exc}") from exc

    def queue_url(self) -> str:
        """The queue's URL; with ``create_subscription`` creates queue, policy and subscription first."""
        if self._queue_url is not None:
            return self._queue_url
        config = self.config
        assert config.queue_name is not None  # the config requires queue_url or queue_name
        if not config.create_subscription:
            found = self._call("GetQueueUrl", self._sqs.get_queue_url, QueueName=config.queue_name)
            self._queue_url = str(found["QueueUrl"])
            return self._queue_url
        assert config.topic_arn is not None  # the config requires it with create_subscription
        url = str(self._call("CreateQueue", self._sqs.create_queue, QueueName=config.queue_name)["QueueUrl"])
        arn = self._call(
            "GetQueueAttributes", self._sqs.get_queue_attributes, QueueUrl=url, AttributeNames=["QueueArn"]
        )["Attributes"]["QueueArn"]
        self._call(
            "SetQueueAttributes",
            self._sqs.set_queue_attributes,
            QueueUrl=url,
            Attributes={"Policy": _queue_policy(arn, config.topic_arn)},
        )
        # Subscribe is idempotent for the same topic, protocol, endpoint and attributes.
        self._call(
            "Subscribe",
            self._sns.subscribe,
            TopicArn=config.topic_arn,
            Protocol="sqs",
            Endpoint=arn,
            Attributes={"RawMessageDelivery": "true" if config.raw_message_delivery else "false"},
            ReturnSubscriptionArn=True,
        )
        log.info("source %s: subscribed queue %s to %s", self.spec.name, arn, config.topic_arn)
        self._queue_url = url
        return url

    def _receive(self, url: str, count: int, wait_s: int) -> list[dict[str, Any]]:
        kwargs: dict[str, Any] = {
            "QueueUrl": url,
            "MaxNumberOfMessages": count,
            "WaitTimeSeconds": wait_s,
            "MessageSystemAttributeNames": ["SentTimestamp"],
        }
        if self.config.visibility_timeout_s is not None:
            kwargs["VisibilityTimeout"] = self.config.visibility_timeout_s
        return list(self._call("ReceiveMessage", self._sqs.receive_message, **kwargs).get("Messages", []))

    def fetch(self, cursor: str | None, *, timeout_s: float) -> SourceBatch:
        """Up to ``max_messages`` messages: the first receive long-polls (at most ``wait_time_s`` and
        ``timeout_s``), the rest take what is ready now. The cursor is handed back unchanged."""
        deadline = time.monotonic() + max(timeout_s, 0.0)
        url = self.queue_url()
        messages: list[dict[str, Any]] = []
        wait_s = max(0, min(self.config.wait_time_s, int(timeout_s)))
        more = False
        while len(messages) < self.config.max_messages:
            want = min(SQS_MAX_PER_RECEIVE, self.config.max_messages - len(messages))
            try:
                received = self._receive(url, want, wait_s)
            except SourceUnavailableError as exc:
                if not messages:
                    raise
                # Hand over what was received: dropping it would only delay it by the visibility timeout.
                log.warning(
                    "source %s: %s; returning the %d messages received", self.spec.name, exc, len(messages)
                )
                break
            messages += received
            wait_s = 0
            if len(received) < want:
                break
            if time.monotonic() >= deadline:
                more = True
                break
        else:
            more = True
        return self._batch(cursor, messages, more=more)

    def _batch(self, cursor: str | None, messages: list[dict[str, Any]], *, more: bool) -> SourceBatch:
        records: list[dict[str, object]] = []
        bad: list[Rejected] = []
        for message in messages:
            try:
                records += parse_message(self.config, message, key=self.spec.records.key)
            except BadMessage as exc:
                bad.append(rejected(message, str(exc)))
        schema = self.spec.records.schema
        table = pa.Table.from_pylist(records, schema=schema) if records else schema.empty_table()
        return SourceBatch(
            records=table,
            cursor=cursor,
            rejected=tuple(bad),
            receipts=tuple(str(m["ReceiptHandle"]) for m in messages),
            more=more,
        )

    def ack(self, batch: SourceBatch) -> None:
        """Delete the batch's messages (records and rejected ones alike), 10 per DeleteMessageBatch.

        Raises :class:`SourceError` listing the entries SQS did not delete (they will be delivered again
        and stored once); :class:`SourceUnavailableError` when SQS cannot be reached.
        """
        if not batch.receipts:
            return
        url = self.queue_url()
        failed: list[str] = []
        receipts = list(batch.receipts)
        for start in range(0, len(receipts), SQS_MAX_PER_RECEIVE):
            chunk = receipts[start : start + SQS_MAX_PER_RECEIVE]
            entries = [{"Id": str(index), "ReceiptHandle": handle} for index, handle in enumerate(chunk)]
            answer = self._call(
                "DeleteMessageBatch", self._sqs.delete_message_batch, QueueUrl=url, Entries=entries
            )
            failed += [f"{entry.get('Code')}: {entry.get('Message')}" for entry in answer.get("Failed", [])]
        if failed:
            raise SourceError(
                f"source {self.spec.name}: SQS did not delete {len(failed)} of {len(receipts)} messages "
                f"({'; '.join(failed[:3])}); they will be delivered again and stored once"
            )

    def close(self) -> None:
        """Close the HTTP connection pools of both clients."""
        self._sqs.close()
        self._sns.close()
