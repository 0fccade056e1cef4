"""``tradegraph rehydrate``: copy an archived day back into the tick store (after retention dropped it)."""

from __future__ import annotations

import argparse
import sys
from contextlib import closing

from trading_assets.core.settings import Settings


def _cmd_rehydrate(args: argparse.Namespace, settings: Settings) -> int:
    from resources.archive.base import DayNotArchivedError
    from resources.archive.factory import TickArchiveConfig, open_tick_archive
    from resources.tick_store.factory import TickStoreConfig, open_tick_store
    from trading_assets.archive.reader import TickReader
    from trading_assets.core.time import parse_day

    try:
        day = parse_day(args.day)
    except ValueError as exc:
        print(f"tradegraph rehydrate: --day {args.day!r}: {exc}", file=sys.stderr)
        return 2
    with (
        open_tick_store(TickStoreConfig.from_settings(settings)) as store,
        closing(open_tick_archive(TickArchiveConfig.from_settings(settings))) as archive,
    ):
        try:
            rows = TickReader(store, archive).rehydrate(day)
        except DayNotArchivedError as exc:
            print(f"tradegraph rehydrate: {exc}", file=sys.stderr)
            return 1
    print(f"rehydrated {day}: the store holds {rows:,} ticks of it (sealed)")
    return 0


def add_rehydrate_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``tradegraph rehydrate`` to the CLI's subcommands."""
    parser = sub.add_parser(
        "rehydrate",
        help="copy an archived day back into the tick store and seal it",
        description="Reads the day from the archive (TRADEGRAPH_ARCHIVE), inserts it into the tick store and "
        "seals it. Idempotent: a day rehydrated twice, or still partly in the store, holds each trade once. "
        "Retention drops it again once it is older than TRADEGRAPH_HOT_RETENTION_DAYS.",
    )
    parser.add_argument("--day", required=True, help="UTC day, YYYY-MM-DD")
    parser.set_defaults(handler=_cmd_rehydrate)
