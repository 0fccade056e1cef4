"""The local servers ``bench/sources.py`` reads, one group per source kind, and the sources on them.

Each kind contributes sources that produce ``per_day`` datapoints per simulated day, replayed ``speed``
times faster than real time, and can say afterwards how many datapoints they produced (the ground truth
the benchmark compares the store with).
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3

from bench.ftp_soap_servers import FtpDrops, SoapPrices
from bench.source_groups import SECONDS_PER_DAY, BenchSource, ServerGroup, bench_source
from resources.sources.config import parse_sources
from testkit.listing_server import ListingServer
from testkit.servers.s3 import ACCESS_KEY, REGION, SECRET_KEY, S3Server
from trading_assets.services.exchange_sim import ExchangeSim, ExchangeSimConfig


class _Websockets(ServerGroup):
    """Websocket sources: the simulated exchange, one symbol per source, trades as datapoints."""

    # The exchange deals each trade to a symbol at random, so one source's share of a minute's run varies
    # by about 1 % (one websocket source measured 114.2/s of 115.7): 3 % more keeps each at its rate.
    MARGIN = 1.03

    def __init__(self, count: int, *, rate_per_source: float, seconds_hint: float) -> None:
        self.symbols = [f"S{i:02d}USDT" for i in range(count)]
        rate = rate_per_source * count * self.MARGIN
        total = max(int(rate * seconds_hint), 1)
        self.sim = ExchangeSim(
            ExchangeSimConfig(
                symbols=tuple(self.symbols),
                rate=rate,
                max_trades=total,
                wait_for_subscribers=count,
            )
        )

    def start(self) -> None:
        # No producers: the exchange starts once every source subscribed and stops at its trade budget.
        self.sim.start()

    def stop_servers(self) -> None:
        self.sim.stop()

    def produced(self, symbol: str) -> int:
        return int(self.sim.stats()["symbols"][symbol]["generated"])

    def sources(self) -> list[BenchSource]:
        made = []
        for symbol in self.symbols:
            name = f"ws_{symbol.lower()}"
            source = bench_source(
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
                lambda s=symbol: self.produced(s),
                resumable=False,
            )
            made.append(source)
        return made


class _Paced:
    """A producer thread that calls ``emit(n)`` to produce ``n`` more datapoints at ``rate`` a second."""

    def __init__(self, rate: float, emit: Callable[[int], None], *, chunk: int = 10) -> None:
        self.rate, self.emit, self.chunk = rate, emit, chunk
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-producer", daemon=True)

    def _run(self) -> None:
        started, sent = time.monotonic(), 0
        while not self._stop.is_set():
            due = int((time.monotonic() - started) * self.rate)
            if due - sent < self.chunk:
                self._stop.wait(0.01)
                continue
            # Bounded per call, so a stop is prompt; a producer that cannot keep up falls behind (and the
            # produced counts show it) instead of bursting.
            n = min(due - sent, self.chunk * 10)
            self.emit(n)
            sent += n
        # Stopped: what is due by now (less than a chunk, unless behind) is produced too.
        due = int((time.monotonic() - started) * self.rate)
        if due > sent:
            self.emit(min(due - sent, self.chunk * 10))

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)


class _Sns(ServerGroup):
    """SNS sources: a topic each on the moto server, read through an SQS queue subscribed to it; meter
    readings published at the source's rate, ``CHUNK`` or more records at a time as JSON arrays of at
    most ``PER_MESSAGE`` records a message."""

    CHUNK = 25
    """Records the publisher gathers before it publishes."""
    PER_MESSAGE = 100
    """Most records in one SNS message (far below SNS's 256 KB)."""

    def __init__(self, workdir: Path, count: int, *, rate_per_source: float, speed: float) -> None:
        self.server = S3Server(workdir / "moto")
        self.count = count
        self.rate = rate_per_source
        self.speed = speed
        self.topics: list[str] = []
        self.published = [0] * count
        self._clients: dict[int, Any] = {}
        self.started = time.monotonic()
        self.sim_start = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)

    def _client(self) -> Any:
        return boto3.client(
            "sns",
            endpoint_url=self.server.endpoint_url,
            region_name=REGION,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
        )

    def start(self) -> None:
        os.environ.setdefault("AWS_ACCESS_KEY_ID", ACCESS_KEY)
        os.environ.setdefault("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
        self.server.start()
        client = self._client()
        self.topics = [str(client.create_topic(Name=f"meters-{i}")["TopicArn"]) for i in range(self.count)]

    def sources(self) -> list[BenchSource]:
        made = []
        for i, topic in enumerate(self.topics):
            name = f"sns_meters_{i}"
            made.append(
                bench_source(
                    name,
                    "sns",
                    {
                        "topic_arn": topic,
                        "queue_name": f"bench-{i}",
                        "create_subscription": True,
                        "endpoint_url": self.server.endpoint_url,
                        "region": REGION,
                        "time_column": "reading_time",
                        "series": ["meter"],
                        "wait_time_s": 1,
                        "visibility_timeout_s": 30,
                        "columns": {"meter": "string", "kwh": "float64"},
                    },
                    lambda i=i: self.published[i],
                )
            )
            # The poller subscribes on its first fetch; subscribe now, so nothing published is missed.
            (entry,) = parse_sources(made[-1].toml)
            source = entry.build()
            source.queue_url()  # type: ignore[attr-defined]
            source.close()
        return made

    def produce(self) -> None:
        self._clients = {i: self._client() for i in range(self.count)}
        # One publisher per topic, publishing every CHUNK records (about 4.6 messages a second at 116
        # records a second): moto accepts only about 13 messages a second per topic.
        self.producers = [
            _Paced(self.rate, lambda n, i=i: self._emit(i, n), chunk=self.CHUNK) for i in range(self.count)
        ]
        super().produce()

    def _emit(self, i: int, n: int) -> None:
        client = self._clients[i]
        moment = self.sim_start + dt.timedelta(seconds=(time.monotonic() - self.started) * self.speed)
        readings = [
            {
                "meter": f"m{k % 7}",
                "kwh": round(1.0 + k % 13 * 0.25, 3),
                "reading_time": (moment + dt.timedelta(microseconds=k)).isoformat(),
            }
            for k in range(n)
        ]
        # A JSON array of records per message, as SNS publishers batch; at most 10 messages a call.
        messages = [readings[first : first + self.PER_MESSAGE] for first in range(0, n, self.PER_MESSAGE)]
        for call in range(0, len(messages), 10):
            entries = [
                {"Id": str(k), "Message": json.dumps(batch)}
                for k, batch in enumerate(messages[call : call + 10])
            ]
            answer = client.publish_batch(TopicArn=self.topics[i], PublishBatchRequestEntries=entries)
            self.published[i] += sum(
                len(messages[call + int(ok["Id"])]) for ok in answer.get("Successful", [])
            )

    def stop_servers(self) -> None:
        self.server.stop()


class _Rest(ServerGroup):
    """REST sources: a JSON listing each (testkit.listing_server), polled with a ``since`` cursor; prices
    with strictly increasing times appended at the source's rate."""

    def __init__(self, count: int, *, rate_per_source: float, speed: float) -> None:
        self.listings = [ListingServer(page_size=1_000, mode="next_url") for _ in range(count)]
        self.speed = speed
        self.next_t = [1_772_323_200_000_000] * count  # 2026-03-01 00:00 UTC
        self.producers = [_Paced(rate_per_source, lambda n, i=i: self._emit(i, n)) for i in range(count)]

    def _emit(self, i: int, n: int) -> None:
        step = max(int(1e6 / self.speed), 1)
        items: list[dict[str, object]] = []
        for _ in range(n):
            self.next_t[i] += step
            items.append(
                {"t": self.next_t[i], "area": "DE", "price": round(40 + (self.next_t[i] // step) % 50, 2)}
            )
        self.listings[i].publish(items)

    def start(self) -> None:
        for listing in self.listings:
            listing.__enter__()

    def sources(self) -> list[BenchSource]:
        made = []
        for i, listing in enumerate(self.listings):
            name = f"rest_prices_{i}"
            source = bench_source(
                name,
                "rest",
                {
                    "url": listing.url,
                    "time_column": "t",
                    "key": ["t"],
                    "series": ["area"],
                    "since_param": "since",
                    "columns": {"t": "int64", "area": "string", "price": "float64"},
                },
                lambda i=i: len(self.listings[i].items),
            )
            made.append(source)
        return made

    def stop_servers(self) -> None:
        for listing in self.listings:
            listing.__exit__()


class BenchServers:
    """Every kind's servers for one benchmark run."""

    KINDS = ("rest", "websocket", "sns", "ftp", "soap")
    """Kinds the benchmark spreads its sources over, in order."""

    def __init__(self, workdir: Path, *, speed: float, per_day: int, seconds_hint: float = 120.0) -> None:
        self.workdir = workdir
        self.speed = speed
        self.per_day = per_day
        self.seconds_hint = seconds_hint
        self.rate_per_source = per_day * speed / SECONDS_PER_DAY
        self._groups: list[ServerGroup] = []

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
            made += self._add(
                _Websockets(
                    per_kind["websocket"],
                    rate_per_source=self.rate_per_source,
                    seconds_hint=self.seconds_hint,
                )
            )
        if per_kind["rest"]:
            made += self._add(_Rest(per_kind["rest"], rate_per_source=self.rate_per_source, speed=self.speed))
        if per_kind["sns"]:
            made += self._add(
                _Sns(self.workdir, per_kind["sns"], rate_per_source=self.rate_per_source, speed=self.speed)
            )
        if per_kind["ftp"]:
            made += self._add(
                FtpDrops(
                    self.workdir,
                    per_kind["ftp"],
                    per_day=self.per_day,
                    speed=self.speed,
                    seconds_hint=self.seconds_hint,
                )
            )
        if per_kind["soap"]:
            made += self._add(
                SoapPrices(per_kind["soap"], rate_per_source=self.rate_per_source, speed=self.speed)
            )
        return made

    def _add(self, group: ServerGroup) -> list[BenchSource]:
        """Start ``group``'s servers and return its sources."""
        group.start()
        self._groups.append(group)
        return group.sources()

    def notes(self) -> list[str]:
        """What a group changed to reach the rate (printed by the benchmark)."""
        return [note for group in self._groups if (note := getattr(group, "note", ""))]

    def environment(self) -> dict[str, str]:
        """Environment a separate poller process needs (credentials of the local servers)."""
        return {"AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY}

    def produce(self) -> None:
        """Start producing."""
        for group in self._groups:
            group.produce()

    def stop_producing(self) -> None:
        """Stop producing; what was produced stays readable."""
        for group in self._groups:
            group.stop_producing()

    def stop(self) -> None:
        """Stop every server."""
        for group in self._groups:
            group.stop()
