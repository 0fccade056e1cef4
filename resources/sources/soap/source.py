"""The soap source: one operation of a SOAP service (zeep), called with a cursor, items mapped to typed columns.

Incremental fetching: the cursor is the largest value of ``cursor_column`` delivered so far (e.g. the
publication time) plus the keys of the records delivered at exactly that value. The next call passes it
as ``cursor_argument`` (``since``), which the service treats as inclusive, so records published in the
same instant after the last call are not lost; the ones already delivered at that instant are dropped
here, so an idle poll delivers nothing. A repeat after a crash is removed by the loader by key.

Failures: a SOAP fault is a :class:`SourceError` carrying the fault string; connection errors, timeouts,
HTTP 5xx and 429 are :class:`SourceUnavailableError` (with ``Retry-After`` when the service sent one).
The WSDL is loaded on the first fetch, so a service that is down at start is just unavailable.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import requests
import zeep
import zeep.exceptions
import zeep.helpers
from zeep.transports import Transport

from resources.sources.base import Rejected, Source, SourceBatch, SourceError, SourceUnavailableError
from resources.sources.columns import RowBuilder
from resources.sources.soap.config import SoapConfig
from resources.sources.soap.cursor import SoapCursor

log = logging.getLogger(__name__)

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


class _Transport(Transport):
    """zeep's transport, remembering the last response's ``Retry-After`` (zeep's errors drop headers)."""

    retry_after_s: float | None = None

    def post(self, address: str, message: Any, headers: Any) -> requests.Response:
        response = super().post(address, message, headers)
        self.retry_after_s = _retry_after(response.headers.get("Retry-After"))
        return response


class SoapSource(Source):
    """One SOAP operation polled with a cursor argument (see the module docstring)."""

    def __init__(self, config: SoapConfig) -> None:
        self.config = config
        self.spec = config.spec()
        self._transport: _Transport | None = None
        self._client: zeep.Client | None = None

    def fetch(self, cursor: str | None, *, timeout_s: float) -> SourceBatch:
        """The items the operation returns after ``cursor`` (one call), and the cursor after them."""
        config = self.config
        state = SoapCursor.parse(cursor, source=config.name)
        arguments: dict[str, Any] = dict(config.arguments)
        if config.cursor_argument is not None:
            value = self._cursor_argument(state)
            if value is not None:
                arguments[config.cursor_argument] = value
        items = self._call(arguments)
        builder = RowBuilder(config.columns)
        rejected: list[Rejected] = []
        for index, item in enumerate(items):
            plain = zeep.helpers.serialize_object(item, target_cls=dict)
            values = {column: _path(plain, config.fields.get(column, column)) for column in config.columns}
            problem = builder.add(values)
            if problem is not None:
                payload = json.dumps(plain, default=str, sort_keys=True).encode()
                rejected.append(
                    Rejected(payload=payload, reason=f"{config.operation} item {index}: {problem}")
                )
        records, next_state = state.advance(
            builder.table(), cursor_column=config.cursor_column, key=config.key
        )
        progressed = next_state.since != state.since
        return SourceBatch(
            records=records,
            cursor=next_state.dump() if config.cursor_column is not None else None,
            rejected=tuple(rejected),
            more=config.page_size is not None and len(items) >= config.page_size and progressed,
        )

    def _cursor_argument(self, state: SoapCursor) -> Any:
        if state.since is None:
            return self.config.cursor_start
        if self.config.cursor_is_time:
            return _EPOCH + dt.timedelta(microseconds=state.since)
        return state.since

    def _call(self, arguments: Mapping[str, Any]) -> Sequence[Any]:
        config = self.config
        client = self._load()
        with self._errors(f"call {config.operation}"):
            service = client.bind(config.service, config.port) if config.service else client.service
            try:
                operation = getattr(service, config.operation)
            except AttributeError as exc:
                raise SourceError(
                    f"soap source {config.name}: the WSDL has no operation {config.operation!r}"
                ) from exc
            result = operation(**arguments)
        for step in config.result_path:
            if result is None:
                break
            result = result[step] if isinstance(result, Mapping) else getattr(result, step, None)
        if result is None:
            return []
        return list(result) if isinstance(result, list | tuple) else [result]

    def _load(self) -> zeep.Client:
        if self._client is None:
            self._transport = _Transport(
                timeout=self.config.timeout_s, operation_timeout=self.config.timeout_s
            )
            with self._errors(f"load the WSDL {self.config.wsdl}"):
                self._client = zeep.Client(self.config.wsdl, transport=self._transport)
        return self._client

    @contextlib.contextmanager
    def _errors(self, what: str) -> Iterator[None]:
        where = f"soap source {self.config.name}: {what}"
        try:
            yield
        except zeep.exceptions.Fault as exc:
            raise SourceError(f"{where}: SOAP fault {exc.code}: {exc.message}") from exc
        except zeep.exceptions.TransportError as exc:
            retry_after = self._transport.retry_after_s if self._transport is not None else None
            if exc.status_code >= 500 or exc.status_code == 429:
                raise SourceUnavailableError(
                    f"{where}: HTTP {exc.status_code}", retry_after_s=retry_after
                ) from exc
            raise SourceError(f"{where}: HTTP {exc.status_code}: {exc.message}") from exc
        except requests.HTTPError as exc:  # loading the WSDL
            status = exc.response.status_code if exc.response is not None else 0
            if status >= 500 or status == 429:
                retry_after = _retry_after(
                    exc.response.headers.get("Retry-After") if exc.response is not None else None
                )
                raise SourceUnavailableError(f"{where}: HTTP {status}", retry_after_s=retry_after) from exc
            raise SourceError(f"{where}: HTTP {status}") from exc
        except (requests.Timeout, requests.ConnectionError) as exc:
            raise SourceUnavailableError(f"{where}: {type(exc).__name__}: {exc}") from exc
        except zeep.exceptions.Error as exc:
            raise SourceError(f"{where}: {type(exc).__name__}: {exc}") from exc
        except (TypeError, ValueError) as exc:
            # zeep raises these for arguments the operation does not take or values of the wrong type.
            raise SourceError(f"{where}: bad arguments: {exc}") from exc

    def close(self) -> None:
        """Close the HTTP session."""
        if self._transport is not None:
            self._transport.session.close()
        self._client = None
        self._transport = None


def _path(item: object, dotted: str) -> object:
    """The value at ``dotted`` (``a.b``) in a serialized item, None when it is not there."""
    value = item
    for part in dotted.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def _retry_after(value: str | None) -> float | None:
    try:
        return None if value is None else max(0.0, float(value))
    except ValueError:
        return None
