"""The ``entsoe`` source: one ENTSO-E Transparency Platform query, caught up day by day, then kept open.

Cursor (JSON text)::

    {"next_day": "2026-11-30",            # first delivery day not yet caught up
     "now_us": 1796083200000000,          # the platform's clock (its Date header) at the last answer
     "validators": {"2026-11-30": ["<etag>", "<last-modified>"], ...},   # per open day
     "seen": {"2026-11-30": {"<series and period digest>": "<value>", ...}, ...}}

A document has ONE createdDateTime, the version time of every value in it, so every request asks one
delivery day (or ``days_per_request`` while catching up): a day asked alone keeps its own publication
time. While ``next_day`` is before the platform's today, each fetch asks the next days and says
``more``. Caught up, each poll asks the current and the next delivery day again, one request each,
conditional on that day's validators (day-ahead values for tomorrow appear today; forecasts are
re-issued): a point whose value did not change since the last delivered version is not delivered
again, a changed one is a new version (``published_us`` is its document's createdDateTime). Asked
together, today's values would carry tomorrow's later publication time. ``seen`` is kept for the days
that can still be asked again, so a restart from the cursor delivers exactly what is new. The day
boundaries are UTC days (:mod:`trading_assets.core.time` style, microseconds); the platform's documents
may cover more (it answers whole market days).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import pyarrow as pa

from resources.sources.base import Source, SourceBatch, SourceError
from resources.sources.entsoe.config import AREAS, DOMAIN_PARAMS, RECORDS, EntsoeConfig
from resources.sources.entsoe.documents import Rows, parse_document
from resources.sources.http import HttpClient, HttpResponse

log = logging.getLogger(__name__)

US_PER_DAY = 86_400_000_000
SEQUENCED_AREAS = frozenset({AREAS["DE_LU"], AREAS["AT"]})
_EPOCH_DAY = dt.date(1970, 1, 1)


def _day_of(time_us: int) -> dt.date:
    return _EPOCH_DAY + dt.timedelta(days=time_us // US_PER_DAY)


def _api_time(day: dt.date) -> str:
    """``YYYYMMDDHHMM`` of a day's start (UTC), as the API's periodStart/periodEnd take it."""
    return f"{day:%Y%m%d}0000"


@dataclass(frozen=True, slots=True, kw_only=True)
class EntsoeCursor:
    """Where an ``entsoe`` source resumes."""

    next_day: dt.date
    """First delivery day not yet caught up."""
    now_us: int | None = None
    """The platform's clock at its last answer (its ``Date`` header), microseconds."""
    validators: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)
    """Per open day: ETag and Last-Modified of its last answer (asked again conditionally)."""
    seen: dict[str, dict[str, str]] = field(default_factory=dict)
    """Per open day: digest of series and period -> value last delivered."""

    def dumps(self) -> str:
        """The cursor as JSON text."""
        return json.dumps(
            {
                "next_day": self.next_day.isoformat(),
                "now_us": self.now_us,
                "validators": {day: list(pair) for day, pair in self.validators.items()},
                "seen": self.seen,
            },
            sort_keys=True,
            separators=(",", ":"),
        )

    @classmethod
    def loads(cls, text: str | None, start: dt.date) -> EntsoeCursor:
        """The cursor ``text`` stands for (None: start at ``start``)."""
        if not text:
            return cls(next_day=start)
        try:
            raw = json.loads(text)
            return cls(
                next_day=dt.date.fromisoformat(raw["next_day"]),
                now_us=raw.get("now_us"),
                # A cursor of before the per-day requests has none: each open day is asked once in full.
                validators={day: (pair[0], pair[1]) for day, pair in (raw.get("validators") or {}).items()},
                seen={day: dict(points) for day, points in raw.get("seen", {}).items()},
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise SourceError(f"entsoe source: saved cursor is not an entsoe cursor: {text[:100]!r}") from exc


class EntsoeSource(Source):
    """Polls one ENTSO-E query (document type, process type, area)."""

    def __init__(
        self,
        config: EntsoeConfig,
        *,
        client: HttpClient | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.spec = config.spec()
        self.poll_interval_s = config.poll_interval_s
        self._client = client if client is not None else HttpClient(clock=clock)
        self._clock = clock

    def fetch(self, cursor: str | None, *, timeout_s: float) -> SourceBatch:
        """The new values of the next days to catch up, or of the open days once caught up."""
        state = EntsoeCursor.loads(cursor, self.config.start)
        now_us = state.now_us if state.now_us is not None else int(self._clock() * 1_000_000)
        today = _day_of(now_us)
        timeout = min(self.config.timeout_s, timeout_s) if timeout_s > 0 else self.config.timeout_s
        if state.next_day < today:
            first = state.next_day
            end = min(first + dt.timedelta(days=self.config.days_per_request), today)
            response = self._get(first, end, timeout, validators=None)
            answered_us = _server_us(response)
            new = replace(state, now_us=answered_us if answered_us is not None else now_us, next_day=end)
            return self._records(new, [response], state.seen, more=True)
        # Caught up: today and tomorrow, one request each (one createdDateTime per answer).
        days = [today + dt.timedelta(days=offset) for offset in (0, 1)]
        days = [day for day in days if day >= self.config.start]
        if not days:  # starts after tomorrow: nothing to ask yet
            return SourceBatch(records=RECORDS.schema.empty_table(), cursor=None)
        validators = dict(state.validators)
        responses: list[HttpResponse] = []
        server_us: int | None = None
        for day in days:
            response = self._get(
                day, day + dt.timedelta(days=1), timeout, validators=state.validators.get(day.isoformat())
            )
            answered_us = _server_us(response)
            server_us = answered_us if answered_us is not None else server_us
            if response.not_modified:
                continue  # nothing new: the validators just confirmed stay
            validators[day.isoformat()] = (response.etag, response.last_modified)
            responses.append(response)
        new_now = server_us if server_us is not None else now_us
        validators = {day: pair for day, pair in validators.items() if dt.date.fromisoformat(day) >= days[0]}
        new = replace(state, now_us=new_now, next_day=max(state.next_day, days[0]), validators=validators)
        # A saved clock from before a long stop asked an old window: the platform's Date says so.
        behind = server_us is not None and _day_of(server_us) > today
        return self._records(new, responses, state.seen, more=behind)

    def _get(
        self,
        first: dt.date,
        end: dt.date,
        timeout: float,
        *,
        validators: tuple[str | None, str | None] | None,
    ) -> HttpResponse:
        """The platform's answer for delivery days ``first`` to ``end`` (exclusive), conditional on
        ``validators`` (ETag, Last-Modified) when given."""
        etag, last_modified = validators or (None, None)
        response = self._client.get(
            self.config.url,
            timeout_s=timeout,
            params=self._params(first, end),
            etag=etag,
            last_modified=last_modified,
            handled_statuses=(400, 401, 403),
        )
        self._check_status(response)
        return response

    def _records(
        self,
        new: EntsoeCursor,
        responses: list[HttpResponse],
        seen: dict[str, dict[str, str]],
        *,
        more: bool,
    ) -> SourceBatch:
        """The batch of the values in ``responses`` not delivered before, with cursor ``new``."""
        tables: list[pa.Table] = []
        rejected = []
        keep_from = _day_of(new.now_us or 0) - dt.timedelta(days=1)
        for response in responses:
            rows = parse_document(
                response.body,
                area=self.config.area_code,
                document_type=self.config.document_type,
                process_type=self.config.process_type,
            )
            table, seen = self._new_versions(rows, seen, keep_from=keep_from)
            tables.append(table)
            rejected += rows.rejected
        if not responses:
            # Every answer unchanged (304): nothing new, ``seen`` as it was.
            return SourceBatch(records=RECORDS.schema.empty_table(), cursor=new.dumps(), more=more)
        if rejected:
            log.warning(
                "entsoe source %s: %d points rejected, first: %s",
                self.spec.name,
                len(rejected),
                rejected[0].reason,
            )
        records = pa.concat_tables(tables) if tables else RECORDS.schema.empty_table()
        return SourceBatch(
            records=records, cursor=replace(new, seen=seen).dumps(), rejected=tuple(rejected), more=more
        )

    def _params(self, first: dt.date, end: dt.date) -> dict[str, str]:
        config = self.config
        params = {"securityToken": config.security_token, "documentType": config.document_type}
        if config.process_type:
            params["processType"] = config.process_type
        for name in DOMAIN_PARAMS[config.document_type]:
            params[name] = config.area_code
        if config.document_type == "A44":
            params["contract_MarketAgreement.type"] = "A01"
            if config.area_code in SEQUENCED_AREAS:
                # These zones publish more than one auction's prices: ask for the SDAC's (as entsoe-py does).
                params["classificationSequence_AttributeInstanceComponent.position"] = "1"
        params["periodStart"] = _api_time(first)
        params["periodEnd"] = _api_time(end)
        return params

    def _check_status(self, response: HttpResponse) -> None:
        if response.status in (401, 403):
            raise SourceError(
                f"entsoe source {self.spec.name}: the platform refused the security token "
                f"(HTTP {response.status}); check the key given as security_token (ENTSOE_API_KEY)"
            )
        # 400 comes with an Acknowledgement_MarketDocument: parse_document reads its reason.

    def _new_versions(
        self, rows: Rows, seen: dict[str, dict[str, str]], *, keep_from: dt.date
    ) -> tuple[pa.Table, dict[str, dict[str, str]]]:
        """The rows whose value differs from the last delivered one, and the updated ``seen``."""
        updated = {
            day: dict(points) for day, points in seen.items() if dt.date.fromisoformat(day) >= keep_from
        }
        keep = []
        for i in range(len(rows)):
            day = _day_of(rows.period_start_us[i])
            digest = hashlib.blake2b(
                "|".join(
                    (
                        rows.area[i],
                        rows.document_type[i],
                        rows.process_type[i],
                        rows.business_type[i],
                        rows.psr_type[i],
                        str(rows.resolution_minutes[i]),
                        str(rows.period_start_us[i]),
                    )
                ).encode(),
                digest_size=6,
            ).hexdigest()
            value = repr(rows.value[i])
            day_seen = updated.get(day.isoformat()) if day >= keep_from else None
            if day_seen is not None and day_seen.get(digest) == value:
                continue  # the same value again (a re-sent document): not a new version
            keep.append(i)
            if day >= keep_from:
                updated.setdefault(day.isoformat(), {})[digest] = value
        columns = {name: getattr(rows, name) for name in RECORDS.schema.names}
        table = pa.table(columns, schema=RECORDS.schema)
        if len(keep) < len(rows):
            table = table.take(pa.array(keep, type=pa.int64()))
        return table, updated

    def close(self) -> None:
        """Close the HTTP connections."""
        self._client.close()


def _server_us(response: HttpResponse) -> int | None:
    moment = response.server_time
    return None if moment is None else int(moment * 1_000_000)
