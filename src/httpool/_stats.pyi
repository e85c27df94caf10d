import dataclasses

# The fields derive from httpool._reasons' rows at run time; tests/test_reasons.py
# checks that these lists match them.

@dataclasses.dataclass(frozen=True)
class ClosedStats:
    """Connections closed, by reason."""

    idle_timeout: int = 0
    keep_alive_timeout: int = 0
    max_lifetime: int = 0
    stale: int = 0
    server_close: int = 0
    client_close: int = 0
    drain_limit: int = 0
    timeout: int = 0
    error: int = 0
    pool_full: int = 0
    pool_close: int = 0
    abandoned: int = 0
    early_response: int = 0
    drain_time: int = 0
    unsafe_framing: int = 0
    closed_on_reuse: int = 0
    @property
    def total(self) -> int: ...
    def __add__(self, other: ClosedStats) -> ClosedStats: ...

@dataclasses.dataclass(frozen=True)
class OriginStats:
    """Counters of one origin, or of the whole pool."""

    opened: int = 0
    requests: int = 0
    reused: int = 0
    retried: int = 0
    drained: int = 0
    drained_bytes: int = 0
    timeouts: int = 0
    stale_eof: int = 0
    stale_bytes: int = 0
    stale_reset: int = 0
    tls_handshakes: int = 0
    tls_resumed: int = 0
    retries_status: int = 0
    retries_connect: int = 0
    retries_read: int = 0
    idle: int = 0
    in_use: int = 0
    closed: ClosedStats = ...
    @classmethod
    def from_counters(cls, counts: tuple[int, ...], closed: tuple[int, ...], idle: int,
                      open_: int) -> OriginStats: ...
    def __add__(self, other: OriginStats) -> OriginStats: ...

@dataclasses.dataclass(frozen=True)
class PoolStats(OriginStats):
    """The pool's counters: totals, waiting callers, and per-origin figures."""

    waiting: int = 0
    origins: dict[str, OriginStats] = ...
