"""The ftp and soap kinds' servers for ``bench/sources.py``: groups like those in ``bench/source_servers.py``.

- :class:`FtpDrops`: the energy simulator's FTP drop (pyftpdlib on 127.0.0.1), one directory per source,
  each a stream of intraday-trade files (one per 15 minutes of trade time) published at the replay
  speed with the real upload order (``.part``, rename, sidecar last). Datapoints: trades. The run
  replays the first hours of a day, when intraday trading is quiet; the simulated days hold as many
  more trades than ``per_day`` as it takes for those hours to carry ``per_day`` a day's rate.
- :class:`SoapPrices`: the spyne price service of ``testkit/soap_prices.py``, one area per source, prices
  published in batches of ten at the source's rate. Datapoints: price items.

Each is a :class:`bench.source_groups.ServerGroup`, and its sources say how many datapoints their server
produced (the benchmark's ground truth).
"""

from __future__ import annotations

import datetime as dt
import math
import threading
import time
from pathlib import Path

from bench.source_groups import SECONDS_PER_DAY, BenchSource, ServerGroup, bench_source
from testkit.soap_prices import Price, SoapPriceService
from trading_assets.core.time import day_start_us
from trading_assets.services.energy_sim.ftp_drop import DropFile, DropReplay, FtpDropServer, replay_drops
from trading_assets.services.energy_sim.intraday_trades import CSV_COLUMNS

_FIRST_DAY = dt.date(2026, 3, 1)
_WINDOW_US = 900_000_000
"""Trade time one drop file covers (``replay_drops``'s default window)."""


class FtpDrops(ServerGroup):
    """FTP drop sources: intraday trades of one area each, dropped as files at the replay speed."""

    def __init__(self, workdir: Path, count: int, *, per_day: int, speed: float, seconds_hint: float) -> None:
        self.root = workdir / "ftp"
        self.count = count
        self.per_day = per_day
        self.speed = speed
        self.seconds_hint = seconds_hint
        self.server = FtpDropServer(self.root, user="bench", password="bench")
        self.replays: list[DropReplay] = []
        self.producers = self.replays
        self.trades_per_day = [per_day] * count
        self.note = ""
        """Trades each source's days hold (``per_day`` or more, see :meth:`start`)."""

    def start(self) -> None:
        self.server.start()
        # Enough replayed time for the run, from a day whose trading is in full swing (trading for a day
        # starts the afternoon before, so the first replayed day is only the warm-up).
        days = math.ceil(self.seconds_hint * self.speed / SECONDS_PER_DAY) + 2
        start_us = day_start_us(_FIRST_DAY + dt.timedelta(days=1))
        wanted = self.per_day * self._run_trade_seconds / SECONDS_PER_DAY
        for index in range(self.count):
            area = f"A{index:02d}"
            # The run replays only part of a day, from midnight, when the intraday market is quiet (about
            # 60 % of the day's average rate): a denser day makes that part carry ``per_day`` a day's rate.
            # The simulated trades are random, so a denser day is drawn again until it does (bounded);
            # 2 % over, as the run produces a little longer than ``seconds_hint`` and files land whole.
            drops = self._drops(index, area, days, start_us, self.per_day)
            for _ in range(4):
                ratio = self._run_rows(drops, start_us) / wanted
                if ratio >= 1.02:
                    break
                self.trades_per_day[index] = math.ceil(self.trades_per_day[index] / ratio * 1.03)
                drops = self._drops(index, area, days, start_us, self.trades_per_day[index])
            # The pollers list the directory from their start, before anything is dropped.
            (self.root / area.lower()).mkdir(parents=True, exist_ok=True)
            self.replays.append(DropReplay(self.root / area.lower(), drops, speed=self.speed))
        self.note = (
            f"ftp: days of {min(self.trades_per_day):,}-{max(self.trades_per_day):,} trades, so that the "
            f"{self._run_trade_seconds / 3600:.1f} h of quiet early trading replayed carry {self.per_day:,} a day's rate"
        )

    @property
    def _run_trade_seconds(self) -> float:
        """Trade time the run replays."""
        return self.seconds_hint * self.speed

    def _run_rows(self, drops: list[DropFile], start_us: int) -> int:
        """Trades in the files the run publishes (the first at once, then one per window)."""
        end_us = start_us + round(self._run_trade_seconds * 1e6)
        return sum(drop.rows for drop in drops if drop.window_end_us <= end_us + _WINDOW_US)

    @staticmethod
    def _drops(index: int, area: str, days: int, start_us: int, per_day: int) -> list[DropFile]:
        return [
            drop
            for drop in replay_drops(_FIRST_DAY, days, seed=index, area=area, trades_per_day=per_day)
            if drop.window_start_us >= start_us
        ]

    def sources(self) -> list[BenchSource]:
        made = []
        for index, replay in enumerate(self.replays):
            name = f"ftp_trades_{index}"
            source = bench_source(
                name,
                "ftp",
                {
                    "host": self.server.host,
                    "port": self.server.port,
                    "user": self.server.user,
                    "password": self.server.password,
                    "directory": f"/{replay.root.name}",
                    "pattern": "intraday_trades_*.csv",
                    "time_column": "trade_time",
                    "series": ["area", "product"],
                    "timeout_s": 10,
                    "columns": CSV_COLUMNS,
                },
                lambda r=replay: r.rows,
            )
            made.append(source)
        return made

    def produce(self) -> None:
        for replay in self.replays:
            replay.root.mkdir(parents=True, exist_ok=True)
        super().produce()

    def stop_servers(self) -> None:
        self.server.stop()


