"""The local servers ``bench/sources.py`` reads, one group per source kind, and the sources on them.

Each kind contributes sources that produce ``per_day`` datapoints per simulated day, replayed ``speed``
times faster than real time, and can say afterwards how many datapoints they produced (the ground truth
the benchmark compares the store with).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from resources.sources.base import SourceSpec
from resources.sources.config import parse_sources
from trading_assets.services.exchange_sim import ExchangeSim, ExchangeSimConfig

SECONDS_PER_DAY = 86_400


@dataclass(frozen=True, slots=True, kw_only=True)
class BenchSource:
    """One source of the benchmark."""

    name: str
    """Source name."""
    toml: str
    """Its ``[[source]]`` table."""
    spec: SourceSpec
    """What it delivers."""
    produced: Callable[[], int]
    """Datapoints its server produced so far (valid records only)."""
    resumable: bool
    """Whether a restarted poller resumes from a cursor without loss (a live websocket cannot)."""


def _toml(name: str, kind: str, options: dict[str, object]) -> str:
    lines = ["[[source]]", f'name = "{name}"', f'kind = "{kind}"']
    lines += [f"{key} = {json.dumps(value)}" for key, value in options.items() if not isinstance(value, dict)]
    for key, value in options.items():
        if isinstance(value, dict):
            lines.append(f"[source.{key}]")
            lines += [f"{k} = {json.dumps(v)}" for k, v in value.items()]
    return "\n".join(lines) + "\n"


def _spec_of(toml: str) -> SourceSpec:
    (entry,) = parse_sources(toml)
    source = entry.build()
    try:
        return source.spec
    finally:
        source.close()


class _Websockets:
    """Websocket sources: the simulated exchange, one symbol per source, trades as datapoints."""

    kind = "websocket"

    def __init__(self, count: int, *, rate_per_source: float, seconds_hint: float) -> None:
        self.symbols = [f"S{i:02d}USDT" for i in range(count)]
        total = max(int(rate_per_source * count * seconds_hint), 1)
        self.sim = ExchangeSim(
            ExchangeSimConfig(
                symbols=tuple(self.symbols),
                rate=rate_per_source * count,
                max_trades=total,
                wait_for_subscribers=count,
            )
        )

    def start(self) -> None:
        self.sim.start()

    def stop(self) -> None:
        self.sim.stop()

    def produced(self, symbol: str) -> int:
        return int(self.sim.stats()["symbols"][symbol]["generated"])

    def sources(self) -> list[BenchSource]:
        made = []
        for symbol in self.symbols:
            name = f"ws_{symbol.lower()}"
            toml = _toml(
                name,
                "websocket",
                {
                    "url": f"{self.sim.ws_url}/stream?streams={symbol.lower()}@trade",
                    "time_column": "trade_time_us",
                    "key": ["symbol", "trade_id"],
                    "series": ["symbol"],
                    "unwrap": "data",
                    "columns": {
                        "symbol": "string",
                        "trade_id": "int64",
                        "price": "float64",
                        "quantity": "float64",
                        "trade_time_us": "time",
                    },
                    "fields": {
                        "symbol": "s",
                        "trade_id": "t",
                        "price": "p",
                        "quantity": "q",
                        "trade_time_us": "T",
                    },
                    "match": {"e": "trade"},
                },
            )
            made.append(
                BenchSource(
                    name=name,
                    toml=toml,
                    spec=_spec_of(toml),
                    produced=lambda s=symbol: self.produced(s),
                    resumable=False,
                )
            )
        return made


class BenchServers:
    """Every kind's servers for one benchmark run."""

    KINDS = ("websocket",)
    """Kinds the benchmark spreads its sources over, in order."""

    def __init__(self, workdir: Path, *, speed: float, per_day: int, seconds_hint: float = 120.0) -> None:
        self.workdir = workdir
        self.speed = speed
        self.per_day = per_day
        self.seconds_hint = seconds_hint
        self.rate_per_source = per_day * speed / SECONDS_PER_DAY
        self._groups: list[_Websockets] = []

    def start(self) -> BenchServers:
        """Nothing is started until :meth:`sources` knows how many sources of each kind there are."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        return self

    def sources(self, count: int) -> list[BenchSource]:
        """``count`` sources spread round-robin over :attr:`KINDS`, their servers started."""
        per_kind = {kind: 0 for kind in self.KINDS}
        for kind in itertools.islice(itertools.cycle(self.KINDS), count):
            per_kind[kind] += 1
        made: list[BenchSource] = []
        if per_kind["websocket"]:
            group = _Websockets(
                per_kind["websocket"], rate_per_source=self.rate_per_source, seconds_hint=self.seconds_hint
            )
            group.start()
            self._groups.append(group)
            made += group.sources()
        return made

    def environment(self) -> dict[str, str]:
        """Environment a separate poller process needs (credentials of the local servers)."""
        return {}

    def produce(self) -> None:
        """Start producing (the exchange starts once every websocket source subscribed)."""

    def stop_producing(self) -> None:
        """Stop producing; what was produced stays readable (the exchange stops at its trade budget)."""

    def stop(self) -> None:
        """Stop every server."""
        for group in self._groups:
            group.stop()
