# cython: language_level=3
"""Close reasons and counters, named once.

The C values are the enums of _reasons.pxd, which the compiled modules cimport.
Here each value has its one row, (C value, name, description), and everything
Python says about reasons and counters derives from the rows: CloseReason, the
fields of ClosedStats and OriginStats and their str() (httpool._stats), the
debug log's close events. tests/test_reasons.py checks what cannot derive
from them: the names and comments of the .pxd, the .pyi stubs and the README's
list. At import the rows are checked to hold every C value once, in order, so
a value added to the .pxd without its row fails here, not in a stats field
that silently counts under the wrong name.
"""

import enum

CLOSE_ROWS = (
    (CLOSE_IDLE_TIMEOUT, "idle_timeout", "idle longer than the pool's idle_timeout"),
    (CLOSE_KEEP_ALIVE_TIMEOUT, "keep_alive_timeout", "idle close to the server's Keep-Alive: timeout=N"),
    (CLOSE_MAX_LIFETIME, "max_lifetime", "older than the pool's max_lifetime"),
    (CLOSE_STALE, "stale", "found closed, reset or with stray bytes before reuse"),
    (CLOSE_SERVER_CLOSE, "server_close",
     "the server ended keep-alive (Connection: close, HTTP/1.0, EOF body, max=0)"),
    (CLOSE_CLIENT_CLOSE, "client_close", "the request said Connection: close"),
    (CLOSE_DRAIN_LIMIT, "drain_limit", "an unread body was larger than max_drain"),
    (CLOSE_TIMEOUT, "timeout", "a deadline passed during a request or a drain"),
    (CLOSE_ERROR, "error", "network or protocol error"),
    (CLOSE_POOL_FULL, "pool_full", "no room in the idle stack, or evicted for another origin"),
    (CLOSE_POOL_CLOSE, "pool_close", "pool.close(), or a fork left it to the parent"),
    (CLOSE_ABANDONED, "abandoned",
     "given up by the caller: a response garbage-collected with its body unread, "
     "a request in flight when its batch was closed, or an asyncio task cancelled mid-request"),
    (CLOSE_EARLY_RESPONSE, "early_response",
     "the server answered before the request body was sent whole; the rest was not sent"),
    (CLOSE_DRAIN_TIME, "drain_time", "an unread body took longer than max_drain_time to drain"),
    (CLOSE_UNSAFE_FRAMING, "unsafe_framing",
     "the response's framing could not be trusted for reuse: "
     "Transfer-Encoding on HTTP/1.0, chunked listed twice"),
    (CLOSE_CLOSED_ON_REUSE, "closed_on_reuse",
     "the server had closed a reused connection: "
     "the request failed before any response byte, after the idle check passed"),
)

COUNTER_ROWS = (
    (COUNT_OPENED, "opened", "connections opened"),
    (COUNT_REQUESTS, "requests", "requests that got a response"),
    (COUNT_REUSED, "reused", "requests served on a connection used before"),
    (COUNT_RETRIED, "retried",
     "requests sent again on a new connection after a reused one closed before any response byte"),
    (COUNT_DRAINED, "drained", "connections saved by draining an unread body"),
    (COUNT_DRAINED_BYTES, "drained_bytes", "bytes read and dropped by those drains"),
    (COUNT_TIMEOUTS, "timeouts", "requests that ended in a timeout of any kind"),
    (COUNT_STALE_EOF, "stale_eof", "idle connections found closed by the server"),
    (COUNT_STALE_BYTES, "stale_bytes", "idle connections found with stray bytes waiting"),
    (COUNT_STALE_RESET, "stale_reset", "idle connections found reset"),
    (COUNT_TLS_HANDSHAKES, "tls_handshakes", "TLS handshakes that set up a new session"),
    (COUNT_TLS_RESUMED, "tls_resumed", "TLS handshakes that resumed an earlier session"),
    (COUNT_RETRIES_STATUS, "retries_status", "requests sent again for a status in a Retry's status_forcelist"),
    (COUNT_RETRIES_CONNECT, "retries_connect", "requests sent again by a Retry after a connect error"),
    (COUNT_RETRIES_READ, "retries_read",
     "requests sent again by a Retry after a read error (replayable requests only)"),
)


def _check_rows(rows: tuple, int first, int end, str what) -> None:
    values = [row[0] for row in rows]
    if values != list(range(first, end)):
        raise ImportError(f"httpool._reasons: the {what} rows hold the values {values}, "
                          f"but _reasons.pxd defines {first} to {end - 1}, in order")


_check_rows(CLOSE_ROWS, CLOSE_NONE + 1, CLOSE_REASON_COUNT, "close reason")
_check_rows(COUNTER_ROWS, COUNT_OPENED, COUNTER_COUNT, "counter")

# The names alone, in the order of their values: CLOSE_REASONS[reason - 1], COUNTERS[counter].
CLOSE_REASONS = tuple(row[1] for row in CLOSE_ROWS)
COUNTERS = tuple(row[1] for row in COUNTER_ROWS)

CloseReason = enum.IntEnum("CloseReason", [(row[1].upper(), row[0]) for row in CLOSE_ROWS],
                           module=__name__)
CloseReason.__doc__ = "Why a connection was closed: one member per row of CLOSE_ROWS."
