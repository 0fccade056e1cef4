"""clickhouse-driver errors as the stores' own: "not now" (retry later) or "will not work", with context."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from clickhouse_driver import errors as ch_errors

TRANSIENT_CODES: frozenset[int] = frozenset(
    {
        ch_errors.ErrorCodes.TIMEOUT_EXCEEDED,
        ch_errors.ErrorCodes.TOO_MANY_SIMULTANEOUS_QUERIES,
        ch_errors.ErrorCodes.SOCKET_TIMEOUT,
        ch_errors.ErrorCodes.NETWORK_ERROR,
        ch_errors.ErrorCodes.ABORTED,
        ch_errors.ErrorCodes.MEMORY_LIMIT_EXCEEDED,
        ch_errors.ErrorCodes.TABLE_IS_READ_ONLY,
        ch_errors.ErrorCodes.TOO_MANY_PARTS,
    }
)
"""Server errors that say "not now" rather than "never": the same call may succeed after a pause."""

ErrorFactory = Callable[[str], Exception]
"""Builds a store's own error from its message (an error class, or a function that adds fields)."""


def server_reason(exc: ch_errors.ServerException) -> str:
    """What the server said went wrong (18.16 appends a server stack trace to the message; cut off)."""
    return (exc.message or str(exc)).split("Stack trace:")[0].strip()


@contextmanager
def wrapped_errors(
    where: str,
    operation: str,
    *,
    error: ErrorFactory,
    unavailable: ErrorFactory,
    transient_codes: frozenset[int] = TRANSIENT_CODES,
) -> Iterator[None]:
    """Raise clickhouse-driver and connection errors of the block as ``unavailable`` (retry later) or
    ``error`` (will not work), chained, with a message naming ``where`` (the server and the store),
    ``operation`` and the cause.

    Unavailable: a lost or refused connection, a timeout, and server errors whose code is in
    ``transient_codes``; other server errors and driver errors are ``error``.
    """
    try:
        yield
    except ch_errors.ServerException as exc:
        kind = unavailable if exc.code in transient_codes else error
        raise kind(f"{where}: {operation} failed (code {exc.code}): {server_reason(exc)}") from exc
    except (ch_errors.SocketTimeoutError, TimeoutError) as exc:
        raise unavailable(
            f"{where}: {operation} failed, timed out waiting for the server (hung or overloaded): {exc}"
        ) from exc
    except (ch_errors.NetworkError, OSError, EOFError) as exc:
        raise unavailable(f"{where}: {operation} failed, server unreachable: {exc}") from exc
    except ch_errors.Error as exc:
        raise error(f"{where}: {operation} failed: {exc}") from exc
