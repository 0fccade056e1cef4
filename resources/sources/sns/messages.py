"""SQS messages of an SNS subscription -> records: unwrap the SNS envelope, check and convert the fields.

With the default (enveloped) delivery an SQS message body is SNS's JSON envelope: ``Type`` is
``Notification``, ``MessageId`` names the published message (the same id on every SQS redelivery),
``Timestamp`` is when SNS accepted it and ``Message`` is the published text: a JSON object with one
record's fields, or a JSON array of such objects (a publisher's batch of records in one message, as SNS
publishers do to stay within its request rates; up to SNS's 256 KB a message). With raw message
delivery the body is the published text itself and the SQS message id and ``SentTimestamp`` attribute
stand in for the envelope's. Fields are converted strictly (:func:`resources.sources.columns.value_of`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from resources.sources.base import Rejected
from resources.sources.columns import BadValue, strict_time_us, value_of
from resources.sources.sns.config import MESSAGE_ID, PUBLISHED_US, SnsConfig


class BadMessage(ValueError):
    """A message that cannot become a record; the text names the field and the value."""


def _envelope(
    body: str, attributes: Mapping[str, str], sqs_message_id: str, raw: bool
) -> tuple[str, int, str]:
    """(message id, published us, published text) of one SQS message body."""
    if raw:
        sent_ms = attributes.get("SentTimestamp")
        if sent_ms is None or not sent_ms.isdigit():
            raise BadMessage(f"SQS attribute 'SentTimestamp': {sent_ms!r} is not epoch milliseconds")
        return sqs_message_id, int(sent_ms) * 1_000, body
    try:
        envelope = json.loads(body)
    except ValueError:
        raise BadMessage(
            f"body {body[:80]!r} is not an SNS envelope (JSON); is raw_message_delivery set?"
        ) from None
    if not isinstance(envelope, dict) or envelope.get("Type") != "Notification":
        kind = envelope.get("Type") if isinstance(envelope, dict) else type(envelope).__name__
        hint = " (confirm the subscription at its SubscribeURL)" if kind == "SubscriptionConfirmation" else ""
        raise BadMessage(f"envelope field 'Type': {kind!r} is not 'Notification'{hint}")
    message_id, message = envelope.get("MessageId"), envelope.get("Message")
    if not isinstance(message_id, str) or not message_id:
        raise BadMessage(f"envelope field 'MessageId': {message_id!r} is not a message id")
    if not isinstance(message, str):
        raise BadMessage(f"envelope field 'Message': {message!r} is not text")
    try:
        published = strict_time_us(envelope.get("Timestamp"), field="Timestamp", epoch_unit="s")
    except BadValue as exc:
        raise BadMessage(f"envelope {exc}") from None
    return message_id, published, message


def _record(config: SnsConfig, fields: object) -> dict[str, object]:
    """The value and time columns of one published JSON object; :class:`BadMessage` naming the field."""
    if not isinstance(fields, dict):
        raise BadMessage(f"{json.dumps(fields)[:80]} is not a JSON object")
    typed: dict[str, str] = {**config.columns, config.time_column: "time"}
    if config.version_field is not None:
        typed[config.version_field] = "time"
    try:
        return {
            name: value_of(kind, fields.get(name), field=name, strict=True, epoch_unit=config.epoch_unit)
            for name, kind in typed.items()
        }
    except BadValue as exc:
        raise BadMessage(str(exc)) from None


def _one_per_key(key: tuple[str, ...], records: list[dict[str, object]]) -> list[dict[str, object]]:
    """``records`` with repeats of an element dropped; :class:`BadMessage` when two elements share a key
    but not their values (the store keeps one row per key, so one of them would be silently lost)."""
    first_at: dict[tuple[object, ...], int] = {}
    kept: list[dict[str, object]] = []
    for index, record in enumerate(records):
        identity = tuple(record[column] for column in key)
        earlier = first_at.setdefault(identity, index)
        if earlier == index:
            kept.append(record)
        elif records[earlier] != record:
            named = ", ".join(f"{column}={value!r}" for column, value in zip(key, identity, strict=True))
            raise BadMessage(
                f"elements {earlier} and {index} have the same key ({named}) but different values; "
                "a batch holds one value per key"
            )
    return kept


def parse_message(
    config: SnsConfig, message: Mapping[str, Any], *, key: tuple[str, ...]
) -> list[dict[str, object]]:
    """The records one SQS message carries: one for a JSON object, one per element for a JSON array
    (a publisher's batch; every element gets the message's id and publish time).

    ``key`` is the record key (:attr:`RecordSchema.key`): elements repeated within the message are kept
    once, two elements with one key and different values make the message bad.
    Raises :class:`BadMessage` naming the message, the element's index and the field when any part of it
    cannot become a record: the whole message is then dead-lettered, never part of it.
    """
    body = message.get("Body", "")
    message_id, published_us, text = _envelope(
        body, message.get("Attributes", {}), message.get("MessageId", ""), config.raw_message_delivery
    )
    try:
        fields = json.loads(text)
    except ValueError:
        raise BadMessage(f"message {message_id}: {text[:80]!r} is not JSON") from None
    try:
        if isinstance(fields, list):
            records = []
            for index, element in enumerate(fields):
                try:
                    records.append(_record(config, element))
                except BadMessage as exc:
                    raise BadMessage(f"element {index}: {exc}") from None
        elif isinstance(fields, dict):
            records = [_record(config, fields)]
        else:
            raise BadMessage(f"{text[:80]!r} is neither a JSON object nor an array of objects")
        for record in records:
            record[MESSAGE_ID] = message_id
            record[PUBLISHED_US] = published_us
        return _one_per_key(key, records)
    except BadMessage as exc:
        raise BadMessage(f"message {message_id}: {exc}") from None


def rejected(message: Mapping[str, Any], reason: str) -> Rejected:
    """The dead letter of a message that could not become a record."""
    return Rejected(payload=str(message.get("Body", "")).encode(), reason=reason)
