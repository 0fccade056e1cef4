"""The ``entsoe`` source: one ENTSO-E Transparency Platform query, caught up day by day, then kept open.

Cursor (JSON text)::

    {"next_day": "2026-11-30",            # first delivery day not yet caught up
     "now_us": 1796083200000000,          # the platform's clock (its Date header) at the last answer
     "etag": ..., "last_modified": ..., "validated": "2026-11-30/2026-12-02",
     "seen": {"2026-11-30": {"<series and period digest>": "<value>", ...}, ...}}

While ``next_day`` is before the platform's today, each fetch asks ``days_per_request`` days (one by
default: a document has one createdDateTime, the version time of every value in it, so a day asked alone
keeps its own publication time) and says ``more``. Caught up, each poll asks the current and next delivery day again (day-ahead values for
tomorrow appear today; forecasts are re-issued): a point whose value did not change since the last
delivered version is not delivered again, a changed one is a new version (``published_us`` is the
document's createdDateTime). ``seen`` is kept for the days that can still be asked again, so a restart
from the cursor delivers exactly what is new. The day boundaries are UTC days (:mod:`trading_assets.core.time`
style, microseconds); the platform's documents may cover more (it answers whole market days).
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
    etag: str | None = None
    """ETag of the last open-window answer."""
    last_modified: str | None = None
    """Last-Modified of the last open-window answer."""
    validated: str | None = None
    """The window (``first/end`` days) those validators belong to."""
    seen: dict[str, dict[str, str]] = field(default_factory=dict)
    """Per open day: digest of series and period -> value last delivered."""

    def dumps(self) -> str:
        """The cursor as JSON text."""
        return json.dumps(
            {
                "next_day": self.next_day.isoformat(),
                "now_us": self.now_us,
                "etag": self.etag,
                "last_modified": self.last_modified,
                "validated": self.validated,
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
                etag=raw.get("etag"),
                last_modified=raw.get("last_modified"),
                validated=raw.get("validated"),
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
        catching_up = state.next_day < today
        if catching_up:
            first = state.next_day
            end = min(first + dt.timedelta(days=self.config.days_per_request), today)
        else:
            first = max(today, self.config.start)
            end = today + dt.timedelta(days=2)
            if first >= end:  # starts after tomorrow: nothing to ask yet
                return SourceBatch(records=RECORDS.schema.empty_table(), cursor=None)
        window = f"{first.isoformat()}/{end.isoformat()}"
        conditional = not catching_up and state.validated == window
        response = self._client.get(
            self.config.url,
            timeout_s=timeout,
            params=self._params(first, end),
            etag=state.etag if conditional else None,
            last_modified=state.last_modified if conditional else None,
            handled_statuses=(400, 401, 403),
        )
        server_us = _server_us(response)
        new = replace(state, now_us=server_us if server_us is not None else now_us)
        # A saved clock from before a long stop asked an old window: the platform's Date says so.
        behind = server_us is not None and _day_of(server_us) > today
        if catching_up:
            new = replace(new, next_day=end)
        else:
            new = replace(
                new,
                next_day=max(state.next_day, first),
                etag=response.etag,
                last_modified=response.last_modified,
                validated=window,
            )
        if response.not_modified:
            # Nothing new: keep the validators that were just confirmed.
            new = replace(new, etag=state.etag, last_modified=state.last_modified)
            return SourceBatch(records=RECORDS.schema.empty_table(), cursor=new.dumps(), more=behind)
        self._check_status(response)
        rows = parse_document(
            response.body,
            area=self.config.area_code,
            document_type=self.config.document_type,
            process_type=self.config.process_type,
        )
        records, seen = self._new_versions(
            rows, state.seen, keep_from=_day_of(new.now_us or now_us) - dt.timedelta(days=1)
        )
        new = replace(new, seen=seen)
        if rows.rejected:
            log.warning(
                "entsoe source %s: %d points rejected, first: %s",
                self.spec.name,
                len(rows.rejected),
                rows.rejected[0].reason,
            )
        return SourceBatch(
            records=records, cursor=new.dumps(), rejected=tuple(rows.rejected), more=catching_up or behind
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
