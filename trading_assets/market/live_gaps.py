"""What the streamers found and filled live for a day, as seal metadata beside what the seal found itself.

The seal only sees the day as stored, so gaps the streamers closed while streaming are invisible to it;
they are recorded in the service state (:meth:`resources.service_state.ServiceStateStore.gap_fills`).
"""

import datetime as dt
import logging

import dagster as dg

from resources.service_state import LiveGapFill, ServiceStateUnavailableError
from resources.service_state.resource import ServiceStateResource

log = logging.getLogger(__name__)


def live_gaps_by_symbol(fills: list[LiveGapFill]) -> dict[str, dict[str, int]]:
    """Per ``venue:symbol``: gaps, ids missing in them, ids filled."""
    per_symbol: dict[str, dict[str, int]] = {}
    for fill in fills:
        entry = per_symbol.setdefault(f"{fill.venue}:{fill.symbol}", {"gaps": 0, "missing": 0, "filled": 0})
        entry["gaps"] += 1
        entry["missing"] += fill.missing
        entry["filled"] += fill.filled
    return per_symbol


def live_gap_metadata(service_state: ServiceStateResource, day: dt.date) -> dict[str, dg.MetadataValue]:
    """Seal metadata of the gaps streamers filled live on ``day`` (a note when the state is unreachable)."""
    try:
        with service_state.open() as state:
            fills = state.gap_fills(day)
    except ServiceStateUnavailableError as exc:
        # The seal's own figures still stand; only this report is missing.
        log.warning("live gap fills of %s unknown: %s", day, exc)
        return {"live_gaps_filled": dg.MetadataValue.text(f"unknown: {exc}")}
    return {
        "live_gaps_filled": dg.MetadataValue.int(len(fills)),
        "live_ids_missing": dg.MetadataValue.int(sum(f.missing for f in fills)),
        "live_ids_filled": dg.MetadataValue.int(sum(f.filled for f in fills)),
        "live_gaps_by_symbol": dg.MetadataValue.json(live_gaps_by_symbol(fills)),
    }
