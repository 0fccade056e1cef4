"""The venues' REST history as the seal sees it: a venue whose history cannot be read is asked once.

Sealing a day asks each (venue, symbol) for trades around the day's edges and inside its gaps; the REST
client already retries what is retryable. Without this guard an unreachable server was retried again for
every symbol and edge (5 symbols x 5 attempts) and the seal still reported success. With it, the venue is
given up after its first failure and the asset fails with the error.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pyarrow as pa

from resources.exchange_feed.history import HistoryError, TradeHistory, TradePage


class GuardedHistory:
    """A ``venue -> trade history`` callable for the seal that remembers which venue could not be read.

    After a venue's history fails once (the client already retried what is retryable), the seal stops
    asking that venue for the rest of the day instead of retrying again for every symbol; the asset then
    fails with what went wrong, rather than reporting a seal it could not verify.
    """

    def __init__(self, history_for: Callable[[str], TradeHistory | None]) -> None:
        self._history_for = history_for
        self.failures: dict[str, str] = {}
        """Venue -> the first error reading its history."""

    def __call__(self, venue: str) -> TradeHistory | None:
        """The history of ``venue``, or None when it has none or already failed in this seal."""
        if venue in self.failures:
            return None
        history = self._history_for(venue)
        return None if history is None else _RecordingHistory(history, self.failures)


class _RecordingHistory:
    """A trade history that records the first error of its venue and passes it on."""

    def __init__(self, history: TradeHistory, failures: dict[str, str]) -> None:
        self._history, self._failures = history, failures
        self.venue = history.venue

    def _record(self, exc: HistoryError) -> None:
        self._failures.setdefault(self.venue, str(exc))

    def _given_up(self) -> None:
        # The seal holds one history per venue for the whole day: after the first failure every later
        # request fails at once instead of retrying an unreachable server again.
        if self.venue in self._failures:
            raise HistoryError(f"{self.venue}: history given up for this seal: {self._failures[self.venue]}")

    def trades_by_id(
        self, symbol: str, first_id: int, last_id: int, *, page_limit: int = 1000
    ) -> Iterator[TradePage]:
        """The wrapped history's pages; an error while paging is recorded, then raised."""
        self._given_up()
        try:
            yield from self._history.trades_by_id(symbol, first_id, last_id, page_limit=page_limit)
        except HistoryError as exc:
            self._record(exc)
            raise

    def recent_trades(self, symbol: str, *, limit: int = 1) -> pa.Table:
        """The wrapped history's newest trades; an error is recorded, then raised."""
        self._given_up()
        try:
            return self._history.recent_trades(symbol, limit=limit)
        except HistoryError as exc:
            self._record(exc)
            raise

    def close(self) -> None:
        """Close the wrapped history."""
        self._history.close()