class SoapPrices(ServerGroup):
    """SOAP sources: one area each on the spyne price service, prices published at the source's rate."""

    def __init__(self, count: int, *, rate_per_source: float, speed: float) -> None:
        self.areas = [f"Z{index:02d}" for index in range(count)]
        self.rate = rate_per_source
        self.speed = speed
        self.service = SoapPriceService(areas=self.areas)
        self.published = dict.fromkeys(self.areas, 0)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self.service.start()

    def sources(self) -> list[BenchSource]:
        made = []
        for index, area in enumerate(self.areas):
            name = f"soap_prices_{index}"
            source = bench_source(
                name,
                "soap",
                {
                    "wsdl": self.service.wsdl,
                    "operation": "GetPrices",
                    "cursor_argument": "since",
                    "cursor_column": "published",
                    "time_column": "period_start",
                    "version_column": "published",
                    "key": ["area", "period_start", "published"],
                    "series": ["area"],
                    "page_size": 2000,
                    "timeout_s": 10,
                    "arguments": {"area": area, "limit": 2000},
                    "columns": {
                        "area": "string",
                        "period_start": "time",
                        "price": "float64",
                        "published": "time",
                    },
                },
                lambda a=area: self.published[a],
            )
            made.append(source)
        return made

    def produce(self) -> None:
        self._thread = threading.Thread(target=self._publish, name="bench-soap", daemon=True)
        self._thread.start()

    def _publish(self) -> None:
        started = time.monotonic()
        first = dt.datetime.combine(_FIRST_DAY, dt.time(), tzinfo=dt.UTC)
        sent = 0
        while not self._stop.is_set():
            due = int((time.monotonic() - started) * self.rate)
            if due - sent < 10:
                self._stop.wait(0.01)
                continue
            # Ten quarter-hour prices per publication; each publication at its own replayed instant.
            published = first + dt.timedelta(seconds=(time.monotonic() - started) * self.speed)
            for area in self.areas:
                batch = [
                    Price(
                        area, first + dt.timedelta(minutes=15 * (sent + n)), 40.0 + (sent + n) % 50, published
                    )
                    for n in range(10)
                ]
                self.service.publish(batch)
                self.published[area] += len(batch)
            sent += 10

    def stop_producing(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def stop_servers(self) -> None:
        self.service.stop()
