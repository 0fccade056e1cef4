"""The venues' REST history as the seal sees it: a venue whose history cannot be read is asked once.

Sealing a day asks each (venue, symbol) for trades around the day's edges and inside its gaps; the REST
client already retries what is retryable. Without this guard an unreachable server was retried again for
every symbol and edge (5 symbols x 5 attempts) and the seal still reported success. With it, the venue is
given up after its first failure and the asset fails with the error.
"""

from __future__ import annotations

from collections.abc import Callable

from resources.exchange_feed.rest import RestError


class GuardedHistory:
    """A ``venue -> history client`` callable for the seal that remembers which venue could not be read.

    After a venue's history fails once (the client already retried what is retryable), the seal stops
    asking that venue for the rest of the day instead of retrying again for every symbol; the asset then
    fails with what went wrong, rather than reporting a seal it could not verify.
    """

    def __init__(self, client_for: Callable[[str], object | None]) -> None:
        self._client_for = client_for
        self.failures: dict[str, str] = {}
        """Venue -> the first error reading its history."""

    def __call__(self, venue: str) -> object | None:
        """The history client of ``venue``, or None when it has none or already failed in this seal."""
        if venue in self.failures:
            return None
        client = self._client_for(venue)
        return None if client is None else _RecordingClient(client, venue, self.failures)


class _RecordingClient:
    """Passes calls to a history client and records the first error of its venue."""

    def __init__(self, client: object, venue: str, failures: dict[str, str]) -> None:
        self._client, self._venue, self._failures = client, venue, failures

    def __getattr__(self, name: str) -> object:
        attribute = getattr(self._client, name)
        if not callable(attribute):
            return attribute

        def call(*args: object, **kwargs: object) -> object:
            try:
                return attribute(*args, **kwargs)
            except RestError as exc:
                self._failures.setdefault(self._venue, str(exc))
                raise

        return call
