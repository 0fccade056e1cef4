"""Exponential backoff with full jitter, as pure functions (reconnects and REST retries share it).

Full jitter (a uniform delay between zero and the ceiling) spreads the reconnects of many streamers
after a venue outage instead of having them all return at the same instant.

Bounded retries of one call (a seal's merge, an autogroup write) use tenacity. The two loops that use
these functions are not one call retried: the websocket's reconnect loop runs for the life of the
streamer, waits on its stop event and starts the backoff afresh after a connection that worked; the REST
client waits what a venue's ``Retry-After`` asks, and fails at once when that is past its ceiling. They
keep their own loops and share only the delay, here.
"""

from __future__ import annotations

import random
from collections.abc import Callable

_MAX_EXPONENT = 62  # 2**62 already dwarfs any sane cap; avoids building huge ints on long outages


def backoff_ceiling(attempt: int, *, initial_s: float, max_s: float) -> float:
    """Largest delay before retry number ``attempt`` (0-based): ``min(max_s, initial_s * 2**attempt)``."""
    if attempt < 0:
        raise ValueError(f"attempt={attempt} must not be negative")
    return min(max_s, initial_s * 2 ** min(attempt, _MAX_EXPONENT))


def backoff_delay(
    attempt: int,
    *,
    initial_s: float,
    max_s: float,
    rand: Callable[[], float] = random.random,
) -> float:
    """A delay drawn uniformly from ``[0, backoff_ceiling(attempt))`` (``rand`` returns ``[0, 1)``)."""
    return rand() * backoff_ceiling(attempt, initial_s=initial_s, max_s=max_s)
