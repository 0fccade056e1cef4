"""The restart state of streamers from before service instances: one JSON file per home.

Up to this version a streamer kept its restart state in ``$TRADEGRAPH_HOME/state/streamer.json``, keyed
by nothing but the home. An upgraded streamer that finds no state of its own instance takes from that
file the ids and gaps of *its own* venues and symbols, once (its next beat saves them under its
instance), so the restart across the upgrade loses nothing and never picks up another symbol set's ids.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from resources.service_state import RestartState, ServiceInstance, ServiceStateStore

log = logging.getLogger(__name__)


def legacy_state_path(home: Path) -> Path:
    """Where streamers before service instances kept their restart state."""
    return home / "state" / "streamer.json"


def legacy_state(home: Path, instance: ServiceInstance) -> RestartState | None:
    """The part of the legacy file that belongs to ``instance`` (its venues and symbols), or None."""
    path = legacy_state_path(home)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    mine = set(instance.symbols)
    last_ids = {
        venue: {s: int(i) for s, i in ids.items() if s in mine}
        for venue, ids in data.get("last_ids", {}).items()
        if venue in instance.venues
    }
    gaps = {
        venue: {s: [(int(a), int(b)) for a, b in ranges] for s, ranges in by_symbol.items() if s in mine}
        for venue, by_symbol in data.get("gaps", {}).items()
        if venue in instance.venues
    }
    state = RestartState(
        last_ids={v: ids for v, ids in last_ids.items() if ids}, gaps={v: g for v, g in gaps.items() if g}
    )
    if not state.last_ids and not state.gaps:
        return None
    log.info(
        "%s: resuming from the restart state in %s (from before service instances)", instance.label, path
    )
    return state


def migrate_legacy_state(store: ServiceStateStore, instance: ServiceInstance, home: Path) -> bool:
    """Save ``instance``'s part of the legacy file as its restart state, unless it has one; True if saved."""
    if store.restart_state(instance) is not None:
        return False
    state = legacy_state(home, instance)
    if state is None:
        return False
    store.save_restart_state(instance, state)
    return True
