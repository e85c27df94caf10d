# Close reasons and counters: their C values. httpool._reasons names and describes
# each in one row per value (CLOSE_ROWS, COUNTER_ROWS), and every Python spelling
# (CloseReason, the stats fields, the README's list) derives from those rows. The
# rows are checked against these values at import; tests/test_reasons.py checks
# that the names and comments here match them. Values are implicit: a new member
# goes before the *_COUNT line, and its row at the same place in the table.

# Why a connection was closed; each close is counted under one reason.
cdef enum:
    CLOSE_NONE = 0            # not closed yet; never counted
    CLOSE_IDLE_TIMEOUT        # idle longer than the pool's idle_timeout
    CLOSE_KEEP_ALIVE_TIMEOUT  # idle close to the server's Keep-Alive: timeout=N
    CLOSE_MAX_LIFETIME        # older than the pool's max_lifetime
    CLOSE_STALE               # found closed, reset or with stray bytes before reuse
    CLOSE_SERVER_CLOSE        # the server ended keep-alive (Connection: close, HTTP/1.0,
                              # EOF body, max=0)
    CLOSE_CLIENT_CLOSE        # the request said Connection: close
    CLOSE_DRAIN_LIMIT         # an unread body was larger than max_drain
    CLOSE_TIMEOUT             # a deadline passed during a request or a drain
    CLOSE_ERROR               # network or protocol error
    CLOSE_POOL_FULL           # no room in the idle stack, or evicted for another origin
    CLOSE_POOL_CLOSE          # pool.close(), or a fork left it to the parent
    CLOSE_ABANDONED           # given up by the caller: a response garbage-collected with its body
                              # unread, a request in flight when its batch was closed, or an
                              # asyncio task cancelled mid-request
    CLOSE_EARLY_RESPONSE      # the server answered before the request body was sent whole;
                              # the rest was not sent
    CLOSE_DRAIN_TIME          # an unread body took longer than max_drain_time to drain
    CLOSE_UNSAFE_FRAMING      # the response's framing could not be trusted for reuse:
                              # Transfer-Encoding on HTTP/1.0, chunked listed twice
    CLOSE_CLOSED_ON_REUSE     # the server had closed a reused connection: the request failed
                              # before any response byte, after the idle check passed
    CLOSE_REASON_COUNT        # not a reason: how many values there are, CLOSE_NONE included


# Counters kept per origin (indices into OriginSlots.counts); the pool's totals
# are their sums. The three COUNT_STALE_* follow check_alive()'s results 1, 2, 3.
cdef enum:
    COUNT_OPENED = 0          # connections opened
    COUNT_REQUESTS            # requests that got a response
    COUNT_REUSED              # requests served on a connection used before
    COUNT_RETRIED             # requests sent again on a new connection after a reused one
                              # closed before any response byte
    COUNT_DRAINED             # connections saved by draining an unread body
    COUNT_DRAINED_BYTES       # bytes read and dropped by those drains
    COUNT_TIMEOUTS            # requests that ended in a timeout of any kind
    COUNT_STALE_EOF           # idle connections found closed by the server
    COUNT_STALE_BYTES         # idle connections found with stray bytes waiting
    COUNT_STALE_RESET         # idle connections found reset
    COUNT_TLS_HANDSHAKES      # TLS handshakes that set up a new session
    COUNT_TLS_RESUMED         # TLS handshakes that resumed an earlier session
    COUNT_RETRIES_STATUS      # requests sent again for a status in a Retry's status_forcelist
    COUNT_RETRIES_CONNECT     # requests sent again by a Retry after a connect error
    COUNT_RETRIES_READ        # requests sent again by a Retry after a read error (replayable
                              # requests only)
    COUNTER_COUNT             # not a counter: how many there are
