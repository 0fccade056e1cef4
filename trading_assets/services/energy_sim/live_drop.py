"""The energy simulator's live FTP drop: intraday trade files published as the simulator's clock passes.

``tradegraph energy-sim`` serves the ENTSO-E API and this drop on the same clock (a :class:`ReplayClock`
running ``--speed`` times faster than the wall, or a test's :class:`ManualClock`), so the trades of a
delivery day appear on the FTP server while its day-ahead prices and forecasts appear on the API.

Each call of :meth:`ClockedDrop.publish_due` publishes every window of trade time that has ended by the
clock's now (one file per ``window_s``, :func:`.ftp_drop.trade_drops`), with the upload order of
:func:`.ftp_drop.publish_file` (data, then its ``.sha256`` sidecar). Delivery days are generated as
they are needed (trading for a day opens at 15:00 UTC the day before), starting at ``first_day``; a
window is published once, holding every trade executed in it whichever day it delivers in. The same
seed gives the same files (names and bytes), so a restarted simulator publishes nothing the ``ftp``
source would load twice.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from trading_assets.core.time import US_PER_SECOND, date_of
from trading_assets.services.energy_sim.ftp_drop import publish_file, trade_drops
from trading_assets.services.energy_sim.intraday_trades import intraday_trades

log = logging.getLogger(__name__)


class ClockedDrop:
    """Intraday trade files of delivery days from ``first_day`` on, dropped into ``root`` as ``clock`` passes."""

    def __init__(
        self,
        root: Path,
        *,
        clock: Callable[[], float],
        first_day: dt.date,
        seed: int = 7,
        area: str = "DE",
        trades_per_day: int = 20_000,
        window_s: int = 900,
    ) -> None:
        if window_s <= 0 or trades_per_day < 0:
            raise ValueError(
                f"window_s must be > 0 and trades_per_day >= 0, got {window_s}, {trades_per_day}"
            )
        self.root = root
        self.clock = clock
        self.seed = seed
        self.area = area
        self.trades_per_day = trades_per_day
        self.window_us = window_s * US_PER_SECOND
        self.window_s = window_s
        self.files = 0
        """Files published so far."""
        self.rows = 0
        """Trades in them."""
        self._next_day = first_day
        self._pending: pa.Table | None = None

    def publish_due(self) -> int:
        """Publish every window ended by the clock's now; the number of files published by this call."""
        now_us = int(self.clock() * US_PER_SECOND)
        cutoff = (now_us // self.window_us) * self.window_us
        # A window before the cutoff holds trades of its own day and the next one (trading opens the day
        # before delivery): both are generated before it is cut.
        last_needed = date_of(cutoff) + dt.timedelta(days=1)
        generated = []
        while self._next_day <= last_needed:
            generated.append(
                intraday_trades(self._next_day, seed=self.seed, area=self.area, trades=self.trades_per_day)
            )
            self._next_day += dt.timedelta(days=1)
        if generated:
            tables = [self._pending, *generated] if self._pending is not None else generated
            self._pending = pa.concat_tables(tables).sort_by(
                [("trade_time", "ascending"), ("trade_id", "ascending")]
            )
        if self._pending is None or self._pending.num_rows == 0:
            return 0
        due = pc.less(self._pending.column("trade_time"), pa.scalar(cutoff, pa.int64()))
        ready = self._pending.filter(due)
        if ready.num_rows == 0:
            return 0
        self._pending = self._pending.filter(pc.invert(due))
        self.root.mkdir(parents=True, exist_ok=True)
        drops = trade_drops(ready, area=self.area, window_s=self.window_s)
        for drop in drops:
            publish_file(self.root, drop)
            self.files += 1
            self.rows += drop.rows
        log.debug("ftp drop: published %d files up to %s", len(drops), cutoff)
        return len(drops)

    def run(self, stop: threading.Event, *, interval_s: float = 0.2) -> None:
        """Publish what is due every ``interval_s`` wall seconds until ``stop`` is set."""
        while True:
            try:
                self.publish_due()
            except OSError as exc:
                # A full disk or a removed directory: say so and keep trying (the next window retries).
                log.error("ftp drop: cannot publish into %s: %s", self.root, exc)
            if stop.wait(interval_s):
                return
