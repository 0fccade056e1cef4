"""What the source benchmark's server groups share (``bench/source_servers.py``, ``bench/ftp_soap_servers.py``).

A group runs the servers of one source kind and the sources on them: :class:`ServerGroup` is its life
(start, hand out the sources, produce, stop producing, stop), :class:`BenchSource` what it hands out,
and :func:`bench_source` makes one from the kind's options as a sources file would give them.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from resources.sources.base import SourceSpec
from resources.sources.config import parse_sources

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


def source_toml(name: str, kind: str, options: dict[str, object]) -> str:
    """The ``[[source]]`` table of source ``name`` of ``kind``; a dict option becomes a sub-table."""
    lines = ["[[source]]", f'name = "{name}"', f'kind = "{kind}"']
    lines += [f"{key} = {json.dumps(value)}" for key, value in options.items() if not isinstance(value, dict)]
    for key, value in options.items():
        if isinstance(value, dict):
            lines.append(f"[source.{key}]")
            lines += [f"{k} = {json.dumps(v)}" for k, v in value.items()]
    return "\n".join(lines) + "\n"


def spec_of(toml: str) -> SourceSpec:
    """What the source of a ``[[source]]`` table delivers (the source is built and closed again)."""
    (entry,) = parse_sources(toml)
    source = entry.build()
    try:
        return source.spec
    finally:
        source.close()


def bench_source(
    name: str, kind: str, options: dict[str, object], produced: Callable[[], int], *, resumable: bool = True
) -> BenchSource:
    """Source ``name`` of ``kind`` with ``options``; ``produced`` counts what its server produced."""
    toml = source_toml(name, kind, options)
    return BenchSource(name=name, toml=toml, spec=spec_of(toml), produced=produced, resumable=resumable)


class Producer(Protocol):
    """Something that feeds a group's servers until stopped."""

    def start(self) -> object: ...
    def stop(self) -> None: ...


class ServerGroup(ABC):
    """The servers of one kind, the sources on them, and the :attr:`producers` that feed them."""

    producers: Sequence[Producer] = ()
    """Started by :meth:`produce`, stopped by :meth:`stop_producing` (none: the servers produce alone)."""

    @abstractmethod
    def start(self) -> None:
        """Start the servers."""

    @abstractmethod
    def sources(self) -> list[BenchSource]:
        """The sources on the servers."""

    @abstractmethod
    def stop_servers(self) -> None:
        """Stop the servers."""

    def produce(self) -> None:
        """Start producing."""
        for producer in self.producers:
            producer.start()

    def stop_producing(self) -> None:
        """Stop producing; what was produced stays readable."""
        for producer in self.producers:
            producer.stop()

    def stop(self) -> None:
        """Stop producing, then the servers."""
        self.stop_producing()
        self.stop_servers()
