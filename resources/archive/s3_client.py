"""Plain S3 object operations on one bucket, with timeouts, retries and errors that name bucket and key.

Clients built here (:func:`make_client`) fail fast on a dead endpoint (connect timeout) and retry with
botocore's "standard" mode, which retries throttling, 5xx and connection errors only, with backoff.
:func:`resources.archive.factory.open_tick_archive` builds every archive client, for the CLI and the
Dagster resource alike.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlparse

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from resources.archive.base import ArchiveError

log = logging.getLogger(__name__)

T = TypeVar("T")
_NO_OBJECT = frozenset({"404", "NoSuchKey", "NotFound"})


class NoSuchObjectError(ArchiveError):
    """The object (not the bucket) does not exist."""


def client_config() -> Config:
    """Timeouts and retries for clients built here (5 retries, so at most 6 attempts per call)."""
    return Config(
        connect_timeout=5,
        read_timeout=60,
        retries={"mode": "standard", "max_attempts": 5},
        tcp_keepalive=True,
    )


def make_client(
    *,
    endpoint_url: str | None = None,
    region_name: str | None = None,
    aws_access_key_id: str | None = None,
    aws_secret_access_key: str | None = None,
    aws_session_token: str | None = None,
) -> Any:
    """A boto3 S3 client; credentials not given come from the standard AWS chain (env, profile, role)."""
    return boto3.session.Session().client(
        "s3",
        endpoint_url=endpoint_url,
        region_name=region_name,
        aws_access_key_id=aws_access_key_id,
        aws_secret_access_key=aws_secret_access_key,
        aws_session_token=aws_session_token,
        config=client_config(),
    )


def parse_s3_url(url: str) -> tuple[str, str]:
    """``s3://bucket/prefix`` -> (bucket, prefix without surrounding slashes)."""
    parsed = urlparse(url)
    if parsed.scheme != "s3" or not parsed.netloc:
        raise ValueError(f"{url!r} is not an S3 URL; e.g. s3://my-bucket/ticks")
    return parsed.netloc, parsed.path.strip("/")


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


class Bucket:
    """Object operations on one bucket through ``client``; every error is an :class:`ArchiveError`."""

    def __init__(self, client: Any, name: str) -> None:
        self.client = client
        self.name = name

    def uri(self, key: str) -> str:
        """``s3://bucket/key``."""
        return f"s3://{self.name}/{key}"

    def call(self, operation: str, key: str | None, call: Callable[..., T], **kwargs: Any) -> T:
        """Run one boto3 call; raise its errors as ArchiveError naming operation, bucket and key."""
        where = self.uri(key) if key is not None else f"s3://{self.name}"
        try:
            return call(**kwargs)
        except ClientError as exc:
            if _code(exc) in _NO_OBJECT and key is not None:
                raise NoSuchObjectError(f"S3 {operation} {where}: no such object") from exc
            hint = " (create it, e.g. with ensure_bucket())" if _code(exc) == "NoSuchBucket" else ""
            raise ArchiveError(f"S3 {operation} {where} failed{hint}: {exc}") from exc
        except BotoCoreError as exc:
            raise ArchiveError(f"S3 {operation} {where} failed: {exc}") from exc

    def head(self, key: str) -> dict[str, Any] | None:
        """The object's HEAD response, or None when it does not exist."""
        try:
            return dict(self.call("head", key, self.client.head_object, Bucket=self.name, Key=key))
        except NoSuchObjectError:
            return None

    def get(self, key: str) -> tuple[dict[str, Any], bytes]:
        """The GET response and the whole body (reading the body is wrapped too); NoSuchObjectError if absent."""

        def get() -> tuple[dict[str, Any], bytes]:
            response = self.client.get_object(Bucket=self.name, Key=key)
            return response, bytes(response["Body"].read())

        return self.call("get", key, get)

    def put(self, key: str, data: bytes, metadata: dict[str, str]) -> None:
        """Upload ``data`` as one object with user ``metadata``."""
        self.call(
            "upload",
            key,
            self.client.put_object,
            Bucket=self.name,
            Key=key,
            Body=data,
            Metadata=metadata,
            ContentType="application/vnd.apache.parquet",
        )

    def copy(self, source: str, target: str) -> None:
        """Server-side copy within the bucket, metadata included."""
        self.call(
            "copy",
            target,
            self.client.copy_object,
            Bucket=self.name,
            Key=target,
            CopySource={"Bucket": self.name, "Key": source},
            MetadataDirective="COPY",
        )

    def delete(self, key: str) -> None:
        """Delete an object (no error when it is absent)."""
        self.call("delete", key, self.client.delete_object, Bucket=self.name, Key=key)

    def keys(self, prefix: str) -> list[str]:
        """Every key under ``prefix`` (paginated LIST)."""
        paginator = self.client.get_paginator("list_objects_v2")
        pages = self.call("list", prefix, lambda: list(paginator.paginate(Bucket=self.name, Prefix=prefix)))
        return [item["Key"] for page in pages for item in page.get("Contents", [])]

    def ensure(self) -> None:
        """Create the bucket unless it exists."""
        try:
            self.client.head_bucket(Bucket=self.name)
            return
        except ClientError as exc:
            if _code(exc) not in _NO_OBJECT | {"NoSuchBucket"}:
                raise ArchiveError(f"S3 head bucket s3://{self.name} failed: {exc}") from exc
        except BotoCoreError as exc:
            raise ArchiveError(f"S3 head bucket s3://{self.name} failed: {exc}") from exc
        region = self.client.meta.region_name
        kwargs: dict[str, Any] = {"Bucket": self.name}
        if region and region != "us-east-1":  # us-east-1 rejects an explicit LocationConstraint
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
        try:
            self.client.create_bucket(**kwargs)
        except ClientError as exc:
            if _code(exc) != "BucketAlreadyOwnedByYou":  # a concurrent ensure won the race
                raise ArchiveError(f"S3 create bucket s3://{self.name} failed: {exc}") from exc
        except BotoCoreError as exc:
            raise ArchiveError(f"S3 create bucket s3://{self.name} failed: {exc}") from exc
        log.info("created bucket s3://%s", self.name)
