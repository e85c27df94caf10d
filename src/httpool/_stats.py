"""What the pool says about itself: counters of connections and requests.

Every connection closed is counted under one reason; for any pool,
``opened - closed.total == idle + in_use`` holds whenever no request is
between checkout and connect.
"""

from __future__ import annotations

import dataclasses
import enum

# In the order of httpool._conn's CloseReason values 1..12.
CLOSE_REASONS = (
    "idle_timeout",
    "keep_alive_timeout",
    "max_lifetime",
    "stale",
    "server_close",
    "client_close",
    "drain_limit",
    "timeout",
    "error",
    "pool_full",
    "pool_close",
    "abandoned",
    "early_response",
    "drain_time",
    "unsafe_framing",
    "closed_on_reuse",
)

# In the order of httpool._idle's Counter values.
COUNTERS = (
    "opened",
    "requests",
    "reused",
    "retried",
    "drained",
    "drained_bytes",
    "timeouts",
    "stale_eof",
    "stale_bytes",
    "stale_reset",
)


class CloseReason(enum.IntEnum):
    """Why a connection was closed (mirrors httpool._conn.CloseReason)."""

    IDLE_TIMEOUT = 1
    KEEP_ALIVE_TIMEOUT = 2
    MAX_LIFETIME = 3
    STALE = 4
    SERVER_CLOSE = 5
    CLIENT_CLOSE = 6
    DRAIN_LIMIT = 7
    TIMEOUT = 8
    ERROR = 9
    POOL_FULL = 10
    POOL_CLOSE = 11
    ABANDONED = 12
    EARLY_RESPONSE = 13
    DRAIN_TIME = 14
    UNSAFE_FRAMING = 15
    CLOSED_ON_REUSE = 16


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
    def total(self) -> int:
        return sum(dataclasses.astuple(self))

    def __add__(self, other: ClosedStats) -> ClosedStats:
        return ClosedStats(*(a + b for a, b in zip(dataclasses.astuple(self), dataclasses.astuple(other))))


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
    idle: int = 0
    in_use: int = 0
    closed: ClosedStats = dataclasses.field(default_factory=ClosedStats)

    @classmethod
    def from_counters(cls, counts: tuple, closed: tuple, idle: int, open_: int) -> OriginStats:
        # closed[0] is CLOSE_NONE, never counted.
        return cls(*counts, idle=idle, in_use=open_ - idle, closed=ClosedStats(*closed[1:]))

    def __add__(self, other: OriginStats) -> OriginStats:
        fields = {f.name: getattr(self, f.name) + getattr(other, f.name)
                  for f in dataclasses.fields(self)}
        return OriginStats(**fields)


@dataclasses.dataclass(frozen=True)
class PoolStats(OriginStats):
    """The pool's counters: totals, waiting callers, and per-origin figures."""

    waiting: int = 0
    origins: dict = dataclasses.field(default_factory=dict)

    def __str__(self) -> str:
        closed = ", ".join(f"{name}={getattr(self.closed, name)}" for name in CLOSE_REASONS
                           if getattr(self.closed, name))
        return (f"opened={self.opened} requests={self.requests} reused={self.reused} "
                f"idle={self.idle} in_use={self.in_use} waiting={self.waiting} "
                f"retried={self.retried} drained={self.drained} ({self.drained_bytes} bytes) "
                f"timeouts={self.timeouts} closed={self.closed.total} ({closed or 'none'})")
